// The engine against the practice lab's boards and a real state file on disk.
import { mkdtempSync, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCluster } from '../src/cluster/spec.ts';
import { Engine } from '../src/engine/engine.ts';
import { RunLog } from '../src/engine/runlog.ts';
import { MemorySecrets, redact } from '../src/engine/secrets.ts';
import { CorruptStateError, SCHEMA_VERSION, StateStore } from '../src/engine/state.ts';
import { InputError, type EngineEvent, type Ports, type Stage, type Step } from '../src/engine/types.ts';
import { makePorts } from '../src/app/ports.ts';
import type { Answer } from '../src/engine/options.ts';

process.env.BOARDKUBE_LAB_SPEED = '0';

function setup(stages: Stage[], opts: { parallel?: number; stateDir?: string; answers?: Answer[]; options?: Partial<Record<Stage['id'], Record<string, unknown>>> } = {}) {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'bk-engine-'));
  const cluster = defaultCluster('/nonexistent');
  const store = StateStore.open(stateDir, cluster.name, { mode: 'lab' });
  const secrets = new MemorySecrets();
  const ports: Ports = makePorts({ cluster, store, secrets, lab: true, stateDir });
  const engine = new Engine({ cluster, stages, store, ports, secrets, parallel: opts.parallel, answers: opts.answers, options: opts.options });
  const events: EngineEvent[] = [];
  engine.on((e) => events.push(e));
  return { engine, store, events, stateDir, cluster, secrets };
}

/** A step that records its calls; `state` stands in for what the step changes on a board. */
function recordingStep(id: string, calls: string[], opts: { perNode?: boolean; fail?: (node: string | null) => boolean; delayMs?: number; state?: Set<string>; onRun?: () => void } = {}): Step {
  const state = opts.state ?? new Set<string>();
  return {
    id,
    title: id,
    explain: id,
    nodes: opts.perNode ? (c) => c.nodes : undefined,
    plan: (ctx) => [{ type: 'api', description: `${id} on ${ctx.node?.name ?? 'cluster'}` }],
    async run(ctx) {
      opts.onRun?.();
      calls.push(`${id}@${ctx.node?.name ?? '-'}`);
      if (opts.delayMs) await new Promise((r, j) => { const t = setTimeout(r, opts.delayMs); ctx.signal.addEventListener('abort', () => { clearTimeout(t); j(new Error('aborted')); }); });
      if (opts.fail?.(ctx.node?.name ?? null)) throw new Error('the board said no');
      state.add(`${id}@${ctx.node?.name ?? '-'}`);
      return { ok: true };
    },
    async verify(ctx) {
      return state.has(`${id}@${ctx.node?.name ?? '-'}`);
    },
  };
}

function stage(id: Stage['id'], steps: Step[], requires: Stage['id'][] = []): Stage {
  return { id, title: id, summary: id, requires, steps };
}

