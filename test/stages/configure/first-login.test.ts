// The first-login step (boards flashed by hand): password login as alarm, `su -` at a pty with root's password,
// the key appended to root's authorized_keys. Against real OpenSSH (test/harness/sshd.ts) with stand-in users
// bk-alarm and bk-root (this machine's root password is never touched), and in the practice lab with its faults.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import '../../../src/lab/index.ts';
import { SshHost } from '../../../src/adapters/ssh/host.ts';
import { openSession } from '../../../src/app/session.ts';
import { defaultCluster, type ClusterSpec } from '../../../src/cluster/spec.ts';
import { MemorySecrets } from '../../../src/engine/secrets.ts';
import type { EngineEvent } from '../../../src/engine/types.ts';
import type { LabBoardData } from '../../../src/lab/board.ts';
import { LabHost } from '../../../src/lab/host.ts';
import { authorizeKeyScript, HostError } from '../../../src/ports/host.ts';
import { startBoard, type Board } from '../../harness/sshd.ts';
import { memoryPolicy } from '../../harness/hostkeys.ts';

const T = 60_000;
const ALARM = { name: 'bk-alarm', password: 'alarm-Pw-1' };
const ROOT = { name: 'bk-root', password: "root pw with 'quotes' $x" };


async function rejection(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error('expected a rejection');
  return err;
}

const hosts: SshHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

describe('SshHost.installKeyWithPassword against real OpenSSH (bk-alarm logs in, su - bk-root)', () => {
  let board: Board;
  beforeAll(async () => {
    board = await startBoard({ passwordLogin: { users: [ALARM, ROOT], loginUser: ROOT.name } });
  }, T);
  afterAll(async () => {
    await board?.stop();
  });

  function hostFor(policy = memoryPolicy(), logs: string[] = []): SshHost {
    const h = new SshHost({ node: 'board-1', address: board.address, port: board.port, user: board.user, privateKeyPath: board.clientKeyPath, hostKeys: policy, connectTimeoutMs: 5000, log: (l) => logs.push(l) });
    hosts.push(h);
    return h;
  }

  it('key login is refused first; after the install it works, the file is 0600 in a 0700 dir, no duplicate on a second run', async () => {
    const policy = memoryPolicy();
    const logs: string[] = [];
    const h = hostFor(policy, logs);
    const before = await rejection(h.connect());
    expect((before as HostError).kind).toBe('auth');
    const publicKey = fs.readFileSync(`${board.clientKeyPath}.pub`, 'utf8');
    const started = Date.now();
    await h.installKeyWithPassword({ user: ALARM.name, password: ALARM.password, rootPassword: ROOT.password, publicKey });
    console.log(`first login (password + su + key) took ${Date.now() - started} ms`);
    expect(policy.pins).toHaveLength(1);
    expect(policy.pins[0]!.key.fingerprint).toBe(board.hostKeyFingerprint);
    await h.connect();
    const r = await h.exec('id -un; stat -c %a ~/.ssh ~/.ssh/authorized_keys; wc -l < ~/.ssh/authorized_keys');
    expect(r.stdout.split('\n').slice(0, 4)).toEqual([ROOT.name, '700', '600', '1']);
    await h.installKeyWithPassword({ user: ALARM.name, password: ALARM.password, rootPassword: ROOT.password, publicKey });
    expect((await h.exec('wc -l < ~/.ssh/authorized_keys')).stdout.trim()).toBe('1');
    const text = logs.join('\n');
    expect(text).toMatch(/su - 'bk-root' \(the password typed at its prompt\)/);
    expect(text).toMatch(/added the key to \/home\/bk-root\/\.ssh\/authorized_keys/);
    expect(text).toMatch(/the key is in \/home\/bk-root\/\.ssh\/authorized_keys already/);
    expect(text).not.toContain(ROOT.password);
    expect(text).not.toContain(ALARM.password);
  }, T);
});

