// The ssh2 Host adapter against real OpenSSH servers (test/harness/sshd.ts), and the execa Local adapter.
// Nothing here waits a fixed time for output: tests wait for conditions (a line arrived, a file exists, a process
// is gone). The only clock assertions are lower bounds that timers guarantee (backoff gaps).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LineSplitter } from '../src/adapters/lines.ts';
import { LocalMachine } from '../src/adapters/local/local.ts';
import { SshHost, type SshHostOptions } from '../src/adapters/ssh/host.ts';
import { HostError } from '../src/ports/host.ts';
import { startBoard, waitUntil, type Board, type BoardOptions } from './harness/sshd.ts';
import { memoryPolicy } from './harness/hostkeys.ts';

const run = promisify(execFile);
const T = 30_000;


const hosts: SshHost[] = [];
const boards: Board[] = [];
const tmpDirs: string[] = [];

function hostFor(board: Board, over: Partial<SshHostOptions> = {}): SshHost & { logs: string[] } {
  const logs: string[] = [];
  const h = new SshHost({
    node: 'board-1',
    address: board.address,
    port: board.port,
    user: board.user,
    privateKeyPath: board.clientKeyPath,
    hostKeys: memoryPolicy(),
    sudoPassword: () => board.sudoPassword,
    connectTimeoutMs: 5000,
    log: (l) => logs.push(l),
    ...over,
  });
  hosts.push(h);
  return Object.assign(h, { logs });
}

async function ownBoard(opts?: BoardOptions): Promise<Board> {
  const b = await startBoard(opts);
  boards.push(b);
  return b;
}

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'boardkube-ssh-test-'));
  tmpDirs.push(d);
  return d;
}

async function rejection(p: Promise<unknown>): Promise<HostError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof HostError)) throw new Error(`expected a HostError, got ${err instanceof Error ? err.stack : String(err)}`);
  return err;
}