describe('engine', () => {
  it('hands each answer to the selected stages that declare it, and refuses a name none takes, for every stage alike', () => {
    const seen: Record<string, unknown>[] = [];
    const withOptions = (id: Stage['id'], names: string[]): Stage => ({
      ...stage(id, []),
      options: names.map((name) => ({ name, description: name })),
      parseOptions: (raw) => (seen.push(raw), raw),
    });
    const stages = [withOptions('configure', ['first-login']), withOptions('readonly', ['scope', 'account'])];
    const ok = setup(stages, { answers: [{ name: 'scope', value: 'view', flag: '--set scope' }, { name: 'yes', value: true, flag: '--yes', quiet: true }] });
    ok.engine.prepare(['configure', 'readonly']);
    expect(seen).toEqual([{}, { scope: 'view' }]);
    const typo = setup(stages, { answers: [{ name: 'scpoe', value: 'view', flag: '--set scpoe' }] });
    expect(() => typo.engine.prepare(['readonly'])).toThrow(/--set scpoe: stage readonly has no option "scpoe" \(fix: did you mean scope\? stage readonly takes: scope, account\)/);
    expect(() => typo.engine.prepare(['configure', 'readonly'])).toThrow(/no stage of this run \(configure, readonly\) has an option "scpoe".*did you mean scope\?/);
    const elsewhere = setup(stages, { answers: [{ name: 'scope', value: 'view', flag: '--set scope' }] });
    expect(() => elsewhere.engine.prepare(['configure'])).toThrow(/is an option of stage readonly, which this run does not include/);
    // Answers handed to one stage directly (the wizard) are checked by name too.
    const direct = setup(stages, { options: { configure: { 'first-logn': 'arch-defaults' } } });
    expect(() => direct.engine.prepare(['configure'])).toThrow(/stage configure has no option "first-logn".*did you mean first-login\?/);
  });

  it('runs stages and steps in order, per-node steps on every node', async () => {
    const calls: string[] = [];
    const { engine } = setup([stage('configure', [recordingStep('a', calls), recordingStep('b', calls, { perNode: true })]), stage('readonly', [recordingStep('c', calls)], ['configure'])]);
    expect(await engine.run(engine.select({ only: ['configure', 'readonly'] }))).toBe('done');
    expect(calls[0]).toBe('a@-');
    expect(calls.slice(1, 6).sort()).toEqual(['b@n2-master', 'b@n2-worker1', 'b@n2-worker2', 'b@n2-worker3', 'b@n2-worker4']);
    expect(calls[6]).toBe('c@-');
  });

  it('refuses unknown stages and missing prerequisites before anything runs', () => {
    const calls: string[] = [];
    const { engine } = setup([stage('configure', [recordingStep('a', calls)]), stage('readonly', [recordingStep('c', calls)], ['configure']), { ...stage('ci', []), unavailable: 'not yet' }]);
    expect(() => engine.select({ only: ['nope'] })).toThrow(InputError);
    expect(() => engine.select({ only: ['nope'] })).toThrow(/unknown stage "nope"/);
    expect(() => engine.select({ only: ['readonly'] })).toThrow(/needs stage "configure" to be done first/);
    expect(() => engine.select({ only: ['ci'] })).toThrow(/not available yet/);
    expect(calls).toEqual([]);
  });

  it('without --stage selects what is not done yet, but never a stage that runs only when named', async () => {
    const calls: string[] = [];
    const flash: Stage = { ...stage('flash', [recordingStep('f', calls)]), onlyWhenNamed: 'erases disks' };
    const { engine } = setup([flash, stage('configure', [recordingStep('a', calls)]), { ...stage('ci', []), unavailable: 'not yet' }]);
    expect(engine.select()).toEqual(['configure']);
    await engine.run(engine.select());
    expect(engine.select()).toEqual([]);
    expect(engine.select({ only: ['flash'] })).toEqual(['flash']);
  });

  it('a step that refuses the user\'s input ends the run as refused (exit 2), not as a plain failure', async () => {
    const refusing: Step = { ...recordingStep('pick-device', []), run: async () => { throw new InputError('--device', '/dev/vda holds / of this computer', 'choose the card'); } };
    const { engine, store } = setup([stage('configure', [refusing])]);
    expect(await engine.run(['configure'])).toBe('refused');
    expect(store.step('configure/pick-device@-')?.error).toMatch(/--device: \/dev\/vda holds \//);
  });

  it('keeps at most `parallel` boards busy at once', async () => {
    let busy = 0;
    let most = 0;
    const step: Step = {
      ...recordingStep('x', [], { perNode: true }),
      async run() {
        busy++;
        most = Math.max(most, busy);
        await new Promise((r) => setTimeout(r, 20));
        busy--;
      },
      verify: async () => true,
    };
    const { engine } = setup([stage('configure', [step])], { parallel: 2 });
    expect(await engine.run(['configure'])).toBe('done');
    expect(most).toBe(2);
  });

  it('wraps errors as stage/step on host: cause and stops the stage', async () => {
    const calls: string[] = [];
    const { engine, events, store } = setup([stage('configure', [recordingStep('a', calls, { perNode: true, fail: (n) => n === 'n2-worker2' }), recordingStep('b', calls)])]);
    expect(await engine.run(['configure'])).toBe('failed');
    const failed = events.find((e) => e.type === 'step-end' && e.status === 'failed');
    expect(failed && 'error' in failed && failed.error).toBe('configure/a on n2-worker2: the board said no');
    expect(calls).not.toContain('b@-');
    expect(store.step('configure/a@n2-worker2')?.status).toBe('failed');
    expect(store.step('configure/a@n2-worker1')?.status).toBe('done');
  });

  it('cancels through the AbortSignal and leaves the progress consistent', async () => {
    const calls: string[] = [];
    const { engine, store } = setup([stage('configure', [recordingStep('slow', calls, { perNode: true, delayMs: 5_000 })])]);
    const ac = new AbortController();
    const running = engine.run(['configure'], ac.signal);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    expect(await running).toBe('cancelled');
    for (const n of ['n2-master', 'n2-worker1']) {
      expect(store.step(`configure/slow@${n}`)).toMatchObject({ status: 'failed', error: `configure/slow on ${n}: interrupted` });
    }
  });

  it('resumes: done steps are re-verified in parallel, not re-run; a cut-off step runs again', async () => {
    const calls: string[] = [];
    const state = new Set<string>();
    const stateDir = mkdtempSync(join(tmpdir(), 'bk-resume-'));
    const first = setup([stage('configure', [recordingStep('a', calls, { perNode: true, state }), recordingStep('b', calls, { state, fail: () => true })])], { stateDir });
    expect(await first.engine.run(['configure'])).toBe('failed');
    expect(calls.filter((c) => c.startsWith('a@'))).toHaveLength(5);
    // simulate a step cut off mid-way by a kill: its record says running
    first.store.setStep('configure/a@n2-worker3', { status: 'running', startedAt: new Date().toISOString(), runs: 2 });
    calls.length = 0;
    const second = setup([stage('configure', [recordingStep('a', calls, { perNode: true, state }), recordingStep('b', calls, { state })])], { stateDir });
    expect(await second.engine.run(['configure'])).toBe('done');
    expect(calls.sort()).toEqual(['a@n2-worker3', 'b@-']);
    const verified = second.events.filter((e) => e.type === 'step-end' && e.status === 'verified');
    expect(verified).toHaveLength(4);
    expect(second.store.step('configure/a@n2-master')?.runs).toBe(1);
  });

  it('a done step whose first check failed because another board was still down is checked again, not re-run', async () => {
    const up = new Set<string>();
    const calls: string[] = [];
    const waitStep: Step = {
      ...recordingStep('wait', calls, { perNode: true }),
      async verify(ctx) {
        // the master takes longer to come back, like a board caught mid-reboot
        await new Promise((r) => setTimeout(r, ctx.node!.role === 'control-plane' ? 150 : 0));
        up.add(ctx.node!.name);
        return true;
      },
    };
    const needsAll: Step = { ...recordingStep('needs-all', calls, { perNode: true }), verify: async (ctx) => ctx.cluster.nodes.every((n) => up.has(n.name)) };
    const stateDir = mkdtempSync(join(tmpdir(), 'bk-neighbour-'));
    const first = setup([stage('configure', [waitStep, needsAll])], { stateDir });
    for (const n of first.cluster.nodes) for (const id of ['wait', 'needs-all']) first.store.setStep(`configure/${id}@${n.name}`, { status: 'done', startedAt: '', runs: 1 });
    up.clear();
    const second = setup([stage('configure', [waitStep, needsAll])], { stateDir });
    expect(await second.engine.run(['configure'])).toBe('done');
    expect(calls).toEqual([]);
    expect(second.events.filter((e) => e.type === 'step-end' && e.status === 'verified')).toHaveLength(10);
  });

  it('runs a done step again when its check no longer passes', async () => {
    const calls: string[] = [];
    const state = new Set<string>();
    const stateDir = mkdtempSync(join(tmpdir(), 'bk-drift-'));
    const first = setup([stage('configure', [recordingStep('a', calls, { state })])], { stateDir });
    await first.engine.run(['configure']);
    state.clear(); // someone undid the work on the board
    const second = setup([stage('configure', [recordingStep('a', calls, { state })])], { stateDir });
    expect(await second.engine.run(['configure'])).toBe('done');
    expect(calls).toEqual(['a@-', 'a@-']);
    expect(second.store.step('configure/a@-')?.runs).toBe(2);
  });

  it('plans exactly the actions with stage, step and node filled in', async () => {
    const { engine } = setup([stage('configure', [recordingStep('a', [], { perNode: true })])]);
    const actions = await engine.plan(['configure']);
    expect(actions).toHaveLength(5);
    expect(actions[0]).toEqual({ stage: 'configure', step: 'a', node: 'n2-master', type: 'api', description: 'a on n2-master' });
  });
});

describe('saved progress', () => {
  it('writes mode 0600 with a schema version and no secret', async () => {
    const { engine, store, stateDir, secrets } = setup([stage('configure', [recordingStep('a', [])])]);
    const known = 'sudo-secret-Zq7-known-value';
    secrets.set('sudo-password', known);
    await engine.run(['configure']);
    expect(readFileSync(store.path, 'utf8')).not.toContain(known);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    const data = JSON.parse(readFileSync(store.path, 'utf8'));
    expect(data.schemaVersion).toBe(SCHEMA_VERSION);
    expect(readdirSync(stateDir)).toContain('homelab.json');
  });

  it('migrates a schema 1 file', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'bk-migrate-'));
    writeFileSync(join(stateDir, 'homelab.json'), JSON.stringify({ cluster: 'homelab', done: ['configure/connect@n2-master'], hostKeys: { 'n2-master': 'SHA256:abc' }, savedAt: '2026-01-01T00:00:00.000Z', lab: true }));
    const store = StateStore.open(stateDir, 'homelab', { mode: 'lab' });
    expect(store.step('configure/connect@n2-master')).toMatchObject({ status: 'done', runs: 1 });
    expect(store.hostKey('n2-master')?.fingerprint).toBe('SHA256:abc');
    expect(store.mode).toBe('lab');
    const onDisk = JSON.parse(readFileSync(join(stateDir, 'homelab.json'), 'utf8'));
    expect(onDisk.schemaVersion).toBe(2);
    expect(onDisk.done).toBeUndefined();
  });

  it('never wipes a corrupt file: it says so, and a fresh start keeps a copy', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'bk-corrupt-'));
    const path = join(stateDir, 'homelab.json');
    writeFileSync(path, '{"schemaVersion": 2, "steps": {');
    expect(() => StateStore.open(stateDir, 'homelab', { mode: 'lab' })).toThrow(CorruptStateError);
    expect(readFileSync(path, 'utf8')).toBe('{"schemaVersion": 2, "steps": {');
    const copy = StateStore.startFresh(stateDir, 'homelab');
    expect(readFileSync(copy, 'utf8')).toBe('{"schemaVersion": 2, "steps": {');
    expect(StateStore.open(stateDir, 'homelab', { mode: 'lab' }).steps()).toEqual({});
  });

  it('refuses a file from a newer boardkube', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'bk-newer-'));
    writeFileSync(join(stateDir, 'homelab.json'), JSON.stringify({ schemaVersion: 99 }));
    expect(() => StateStore.open(stateDir, 'homelab', { mode: 'lab' })).toThrow(/newer boardkube/);
  });
});