describe('SshHost.installKeyWithPassword: refusals (real OpenSSH)', () => {
  let board: Board;
  beforeAll(async () => {
    board = await startBoard({ passwordLogin: { users: [ALARM, ROOT], loginUser: ROOT.name } });
  }, T);
  afterAll(async () => {
    await board?.stop();
  });

  function hostFor(logs: string[] = []): SshHost {
    const h = new SshHost({ node: 'board-2', address: board.address, port: board.port, user: board.user, privateKeyPath: board.clientKeyPath, hostKeys: memoryPolicy(), connectTimeoutMs: 5000, log: (l) => logs.push(l) });
    hosts.push(h);
    return h;
  }
  const publicKey = () => fs.readFileSync(`${board.clientKeyPath}.pub`, 'utf8');

  it('a wrong password for alarm: HostError auth naming the user, the password in no message', async () => {
    const logs: string[] = [];
    const err = (await rejection(hostFor(logs).installKeyWithPassword({ user: ALARM.name, password: 'wrong-alarm-pw', rootPassword: ROOT.password, publicKey: publicKey() }))) as HostError;
    expect(err).toBeInstanceOf(HostError);
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/board-2 \(127\.0\.\d+\.\d+\) refused the password of bk-alarm/);
    expect(err.message + logs.join('\n')).not.toContain('wrong-alarm-pw');
  }, T);

  it('a wrong root password: su refuses it, nothing is written, the password in no message or log', async () => {
    const logs: string[] = [];
    const err = (await rejection(hostFor(logs).installKeyWithPassword({ user: ALARM.name, password: ALARM.password, rootPassword: 'wrong-root-pw', publicKey: publicKey() }))) as HostError;
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/su on board-2 refused the password of bk-root/);
    expect(err.message + logs.join('\n')).not.toContain('wrong-root-pw');
    expect(fs.existsSync('/home/bk-root/.ssh/authorized_keys')).toBe(false);
    // The password never was on a command line: sshd's log shows the commands it ran only as sessions.
    expect(board.log()).not.toContain('wrong-root-pw');
  }, T);

  it('a changed host key is refused before any password is sent', async () => {
    const policy = memoryPolicy();
    policy.pin('board-3', { type: 'ssh-ed25519', fingerprint: 'SHA256:somethingelse' });
    const h = new SshHost({ node: 'board-3', address: board.address, port: board.port, user: board.user, privateKeyPath: board.clientKeyPath, hostKeys: policy, connectTimeoutMs: 5000 });
    hosts.push(h);
    const logBefore = board.log().length;
    const err = (await rejection(h.installKeyWithPassword({ user: ALARM.name, password: ALARM.password, rootPassword: ROOT.password, publicKey: publicKey() }))) as HostError;
    expect(err.kind).toBe('host-key-changed');
    expect(err.message).toMatch(/host key of board-3 .* changed/);
    expect(board.log().slice(logBefore)).not.toMatch(/password for bk-alarm/);
  }, T);
});

// ---------------------------------------------------------------------------------------------------------------