/** Pids of processes whose command line is exactly `argv`. */
function pidsOf(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8') === want) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

afterAll(async () => {
  await Promise.all(boards.splice(0).map((b) => b.stop()));
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('SshHost: commands (root board)', () => {
  let board: Board;
  beforeAll(async () => {
    board = await ownBoard();
  }, T);

  it('returns exit codes, with stdout and stderr kept apart', async () => {
    const h = hostFor(board);
    expect(await h.exec('true')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await h.exec('echo out; echo err >&2; echo out2; exit 7')).toEqual({ code: 7, stdout: 'out\nout2\n', stderr: 'err\n' });
    expect((await h.exec('exit 255')).code).toBe(255);
    expect((await h.exec('no-such-command-bk')).code).toBe(127);
  }, T);

  it('reports a command killed by a signal as 128+n with the signal in stderr', async () => {
    const h = hostFor(board);
    const r = await h.exec('echo before; kill -KILL $$');
    expect(r.code).toBe(137);
    expect(r.stdout).toBe('before\n');
    expect(r.stderr).toContain('SIGKILL');
  }, T);

  it('streams lines while the command runs (the command waits for the test to see the first line)', async () => {
    const h = hostFor(board);
    const dir = tmpDir();
    const flag = path.join(dir, 'seen-first-line');
    const events: string[] = [];
    // The command cannot finish until the test has received "first" and created the flag file: if output were only
    // delivered at the end, this would hang (and time out).
    const cmd = `echo first; printf 'par'; while [ ! -e ${flag} ]; do sleep 0.02; done; printf 'tial\\n'; echo oops >&2; printf last`;
    const r = await h.exec(cmd, {
      timeoutMs: 10_000,
      onStdout: (line) => {
        events.push(`out:${line}`);
        if (line === 'first') fs.writeFileSync(flag, '');
      },
      onStderr: (line) => events.push(`err:${line}`),
    });
    events.push('done');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('first\npartial\nlast');
    expect(r.stderr).toBe('oops\n');
    expect(events.filter((e) => e.startsWith('out:'))).toEqual(['out:first', 'out:partial', 'out:last']);
    expect(events.indexOf('out:first')).toBe(0);
    expect(events.at(-1)).toBe('done');
  }, T);

  it('passes stdin to the command', async () => {
    const h = hostFor(board);
    expect((await h.exec('cat; echo end', { stdin: 'one\ntwo\n' })).stdout).toBe('one\ntwo\nend\n');
  }, T);

  it('shares one lazily opened connection between parallel commands and pins the key once', async () => {
    const policy = memoryPolicy();
    const h = hostFor(board, { hostKeys: policy });
    const rs = await Promise.all([1, 2, 3, 4, 5].map((i) => h.exec(`echo ${i}`)));
    expect(rs.map((r) => r.stdout)).toEqual(['1\n', '2\n', '3\n', '4\n', '5\n']);
    expect(policy.pins).toHaveLength(1);
    expect(h.logs.filter((l) => l.includes('connected to'))).toHaveLength(1);
  }, T);

  it('an AbortSignal cancels `sleep 30` at once and the remote process is killed', async () => {
    const h = hostFor(board);
    const argv = ['sleep', `30.${randomBytes(3).readUIntBE(0, 3)}`];
    const ctl = new AbortController();
    const p = rejection(h.exec(argv.join(' '), { signal: ctl.signal }));
    await waitUntil(() => pidsOf(argv).length > 0, 10_000, `${argv.join(' ')} running on the board`);
    ctl.abort();
    const err = await p;
    expect(err.kind).toBe('aborted');
    await waitUntil(() => pidsOf(argv).length === 0, 10_000, `${argv.join(' ')} gone after the abort`);
    // The connection stays usable.
    expect((await h.exec('echo still-here')).stdout).toBe('still-here\n');
  }, T);

  it('cancelling a compound command kills its children too (the whole process group)', async () => {
    const h = hostFor(board);
    const argv = ['sleep', `32.${randomBytes(3).readUIntBE(0, 3)}`];
    const ctl = new AbortController();
    let up = false;
    const p = rejection(h.exec(`echo up; ${argv.join(' ')}; echo never`, { signal: ctl.signal, onStdout: (l) => (up ||= l === 'up') }));
    await waitUntil(() => up && pidsOf(argv).length > 0, 10_000, 'the compound command is running');
    ctl.abort();
    expect((await p).kind).toBe('aborted');
    await waitUntil(() => pidsOf(argv).length === 0, 10_000, `${argv.join(' ')} gone after the abort`);
  }, T);

  it('timeoutMs fails with HostError("timeout") and kills the command', async () => {
    const h = hostFor(board);
    const argv = ['sleep', `31.${randomBytes(3).readUIntBE(0, 3)}`];
    const err = await rejection(h.exec(argv.join(' '), { timeoutMs: 300 }));
    expect(err.kind).toBe('timeout');
    expect(err.message).toContain('300 ms');
    await waitUntil(() => pidsOf(argv).length === 0, 10_000, `${argv.join(' ')} gone after the timeout`);
  }, T);

  it('an already aborted signal does not run the command', async () => {
    const h = hostFor(board);
    const dir = tmpDir();
    const marker = path.join(dir, 'ran');
    const ctl = new AbortController();
    ctl.abort();
    expect((await rejection(h.exec(`touch ${marker}`, { signal: ctl.signal }))).kind).toBe('aborted');
    await h.exec('true');
    expect(fs.existsSync(marker)).toBe(false);
  }, T);

  it('sudo as root runs the command directly', async () => {
    const h = hostFor(board, { sudoPassword: () => undefined });
    const r = await h.exec('id -u', { sudo: true });
    expect(r).toEqual({ code: 0, stdout: '0\n', stderr: '' });
    // The log shows what ran: no sudo in front.
    expect(h.logs).toContain('board-1: $ id -u');
  }, T);
});

describe('SshHost: sudo as an ordinary user', () => {
  let board: Board;
  let nopass: Board;
  beforeAll(async () => {
    [board, nopass] = await Promise.all([ownBoard({ sudo: 'password' }), ownBoard({ sudo: 'nopasswd' })]);
  }, T);

  it('logs in as the ordinary user', async () => {
    const h = hostFor(board);
    expect((await h.exec('id -un')).stdout).toBe(`${board.user}\n`);
    expect(board.user).not.toBe('root');
  }, T);

  it('runs as root with the password on stdin, never on the command line or in the log', async () => {
    const pw = board.sudoPassword!;
    expect(pw).toBeTruthy();
    const h = hostFor(board);
    const who = await h.exec('id -u; id -un', { sudo: true });
    expect(who).toEqual({ code: 0, stdout: '0\nroot\n', stderr: '' });
    // What the server started, as every user of the board sees it in `ps`: sudo's and the shell's argv.
    const ps = await h.exec('ps -eo args', { sudo: true });
    const sudoLines = ps.stdout.split('\n').filter((l) => l.startsWith('sudo '));
    expect(sudoLines.length).toBeGreaterThan(0);
    expect(sudoLines.join('\n')).toContain('ps -eo args');
    expect(ps.stdout).not.toContain(pw);
    expect(h.logs.join('\n')).not.toContain(pw);
    // The command's own stdin arrives intact after the password line.
    expect((await h.exec('cat', { sudo: true, stdin: 'payload\n' })).stdout).toBe('payload\n');
  }, T);

  it('cancelling a sudo command as an ordinary user ends the root process', async () => {
    const h = hostFor(board);
    const argv = ['sleep', `33.${randomBytes(3).readUIntBE(0, 3)}`];
    const ctl = new AbortController();
    const p = rejection(h.exec(argv.join(' '), { sudo: true, signal: ctl.signal }));
    await waitUntil(() => pidsOf(argv).length > 0, 10_000, `${argv.join(' ')} running as root`);
    const [pid] = pidsOf(argv);
    expect(fs.statSync(`/proc/${pid}`).uid).toBe(0);
    ctl.abort();
    expect((await p).kind).toBe('aborted');
    await waitUntil(() => pidsOf(argv).length === 0, 10_000, `${argv.join(' ')} gone after the abort`);
  }, T);

  it('noise from the login shell startup files stays in stderr and cancelling still finds the process group', async () => {
    // bash started by sshd sources ~/.bashrc before the command; this board's sessions get HOME=dir, whose
    // .bashrc talks on stderr like a chatty one on a real board (the shared test user's own home stays untouched).
    const dir = tmpDir();
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, '.bashrc'), 'echo startup-noise >&2\n', { mode: 0o644 });
    const noisy = await ownBoard({ sudo: 'password', setEnv: { HOME: dir } });
    const h = hostFor(noisy);
    expect(await h.exec('echo real >&2; echo out')).toEqual({ code: 0, stdout: 'out\n', stderr: 'startup-noise\nreal\n' });
    const argv = ['sleep', `34.${randomBytes(3).readUIntBE(0, 3)}`];
    const ctl = new AbortController();
    const p = rejection(h.exec(`${argv.join(' ')}; echo never`, { signal: ctl.signal }));
    await waitUntil(() => pidsOf(argv).length > 0, 10_000, `${argv.join(' ')} running`);
    ctl.abort();
    expect((await p).kind).toBe('aborted');
    await waitUntil(() => pidsOf(argv).length === 0, 10_000, `${argv.join(' ')} gone after the abort`);
  }, T);

  it('a wrong sudo password fails with a clear error', async () => {
    const h = hostFor(board, { node: 'worker-7', sudoPassword: () => 'not-the-password' });
    const err = await rejection(h.exec('true', { sudo: true }));
    expect(err.kind).toBe('sudo');
    expect(err.message).toContain(`sudo refused the password for ${board.user} on worker-7`);
    expect(err.message).not.toContain('not-the-password');
    // Without sudo the same host still works.
    expect((await h.exec('echo ok')).stdout).toBe('ok\n');
  }, T);

  it('no password at hand: fails with a fix instead of hanging', async () => {
    const h = hostFor(board, { sudoPassword: () => undefined });
    const err = await rejection(h.exec('true', { sudo: true, timeoutMs: 15_000 }));
    expect(err.kind).toBe('sudo');
    expect(err.message).toContain(`sudo needs a password for ${board.user}`);
    expect(err.fix).toMatch(/sudo password/);
  }, T);

  it('a password given late is used (asked each time)', async () => {
    let pw: string | undefined;
    const h = hostFor(board, { sudoPassword: () => pw });
    expect((await rejection(h.exec('true', { sudo: true }))).kind).toBe('sudo');
    pw = board.sudoPassword;
    expect((await h.exec('id -u', { sudo: true })).stdout).toBe('0\n');
  }, T);

  it('NOPASSWD sudo: the password (even when known) never reaches the command', async () => {
    const h = hostFor(nopass, { sudoPassword: () => 'unused-secret' });
    const r = await h.exec('id -un; cat', { sudo: true, stdin: 'exact-input' });
    expect(r).toEqual({ code: 0, stdout: 'root\nexact-input', stderr: '' });
  }, T);

  it('writeFile with sudo puts a root-owned file with the mode in place, leaving no temp files', async () => {
    const h = hostFor(board);
    const dir = `/etc/boardkube-test-${randomBytes(4).toString('hex')}`;
    // /tmp is this machine's: count only the staging files that appear during this test.
    const staged = async () => (await h.exec(`ls -A /tmp | grep '^\\.boardkube-' || true`)).stdout.split('\n').filter(Boolean);
    const before = new Set(await staged());
    try {
      await h.exec(`mkdir -m 755 ${dir}`, { sudo: true });
      await h.writeFile(`${dir}/crio.conf`, 'first\n', { sudo: true, mode: 0o640 });
      await h.writeFile(`${dir}/crio.conf`, 'second\n', { sudo: true, mode: 0o640 });
      const st = await h.exec(`stat -c '%U %a' ${dir}/crio.conf; ls -A ${dir}; cat ${dir}/crio.conf`, { sudo: true });
      expect(st.stdout).toBe('root 640\ncrio.conf\nsecond\n');
      // Without sudo the user cannot write there: the error says so.
      await expect(h.writeFile(`${dir}/x`, 'x')).rejects.toThrow(/Permission denied|denied/i);
      expect((await staged()).filter((f) => !before.has(f))).toEqual([]);
    } finally {
      await run('rm', ['-rf', dir]);
    }
  }, T);
});

describe('SshHost: files over sftp', () => {
  let board: Board;
  beforeAll(async () => {
    board = await ownBoard();
  }, T);

  it('writeFile/readFile round-trip with modes, replacing atomically', async () => {
    const h = hostFor(board);
    const dir = tmpDir();
    const target = path.join(dir, 'config.yaml');
    await h.writeFile(target, 'a: 1\n', { mode: 0o600 });
    expect(fs.readFileSync(target, 'utf8')).toBe('a: 1\n');
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);
    await h.writeFile(target, Buffer.from('a: 2\n'), { mode: 0o664 });
    expect(fs.statSync(target).mode & 0o777).toBe(0o664);
    expect((await h.readFile(target)).toString()).toBe('a: 2\n');
    expect(fs.readdirSync(dir)).toEqual(['config.yaml']);
    await expect(h.readFile(path.join(dir, 'missing'))).rejects.toThrow(/missing.*No such file|No such file/);
  }, T);

  it('upload and download binary files both ways, keeping modes', async () => {
    const h = hostFor(board);
    const local = tmpDir();
    const remote = tmpDir();
    const data = randomBytes(300_000);
    const src = path.join(local, 'kubeadm');
    fs.writeFileSync(src, data, { mode: 0o755 });
    fs.chmodSync(src, 0o755);
    await h.upload(src, path.join(remote, 'kubeadm'));
    expect(fs.readFileSync(path.join(remote, 'kubeadm')).equals(data)).toBe(true);
    expect(fs.statSync(path.join(remote, 'kubeadm')).mode & 0o777).toBe(0o755);
    await h.upload(src, path.join(remote, 'token'), { mode: 0o600 });
    expect(fs.statSync(path.join(remote, 'token')).mode & 0o777).toBe(0o600);

    const secret = randomBytes(70_000);
    fs.writeFileSync(path.join(remote, 'admin.conf'), secret, { mode: 0o600 });
    const dst = path.join(local, 'admin.conf');
    await h.download(path.join(remote, 'admin.conf'), dst);
    expect(fs.readFileSync(dst).equals(secret)).toBe(true);
    expect(fs.statSync(dst).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(local).sort()).toEqual(['admin.conf', 'kubeadm']);
    expect(fs.readdirSync(remote).sort()).toEqual(['admin.conf', 'kubeadm', 'token']);
  }, T);
});

