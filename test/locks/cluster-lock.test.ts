// One run at a time per cluster on this computer, with the built bin/boardkube.js on a practice-lab cluster:
// a second apply is refused (exit 2) naming the first; a kill -9 leaves no lock behind; --wait runs after the
// first without running any step twice; status and plan answer while a run goes on, and their output parses.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshKey } from '../../src/app/wizard.ts';
import { writeClusterFile } from '../../src/cluster/file.ts';
import { defaultCluster } from '../../src/cluster/spec.ts';
import { LEASE_FILE, parseLease } from '../../src/engine/lease.ts';
import { lockCluster, lockHolder } from '../../src/engine/lock.ts';
import type { StepRecord } from '../../src/engine/types.ts';
import { boardkubeCommand, until } from '../e2e/common.ts';

// Slow enough that a run lasts a few seconds, so the second one starts while the first goes on.
const SPEED = '0.05';
const APPLY = ['apply', '--lab', '--yes', '--stage', 'configure'];

let root: string;
let file: string;
let cmd: string[];
const children: ChildProcess[] = [];

interface Run {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

function env(stateDir: string, speed = SPEED): NodeJS.ProcessEnv {
  return { ...process.env, BOARDKUBE_STATE_DIR: stateDir, BOARDKUBE_LAB_SPEED: speed, NO_COLOR: '1' };
}

function start(stateDir: string, extra: string[] = [], speed = SPEED): Run {
  const child = spawn(cmd[0]!, [...cmd.slice(1), ...APPLY, '-f', file, ...extra], { env: env(stateDir, speed), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => text, exit };
}

function boardkube(stateDir: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0]!, [...cmd.slice(1), ...args, '-f', file], { env: env(stateDir), encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function steps(stateDir: string): Record<string, StepRecord> {
  return (JSON.parse(readFileSync(join(stateDir, 'homelab.json'), 'utf8')) as { steps: Record<string, StepRecord> }).steps;
}

/** "[configure] connect n2-master: done (12 ms)" lines: what a run printed it did, per step and board. */
function printed(out: string, status: RegExp): string[] {
  return [...out.matchAll(/^\[(\S+)\] (\S+)(?: (\S+))?: (done \(verified, not run again\)|done|skipped|failed) \(/gm)].filter((m) => status.test(m[4]!)).map((m) => `${m[1]}/${m[2]}@${m[3] ?? '-'}`);
}

/** Every process whose parent is `pid` (from /proc): the lock's flock child must not outlive its run. */
function childrenOf(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

/** The lease file of each practice-lab board, as saved in the lab's own file beside the progress. */
function labLeases(stateDir: string): Record<string, ReturnType<typeof parseLease>> {
  const lab = JSON.parse(readFileSync(join(stateDir, 'homelab.lab', 'world.json'), 'utf8')) as { boards: Record<string, { files: Record<string, string> }> };
  return Object.fromEntries(Object.entries(lab.boards).map(([node, b]) => [node, b.files[LEASE_FILE] === undefined ? undefined : parseLease(b.files[LEASE_FILE])]));
}

function dir(name: string): string {
  return mkdtempSync(join(root, `${name}-`));
}

describe('one run at a time per cluster (built bin, practice lab)', () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'bk-locks-'));
    const key = join(root, 'id_ed25519');
    await createSshKey(key);
    file = join(root, 'cluster.yaml');
    writeClusterFile(file, defaultCluster(key));
    cmd = boardkubeCommand();
  }, 240_000);

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('two applies 0.3 s apart: the second is refused (exit 2) naming the first; each step ran once; status agrees', async () => {
    const state = dir('refused');
    const a = start(state);
    await new Promise((r) => setTimeout(r, 300));
    const b = start(state);
    // The one that took the lock first goes on (on a busy machine the later one may start faster); the other is refused.
    const [codeA, codeB] = await Promise.all([a.exit, b.exit]);
    expect([codeA, codeB].sort(), `${a.out()}\n---\n${b.out()}`).toEqual([0, 2]);
    const [first, second] = codeA === 0 ? [a, b] : [b, a];
    expect(second.out()).toMatch(new RegExp(`another run is working on "homelab": boardkube apply --lab --yes --stage configure -f \\S+ \\(PID ${first.child.pid} on \\S+, since \\d\\d:\\d\\d:\\d\\d UTC`));
    expect(second.out()).toMatch(/add --wait .*boardkube status -f /);
    expect(second.out()).not.toMatch(/^\[configure\]/m);
    expect(first.out()).toMatch(/^== done$/m);

    const records = steps(state);
    const ran = printed(first.out(), /^(done|skipped)$/);
    expect(ran.length).toBeGreaterThan(10);
    // Each step printed once per board, and the progress says each ran once and is done.
    expect(new Set(ran).size).toBe(ran.length);
    expect(Object.keys(records).sort()).toEqual([...ran].sort());
    for (const [key, rec] of Object.entries(records)) {
      expect(['done', 'skipped'], key).toContain(rec.status);
      if (rec.status === 'done') expect(rec.runs, key).toBe(1);
    }
    const status = boardkube(state, ['status', '--lab', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout) as { runningNow: unknown; stages: Array<{ stage: string; status: string }> };
    expect(parsed.runningNow).toBeNull();
    expect(parsed.stages.find((s) => s.stage === 'configure')?.status).toBe('done');
  }, 120_000);

  it('after a kill -9 of the run holding the lock, a new run starts at once and finishes', async () => {
    const state = dir('kill9');
    const first = start(state);
    await until(() => /^\[configure\] \S+ \S+: done \(/m.test(first.out()), 'the first run done with a step on a board', 30_000);
    const pid = first.child.pid!;
    const flock = childrenOf(pid);
    expect(flock.length, 'the lock is held by a child process').toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    await first.exit;
    // The lock's holder dies with its run: nothing of it is left to block the next one.
    await until(() => flock.every((p) => spawnSync('kill', ['-0', String(p)]).status !== 0), 'the flock child of the killed run to end', 2000, 10);
    expect(lockHolder(state, 'homelab')).toBeUndefined();
    // The lab's boards hold leases like real ones: the killed run's is still on the boards it worked on...
    const leased = Object.entries(labLeases(state)).filter(([, l]) => l);
    expect(leased.length).toBeGreaterThan(0);
    for (const [node, l] of leased) expect(l, node).toMatchObject({ node, cluster: 'homelab', pid, progress: join(state, 'homelab.json') });
    const next = start(state);
    const code = await next.exit;
    expect(code, next.out()).toBe(0);
    expect(next.out()).not.toMatch(/another run is working/);
    expect(next.out()).toMatch(/^== done$/m);
    // ...and the next run on this computer takes them over at once (that run is known dead: the lock was free),
    // then frees every board at its end.
    for (const [node] of leased) expect(next.out()).toMatch(new RegExp(`^\\[configure\\] lease ${node}\\| took over the lease left by an earlier run on this computer \\(boardkube apply .*PID ${pid},`, 'm'));
    expect(Object.values(labLeases(state)).filter(Boolean)).toEqual([]);
  }, 120_000);

  it('--wait: the second run starts when the first ends, and no step runs twice', async () => {
    const state = dir('wait');
    const first = start(state);
    await until(() => /^== configure$/m.test(first.out()), 'the first run to start', 30_000);
    const second = start(state, ['--wait']);
    await until(() => /waiting for the other run on "homelab" to end: boardkube apply/.test(second.out()), 'the second run to wait', 30_000);
    expect(second.out()).not.toMatch(/^\[configure\]/m);
    const [a, b] = await Promise.all([first.exit, second.exit]);
    expect(a, first.out()).toBe(0);
    expect(b, second.out()).toBe(0);
    // The second found every step done by the first and checked it instead of running it.
    expect(printed(second.out(), /^done$|^skipped$/)).toEqual([]);
    expect(printed(second.out(), /verified/).length).toBeGreaterThan(10);
    for (const [key, rec] of Object.entries(steps(state))) if (rec.status === 'done') expect(rec.runs, key).toBe(1);
  }, 120_000);

  it('status and plan while a run goes on: they answer, never write the progress, and their output parses', async () => {
    const state = dir('look');
    // Slower: the run must outlast the looks.
    const run = start(state, [], '0.2');
    await until(() => /\[configure\] \S+ \S+: .* \.\.\.$/m.test(run.out()), 'the run working on a board', 30_000);
    const text = boardkube(state, ['status', '--lab']);
    expect(text.stdout).toMatch(new RegExp(`running now: boardkube apply .*\\(PID ${run.child.pid} `));
    for (let i = 0; i < 3; i++) {
      const status = boardkube(state, ['status', '--lab', '--json']);
      expect(status.code, status.stderr).toBe(0);
      const s = JSON.parse(status.stdout) as { runningNow: { pid: number; command: string } | null; stages: Array<{ stage: string; status: string }> };
      if (run.child.exitCode === null) {
        expect(s.runningNow?.pid).toBe(run.child.pid);
        expect(s.runningNow?.command).toMatch(/boardkube apply/);
      }
      const plan = boardkube(state, ['plan', '--lab', '--stage', 'configure', '--json']);
      expect(plan.code, plan.stderr).toBe(0);
      expect((JSON.parse(plan.stdout) as unknown[]).length).toBeGreaterThan(10);
    }
    expect(run.child.exitCode, 'the run went on meanwhile').toBeNull();
    expect(await run.exit, run.out()).toBe(0);
    // The looks did not disturb the run's progress: it is whole and done, each step once.
    for (const [key, rec] of Object.entries(steps(state))) {
      expect(['done', 'skipped'], key).toContain(rec.status);
      if (rec.status === 'done') expect(rec.runs, key).toBe(1);
    }
  }, 120_000);

  it('lab fault leased-elsewhere: the board is refused naming the other computer; --force-unlock takes it and says whose lease it overrode', () => {
    const state = dir('elsewhere');
    const refused = boardkube(state, ['apply', '--lab', '--yes', '--stage', 'configure', '--lab-fault', 'n2-worker2:leased-elsewhere']);
    expect(refused.code, refused.stdout).toBe(2);
    expect(refused.stdout).toMatch(/another run is working on n2-worker2: cluster "homelab" from trainer-laptop \(boardkube apply -f homelab\.yaml .*PID 4242, .*its lease renewed 0 s ago; nothing was done on n2-worker2/);
    expect(refused.stdout).toMatch(/pass --force-unlock n2-worker2/);
    // The other boards were leased and then freed; the refused one still holds the other computer's lease.
    const leases = labLeases(state);
    expect(leases['n2-worker2']?.computer).toBe('trainer-laptop');
    expect(Object.entries(leases).filter(([n, l]) => n !== 'n2-worker2' && l)).toEqual([]);
    const forced = boardkube(state, ['apply', '--lab', '--yes', '--stage', 'configure', '--force-unlock', 'n2-worker2']);
    expect(forced.code, forced.stdout).toBe(0);
    expect(forced.stdout).toMatch(/^\[configure\] lease n2-worker2\| --force-unlock n2-worker2: overriding the lease of cluster "homelab" from trainer-laptop \(.*PID 4242, .*renewed \d+ s ago$/m);
    // Only the named board's lease is overridden; the stage then finishes on every board and frees them all.
    expect(forced.stdout).not.toMatch(/lease n2-(master|worker[134])\| --force-unlock/);
    expect(forced.stdout).toMatch(/^== done$/m);
    expect(Object.values(labLeases(state)).filter(Boolean)).toEqual([]);
  }, 120_000);

  it('--force-unlock takes only the cluster nodes, and only on commands that change boards', () => {
    const state = dir('force');
    const unknown = boardkube(state, ['apply', '--lab', '--yes', '--stage', 'configure', '--force-unlock', 'n2-worker9']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--force-unlock: no node "n2-worker9" in the cluster file \(fix: use one of: n2-master, /);
    const onStatus = boardkube(state, ['status', '--lab', '--force-unlock', 'n2-master']);
    expect(onStatus.code).toBe(2);
    expect(onStatus.stderr).toMatch(/--force-unlock/);
    expect(() => statSync(join(state, 'homelab.json'))).toThrow();
  });

  it('a read-only look at a cluster with no progress yet leaves nothing behind', () => {
    const state = dir('nothing');
    const status = boardkube(state, ['status', '--lab']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/no saved progress yet/);
    expect(() => statSync(join(state, 'homelab.json'))).toThrow();
  });

  it('in-process: the lock is refused while held, waits with wait, and its note names the holder', async () => {
    const state = dir('inproc');
    const a = await lockCluster(state, 'c1', { command: 'first' });
    expect(statSync(join(state, 'c1.lock.holder')).mode & 0o777).toBe(0o600);
    await expect(lockCluster(state, 'c1', { command: 'second' })).rejects.toThrow(/another run is working on "c1": first \(PID \d+/);
    // Another cluster in the same folder is not affected.
    const other = await lockCluster(state, 'c2', { command: 'other' });
    other.release();
    let waited = false;
    const b = lockCluster(state, 'c1', { command: 'third', wait: true, onWait: (h) => (waited = h?.command === 'first') });
    await until(() => waited, 'the third to wait');
    a.release();
    const third = await b;
    expect(third.holder.command).toBe('third');
    expect(lockHolder(state, 'c1')?.command).toBe('third');
    third.release();
    // A note whose lock nobody holds (a killed run's, its PID now someone else's: here this live process) is not believed.
    writeFileSync(join(state, 'c1.lock.holder'), JSON.stringify({ ...third.holder, pid: process.pid }));
    await until(() => lockHolder(state, 'c1') === undefined, 'the released lock to be free (its flock child ends)', 2000, 10);
  });
});