describe('redaction', () => {
  const secrets = new MemorySecrets();
  secrets.set('sudo-password', 'hunter2-Sudo!');
  const samples = {
    password: 'sudo said: hunter2-Sudo! is wrong',
    join: 'kubeadm join 192.168.1.40:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:1234',
    jwt: 'token eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJlc2lnbmF0dXJl',
    key: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----',
    yaml: 'password: s3cr3t-value',
  };

  it('removes passwords, join tokens, service-account tokens and private keys', () => {
    const out = redact(Object.values(samples).join('\n'), secrets);
    expect(out).not.toContain('hunter2-Sudo!');
    expect(out).not.toContain('0123456789abcdef');
    expect(out).not.toContain('c2lnbmF0dXJlc2lnbmF0dXJl');
    expect(out).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
    expect(out).not.toContain('s3cr3t-value');
    expect(out).toContain('sha256:1234'); // the CA hash is public
  });

  it('the run log on disk is 0600 and redacted', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'bk-log-'));
    const log = new RunLog(stateDir, 'homelab', secrets);
    for (const s of Object.values(samples)) log.write('test', s);
    log.close();
    const text = readFileSync(log.path, 'utf8');
    expect(statSync(log.path).mode & 0o777).toBe(0o600);
    for (const secret of ['hunter2-Sudo!', 'abcdef.0123456789abcdef', 'b3BlbnNzaC1rZXktdjEAAAAA', 's3cr3t-value']) expect(text).not.toContain(secret);
    expect(text.split('\n').filter(Boolean)).toHaveLength(Object.keys(samples).length); // the key block became one line
  });

  it('engine events and errors are redacted too', async () => {
    const step: Step = {
      id: 'leaky',
      title: 'leaky',
      explain: '',
      plan: () => [],
      async run(ctx) {
        ctx.secrets.set('sudo-password', 'hunter2-Sudo!');
        ctx.log('echo hunter2-Sudo! | sudo -S true');
        throw new Error('sudo: hunter2-Sudo! rejected');
      },
      verify: async () => false,
    };
    const { engine, events, store } = setup([stage('configure', [step])]);
    await engine.run(['configure']);
    const text = JSON.stringify(events) + readFileSync(store.path, 'utf8');
    expect(text).not.toContain('hunter2-Sudo!');
    expect(text).toContain('<redacted>');
  });
});