describe('SshHost: host keys and authentication', () => {
  it('pins the real fingerprint on first use (same as ssh-keygen -lf host_key.pub)', async () => {
    const board = await ownBoard();
    const { stdout } = await run('ssh-keygen', ['-lf', board.hostKeyPubPath]);
    const expected = stdout.split(' ')[1];
    expect(expected).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const policy = memoryPolicy();
    const h = hostFor(board, { node: 'master', hostKeys: policy });
    await h.connect();
    expect(policy.pins).toEqual([{ node: 'master', key: { type: 'ssh-ed25519', fingerprint: expected } }]);
    expect(h.hostKey()).toEqual({ type: 'ssh-ed25519', fingerprint: expected });
    // Second connection: known key, no new pin.
    const h2 = hostFor(board, { node: 'master', hostKeys: policy });
    await h2.exec('true');
    expect(policy.pins).toHaveLength(1);
  }, T);

  it('refuses a changed host key with both fingerprints and the fix', async () => {
    const board = await ownBoard();
    const policy = memoryPolicy();
    const h = hostFor(board, { node: 'worker-2', hostKeys: policy });
    await h.exec('true');
    const oldFp = board.hostKeyFingerprint;
    expect(policy.pinned.get('worker-2')).toBe(oldFp);
    await board.restart({ newHostKey: true });
    expect(board.hostKeyFingerprint).not.toBe(oldFp);
    const err = await rejection(h.exec('true'));
    expect(err.kind).toBe('host-key-changed');
    expect(err.message).toContain(oldFp);
    expect(err.message).toContain(board.hostKeyFingerprint);
    expect(err.fix).toContain('--forget-host-key worker-2');
    expect(err.fix).toContain('intercepting');
    // reconnect() does not wait around for a changed key either.
    expect((await rejection(h.reconnect({ timeoutMs: 10_000 }))).kind).toBe('host-key-changed');
    expect(policy.pinned.get('worker-2')).toBe(oldFp);
  }, T);

  it('refuses a wrong client key with a message naming user, key and the .pub to authorize', async () => {
    const board = await ownBoard();
    const dir = tmpDir();
    const key = path.join(dir, 'other_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const h = hostFor(board, { privateKeyPath: key });
    const err = await rejection(h.exec('true'));
    expect(err.kind).toBe('auth');
    expect(err.message).toContain(key);
    expect(err.message).toContain(`user ${board.user}`);
    expect(err.fix).toContain(`${key}.pub`);
    expect(err.fix).toContain('authorized_keys');
  }, T);

  it('a key that needs a passphrase is refused up front with a fix', async () => {
    const board = await ownBoard();
    const dir = tmpDir();
    const key = path.join(dir, 'locked_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', key]);
    const err = await rejection(hostFor(board, { privateKeyPath: key }).connect());
    expect(err.kind).toBe('auth');
    expect(err.message).toContain(key);
    expect(err.fix).toContain('without a passphrase');
  }, T);

  it('connects with an RSA client key', async () => {
    const board = await ownBoard({ keyType: 'rsa' });
    expect(fs.readFileSync(`${board.clientKeyPath}.pub`, 'utf8')).toMatch(/^ssh-rsa /);
    expect((await hostFor(board).exec('echo rsa')).stdout).toBe('rsa\n');
  }, T);

  it('nothing listening: HostError("unreachable") with a fix', async () => {
    const board = await ownBoard();
    await board.down();
    const err = await rejection(hostFor(board).exec('true'));
    expect(err.kind).toBe('unreachable');
    expect(err.message).toContain('connection refused');
    expect(err.fix).toMatch(/powered on.*sshd running/);
  }, T);
});