function shellcheck(script: string, shell: 'sh' | 'bash'): string {
  const r = spawnSync('shellcheck', ['-s', shell, '-'], { input: script, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}`;
}

function keyPair(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-first-login-'));
  const key = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', "you@it's-a-laptop", '-f', key]);
  return key;
}

function labCluster(): ClusterSpec {
  return defaultCluster(keyPair());
}

const OPT_IN = { configure: { 'first-login': 'arch-defaults' } };

describe('first-login: plan', () => {
  it('only with --set first-login=arch-defaults; its script passes shellcheck (sh and bash) and names alarm and su', async () => {
    const cluster = labCluster();
    const plan = async (options?: typeof OPT_IN) => {
      const s = openSession({ cluster, stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'bk-fl-plan-')), lab: true, log: false, options });
      try {
        return await s.engine.plan(['configure']);
      } finally {
        await s.close();
      }
    };
    expect((await plan()).filter((a) => a.step === 'first-login')).toEqual([]);
    const actions = (await plan(OPT_IN)).filter((a) => a.step === 'first-login');
    expect(actions.map((a) => a.node)).toEqual(cluster.nodes.map((n) => n.name));
    const a = actions[0]!;
    expect(a.type).toBe('command');
    expect(a.description).toMatch(/log in as alarm with its password, become root with `su -`/);
    expect(a.description).toMatch(/\/root\/\.ssh\/authorized_keys/);
    expect(a.content).toContain(fs.readFileSync(`${cluster.ssh.keyPath}.pub`, 'utf8').trim().split(' ')[1]);
    for (const shell of ['sh', 'bash'] as const) expect(shellcheck(a.content!, shell), shell).toBe('');
    expect(shellcheck(authorizeKeyScript("ssh-rsa AAAAB3Nza== o'brien@host with spaces"), 'sh')).toBe('');
  });

  it('the script itself: appends once, keeps a last line without newline intact, 0700/0600', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-fl-home-'));
    fs.mkdirSync(path.join(home, '.ssh'));
    fs.writeFileSync(path.join(home, '.ssh/authorized_keys'), 'ssh-ed25519 AAAAother other@host');
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0 you@laptop';
    for (let i = 0; i < 2; i++) execFileSync('sh', ['-c', authorizeKeyScript(key)], { env: { ...process.env, HOME: home } });
    expect(fs.readFileSync(path.join(home, '.ssh/authorized_keys'), 'utf8')).toBe(`ssh-ed25519 AAAAother other@host\n${key}\n`);
    expect((fs.statSync(path.join(home, '.ssh')).mode & 0o777).toString(8)).toBe('700');
    expect((fs.statSync(path.join(home, '.ssh/authorized_keys')).mode & 0o777).toString(8)).toBe('600');
    expect(() => authorizeKeyScript('not a key\nrm -rf /')).toThrow(/not an OpenSSH public key line/);
  });

  it('--set first-login=other is refused naming the option', async () => {
    const s = openSession({ cluster: labCluster(), stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'bk-fl-bad-')), lab: true, log: false, options: { configure: { 'first-login': 'yolo' } } });
    try {
      await expect(s.engine.plan(['configure'])).rejects.toThrow(/first-login: "yolo" is not a way to log in the first time/);
    } finally {
      await s.close();
    }
  });
});

describe('first-login in the practice lab (key-not-installed, wrong-password)', () => {
  process.env.BOARDKUBE_LAB_SPEED = '0';

  async function run(stateDir: string, cluster: ClusterSpec, o: { faults?: string[]; options?: typeof OPT_IN; secrets?: MemorySecrets } = {}) {
    const s = openSession({ cluster, stateDir, lab: true, labFaults: o.faults ?? [], log: false, options: o.options, secrets: o.secrets });
    const events: EngineEvent[] = [];
    s.engine.on((e) => events.push(e));
    const started = Date.now();
    try {
      const outcome = await s.engine.run(['configure']);
      const lab = s.store.lab() as { boards: Record<string, LabBoardData> } | undefined;
      return { outcome, events, steps: s.store.steps(), boards: lab?.boards ?? {}, ms: Date.now() - started };
    } finally {
      await s.close();
    }
  }
  const errorOf = (events: EngineEvent[], step: string, node: string) =>
    events.find((e): e is Extract<EngineEvent, { type: 'step-end' }> => e.type === 'step-end' && e.step === step && e.node === node)?.error ?? '';

  it('without the opt-in: connect fails with the two ways out; with it the key goes in and the stage finishes', async () => {
    const cluster = labCluster();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-fl-lab-'));
    const faults = ['n2-worker2:key-not-installed'];
    const r = await run(dir, cluster, { faults });
    expect(r.outcome).toBe('failed');
    const err = errorOf(r.events, 'connect', 'n2-worker2');
    expect(err).toMatch(/n2-worker2 does not accept your key yet \(.*refused the SSH key/);
    expect(err).toMatch(/fix: flash it with boardkube, or rerun with --set first-login=arch-defaults to log in once as alarm\/alarm and install the key/);
    expect(r.steps['configure/connect@n2-worker1']!.status).toBe('done');

    const ok = await run(dir, cluster, { faults, options: OPT_IN });
    console.log(`lab configure with first-login: ${ok.ms} ms`);
    expect(ok.outcome, r.events.filter((e) => e.type === 'step-end' && e.error).map((e) => (e as { error?: string }).error).join('\n')).toBe('done');
    expect(ok.steps['configure/first-login@n2-worker2']!.status).toBe('done');
    expect(ok.steps['configure/first-login@n2-worker2']!.outputs).toMatchObject({ user: 'alarm', key: 'ssh-ed25519' });
    expect(ok.steps['configure/first-login@n2-worker1']!.status).toBe('skipped');
    expect(ok.steps['configure/first-login@n2-worker1']!.skipReason).toBe('the board accepts your key already');
    const w2 = ok.boards['n2-worker2']!;
    expect(w2.facts.keyInstalled).toBe(true);
    expect(w2.files['/root/.ssh/authorized_keys']).toBe(`${fs.readFileSync(`${cluster.ssh.keyPath}.pub`, 'utf8').trim()}\n`);
    // A second run: verified, not run again.
    const again = await run(dir, cluster, { faults, options: OPT_IN });
    expect(again.outcome).toBe('done');
    expect(again.events.find((e) => e.type === 'step-end' && e.step === 'first-login' && e.node === 'n2-worker2')).toMatchObject({ status: 'verified' });
    expect(again.steps['configure/first-login@n2-worker2']!.runs).toBe(1);
  });

  it('wrong-password: the first login is refused with a clear message; connect does not run on that board', async () => {
    const cluster = labCluster();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-fl-lab-'));
    const r = await run(dir, cluster, { faults: ['n2-worker3:key-not-installed', 'n2-worker3:wrong-password'], options: OPT_IN });
    expect(r.outcome).toBe('failed');
    expect(errorOf(r.events, 'first-login', 'n2-worker3')).toMatch(/configure\/first-login on n2-worker3: n2-worker3 \(192\.168\.1\.43\) refused the password of alarm/);
    expect(r.steps['configure/connect@n2-worker3']).toBeUndefined();
    expect(r.boards['n2-worker3']!.facts.keyInstalled).toBeUndefined();
  });

  it('the passwords come from the secrets when given, alarm/root otherwise; neither is logged', async () => {
    const seen: Array<{ user: string; password: string; rootPassword: string }> = [];
    const original = LabHost.prototype.installKeyWithPassword;
    const spy = vi.spyOn(LabHost.prototype, 'installKeyWithPassword').mockImplementation(function (this: LabHost, o) {
      seen.push({ user: o.user, password: o.password, rootPassword: o.rootPassword });
      return original.call(this, o);
    });
    try {
      const secrets = new MemorySecrets();
      secrets.set('default-user-password', 'my-alarm-secret');
      secrets.set('root-password', 'my-root-secret');
      const r = await run(fs.mkdtempSync(path.join(os.tmpdir(), 'bk-fl-lab-')), labCluster(), { faults: ['n2-master:key-not-installed'], options: OPT_IN, secrets });
      expect(r.outcome).toBe('done');
      expect(JSON.stringify(r.events)).not.toMatch(/my-alarm-secret|my-root-secret/);
      const d = await run(fs.mkdtempSync(path.join(os.tmpdir(), 'bk-fl-lab-')), labCluster(), { faults: ['n2-master:key-not-installed'], options: OPT_IN });
      expect(d.outcome).toBe('done');
      expect(seen).toEqual([
        { user: 'alarm', password: 'my-alarm-secret', rootPassword: 'my-root-secret' },
        { user: 'alarm', password: 'alarm', rootPassword: 'root' },
      ]);
    } finally {
      spy.mockRestore();
    }
  });
});