describe('SshHost: dropped connections and reconnects', () => {
  it('the server killed mid-command gives HostError("disconnected"); the next command reconnects by itself', async () => {
    const board = await ownBoard();
    const h = hostFor(board);
    let started = false;
    const p = rejection(h.exec('echo started; sleep 30', { onStdout: (l) => (started ||= l === 'started') }));
    await waitUntil(() => started, 10_000, 'the command printed "started"');
    await board.killConnections();
    const err = await p;
    expect(err.kind).toBe('disconnected');
    expect(err.message).toContain('lost the SSH connection');
    // The listener still runs: the next exec opens a new connection on its own.
    expect((await h.exec('echo again')).stdout).toBe('again\n');
    expect(h.logs.filter((l) => l.includes('connected to'))).toHaveLength(2);

    // The whole server restarts (same host key): the dropped connection is replaced again.
    await board.restart();
    expect((await h.exec('echo after-restart')).stdout).toBe('after-restart\n');
  }, T);

  it('reconnect() retries with growing backoff while the board is down, and comes back', async () => {
    const board = await ownBoard();
    const h = hostFor(board);
    await h.exec('true');
    await board.down();
    const failures: number[] = [];
    const p = h.reconnect({ timeoutMs: 25_000 });
    const logLen = h.logs.length;
    await waitUntil(
      () => {
        const fails = h.logs.slice(logLen).filter((l) => l.includes('not answering yet')).length;
        while (failures.length < fails) failures.push(Date.now());
        return fails >= 3;
      },
      20_000,
      'three failed attempts',
    );
    await board.up();
    await p;
    expect((await h.exec('echo back')).stdout).toBe('back\n');
    // Backoff 0.5 s, then 1 s: timer lower bounds (minus polling slack), never upper bounds.
    expect(failures[1]! - failures[0]!).toBeGreaterThanOrEqual(450);
    expect(failures[2]! - failures[1]!).toBeGreaterThanOrEqual(950);
    expect(h.logs.some((l) => /back after .* \(attempt [4-9]\)/.test(l))).toBe(true);
  }, T);

  it('reconnect() gives up after timeoutMs and honours its AbortSignal', async () => {
    const board = await ownBoard();
    const h = hostFor(board);
    await board.down();
    const err = await rejection(h.reconnect({ timeoutMs: 1200 }));
    expect(err.kind).toBe('timeout');
    expect(err.message).toContain('did not come back');

    const ctl = new AbortController();
    const p = h.reconnect({ timeoutMs: 60_000, signal: ctl.signal });
    await waitUntil(() => h.logs.some((l) => l.includes('not answering yet (attempt 1)')), 10_000, 'a failed attempt');
    ctl.abort();
    expect((await rejection(p)).kind).toBe('aborted');
  }, T);
});

describe('LineSplitter', () => {
  it('joins lines split across chunks and multi-byte characters split across chunks', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const text = Buffer.from('héllo wörld\r\nzwei\ndrei');
    s.push(text.subarray(0, 2)); // splits the two bytes of "é"
    s.push(text.subarray(2, 13));
    s.push(text.subarray(13));
    s.end();
    expect(lines).toEqual(['héllo wörld', 'zwei', 'drei']);
    expect(s.text).toBe('héllo wörld\r\nzwei\ndrei');
  });
});

describe('LocalMachine', () => {
  const local = new LocalMachine();

  it('finds tools on PATH and in /usr/sbin, with a version line', async () => {
    const sh = await local.tool('sh');
    expect(sh.path).toMatch(/\/sh$/);
    fs.accessSync(sh.path!, fs.constants.X_OK);
    expect((await local.tool('no-such-tool-boardkube')).path).toBeNull();
    const saved = process.env.PATH;
    try {
      process.env.PATH = '/usr/bin:/bin';
      expect((await local.tool('sshd')).path).toBe('/usr/sbin/sshd');
    } finally {
      process.env.PATH = saved;
    }
    const bash = await local.tool('bash', { version: true });
    expect(bash.version).toMatch(/^GNU bash, version \d/);
  });

  it('runs programs without a shell and returns exit codes and both streams', async () => {
    expect(await local.run('sh', ['-c', 'echo out; echo err >&2; exit 3'])).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect((await local.run('echo', ['$HOME', '|', ';'])).stdout).toBe('$HOME | ;\n');
    expect((await local.run('cat', [], { stdin: 'in' })).stdout).toBe('in');
    const missing = await local.run('no-such-program-boardkube', []);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('not found');
    const killed = await local.run('sh', ['-c', 'kill -KILL $$']);
    expect(killed.code).toBe(137);
    expect(killed.stderr).toContain('SIGKILL');
  });

  it('streams lines before the program ends', async () => {
    const dir = tmpDir();
    const flag = path.join(dir, 'seen');
    const lines: string[] = [];
    const r = await local.run('sh', ['-c', `echo first; while [ ! -e ${flag} ]; do sleep 0.02; done; echo second`], {
      timeoutMs: 10_000,
      onStdout: (l) => {
        lines.push(l);
        if (l === 'first') fs.writeFileSync(flag, '');
      },
    });
    expect(r.code).toBe(0);
    expect(lines).toEqual(['first', 'second']);
  }, T);

  it('an AbortSignal or timeout ends the program', async () => {
    const ctl = new AbortController();
    let started = false;
    const p = local.run('sh', ['-c', 'echo up; exec sleep 30'], { signal: ctl.signal, onStdout: () => (started = true) });
    await waitUntil(() => started, 10_000, 'the program printed');
    ctl.abort();
    expect((await rejection(p)).kind).toBe('aborted');
    expect((await rejection(local.run('sleep', ['30'], { timeoutMs: 200 }))).kind).toBe('timeout');
  }, T);

  it('sudo as root runs the program directly', async () => {
    expect(local.isRoot()).toBe(true);
    expect((await local.run('id', ['-u'], { sudo: true })).stdout).toBe('0\n');
  });

  it('sudo as an ordinary user: password on stdin, not on the command line; a wrong one is refused', async () => {
    // The test user of a sudo board runs a small script with LocalMachine (runuser, no login).
    const board = await ownBoard({ sudo: 'password' });
    const dir = tmpDir();
    fs.chmodSync(dir, 0o755);
    const script = path.join(dir, 'local-sudo.mts');
    const localTs = path.resolve(import.meta.dirname, '../src/adapters/local/local.ts');
    fs.writeFileSync(
      script,
      `import { LocalMachine } from ${JSON.stringify(localTs)};
const pw = process.env.BK_PW;
const m = new LocalMachine({ sudoPassword: () => pw });
const out: Record<string, unknown> = { isRoot: m.isRoot() };
out.id = (await m.run('id', ['-u'], { sudo: true })).stdout;
out.ps = (await m.run('ps', ['-eo', 'args'], { sudo: true })).stdout;
out.cat = (await m.run('cat', [], { sudo: true, stdin: 'payload' })).stdout;
const wrong = new LocalMachine({ sudoPassword: () => 'wrong-' + pw });
out.wrong = await wrong.run('true', [], { sudo: true }).then(() => 'no error', (e) => e.kind + ': ' + e.message);
const none = new LocalMachine({ sudoPassword: () => undefined });
out.none = await none.run('true', [], { sudo: true }).then(() => 'no error', (e) => e.kind + ': ' + e.message);
console.log(JSON.stringify(out));
`,
    );
    fs.chmodSync(script, 0o644);
    const { stdout } = await run('runuser', ['-u', board.user, '--', process.execPath, '--import', 'tsx', script], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { ...process.env, BK_PW: board.sudoPassword, HOME: `/home/${board.user}` },
    });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, string | boolean>;
    expect(out.isRoot).toBe(false);
    expect(out.id).toBe('0\n');
    expect(String(out.ps)).toMatch(/^sudo -S -k -p\s+-- ps -eo args$/m);
    expect(String(out.ps)).not.toContain(board.sudoPassword!);
    expect(out.cat).toBe('payload');
    expect(out.wrong).toMatch(/^sudo: sudo refused the password for bk-sudo on this computer/);
    expect(out.none).toMatch(/^sudo: sudo needs a password/);
  }, T);
});
