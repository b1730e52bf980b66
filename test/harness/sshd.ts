// Real OpenSSH servers as boards, for integration tests of the ssh2 adapter (see /work/shared/TESTING.md).
//
// Every board is its own `sshd -D -e -f CONF` on a loopback address (127.0.X.Y, all of 127/8 is local) with a free
// port, its own ed25519 host key, an AuthorizedKeysFile in a temp dir and a freshly generated client key. That gives
// real host-key checking, real auth failures, real sftp and real dropped connections (killConnections() kills the
// server's per-connection processes; down()/up()/restart() stop and start the listener, optionally with a NEW host key).
//
// Users: by default the board logs in as root. `sudo: 'password'` or `sudo: 'nopasswd'` logs in as an ordinary test
// user instead (created with useradd when missing, a sudoers drop-in in /etc/sudoers.d), which is how most real boards
// are set up. `passwordLogin` is for first-login tests: password logins for extra test users (stand-ins for alarm and
// root, so the machine's real root password is never touched), and the client key is authorized only by each user's
// own ~/.ssh/authorized_keys. The harness must run as root (it creates users, binds sshd, reads other users' processes).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';

export interface BoardOptions {
  /** Log in as an ordinary user with sudo (password or NOPASSWD) instead of root. */
  sudo?: 'password' | 'nopasswd';
  /** The sudo password of the test user (sudo: 'password'); default: a random one, reused while the user exists. */
  sudoPassword?: string;
  /** Client key type; default ed25519. */
  keyType?: 'ed25519' | 'rsa';
  /** Environment for every session (sshd SetEnv; overrides sshd's own, e.g. HOME to point bash at another .bashrc). */
  setEnv?: Record<string, string>;
  /** How long to wait for sshd to listen; default 10 s. */
  readyTimeoutMs?: number;
  /**
   * Password logins (PasswordAuthentication yes) for these users (created with useradd -m and chpasswd when missing,
   * removed with their home by the last board using them). The board's `user` becomes `loginUser` (one of them), and
   * the client key is NOT authorized up front: sshd reads only each user's ~/.ssh/authorized_keys.
   */
  passwordLogin?: { users: Array<{ name: string; password: string }>; loginUser: string };
  /**
   * Starts sshd through a wrapper (test/harness/system-board.ts: its own namespaces and a setup script): gets sshd's
   * argv, returns the whole argv. The wrapper must exec sshd, so the process started is sshd.
   */
  launch?: (sshd: string[]) => string[];
  /** Runs before every start of the listener: the first one and every up() (a board's boot). */
  beforeUp?: () => Promise<void> | void;
}

export interface Board {
  address: string;
  port: number;
  /** The user the client logs in as (root, or the sudo test user). */
  user: string;
  /** The sudo password of `user` when it needs one. */
  sudoPassword?: string;
  /** OpenSSH fingerprint of the current host key, from `ssh-keygen -lf host_key.pub`: "SHA256:...". */
  readonly hostKeyFingerprint: string;
  /** Path of the current host key's public half. */
  readonly hostKeyPubPath: string;
  /** Private client key (no passphrase) whose public half is authorized; `${clientKeyPath}.pub` exists. */
  clientKeyPath: string;
  /** Temp dir of this board (config, keys, log); removed by stop(). */
  dir: string;
  /** The sshd log (stderr of `sshd -e`), for failure messages. */
  log(): string;
  /** Kills every process the server started (per-connection sshd processes and their commands): connections drop. */
  killConnections(): Promise<void>;
  /** Stops the listener (and all connections): the board is "down". */
  down(): Promise<void>;
  /** Starts the listener again on the same address and port, with the same host key or a new one. */
  up(opts?: { newHostKey?: boolean }): Promise<void>;
  /** down() then up(). */
  restart(opts?: { newHostKey?: boolean }): Promise<void>;
  /** Stops everything and removes the temp dir (and the test user when no other board uses it). Safe twice. */
  stop(): Promise<void>;
}

let boardCounter = 0;

/**
 * A root board's sessions get a HOME of their own: this machine's /root/.bashrc runs `pyenv rehash`, and a login
 * killed in the middle of it (cancel and kill -9 tests do that) leaves a lock behind that makes every later root
 * login wait 60 s. Boards of the sudo test users have fresh homes and keep theirs.
 */
function sessionEnv(user: string, dir: string, env: Record<string, string> = {}): Record<string, string> {
  if (user !== 'root' || env.HOME) return env;
  const home = path.join(dir, 'home');
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  return { HOME: home, ...env };
}
// A /24 of 127/8 per process so parallel test files do not collide on addresses.
const subnet = 20 + (process.pid % 200);

export async function startBoard(opts: BoardOptions = {}): Promise<Board> {
  if (process.getuid?.() !== 0) throw new Error('test/harness/sshd.ts needs root (sshd, useradd, sudoers)');
  if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} is missing: apt-get install -y openssh-server`);
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const address = `127.0.${subnet}.${2 + (boardCounter++ % 250)}`;
  const port = await freePort(address);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boardkube-sshd-'));
  // The test user reads the authorized_keys file below: the dir must be traversable (keys inside stay 0600).
  fs.chmodSync(dir, 0o755);

  let user = 'root';
  let sudoPassword: string | undefined;
  const userRefs: Array<() => Promise<void>> = [];
  const userRef = async () => {
    for (const release of userRefs.splice(0)) await release();
  };
  try {
    if (opts.sudo) {
      const u = await acquireUser(opts.sudo === 'password' ? 'bk-sudo' : 'bk-nopass', opts.sudo, opts.sudoPassword);
      user = u.name;
      sudoPassword = opts.sudo === 'password' ? u.password : undefined;
      userRefs.push(u.release);
    }
    const allowed = [user];
    if (opts.passwordLogin) {
      for (const pu of opts.passwordLogin.users) userRefs.push((await acquireUser(pu.name, 'none', pu.password)).release);
      user = opts.passwordLogin.loginUser;
      allowed.splice(0, allowed.length, ...new Set([user, ...opts.passwordLogin.users.map((u) => u.name)]));
    }

    const hostKey = path.join(dir, 'host_key');
    await keygen('ed25519', hostKey, 'boardkube-test-host');
    const clientKeyPath = path.join(dir, 'client_key');
    await keygen(opts.keyType ?? 'ed25519', clientKeyPath, 'boardkube-test-client');
    const authorizedKeys = path.join(dir, 'authorized_keys');
    fs.copyFileSync(`${clientKeyPath}.pub`, authorizedKeys);
    fs.chmodSync(authorizedKeys, 0o644);

    const conf = path.join(dir, 'sshd_config');
    fs.writeFileSync(
      conf,
      [
        `ListenAddress ${address}`,
        `Port ${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${opts.passwordLogin ? '.ssh/authorized_keys' : authorizedKeys}`,
        // The temp dir lives under /tmp (mode 1777), which StrictModes rejects.
        'StrictModes no',
        'UsePAM no',
        'PubkeyAuthentication yes',
        `PasswordAuthentication ${opts.passwordLogin ? 'yes' : 'no'}`,
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${allowed.join(' ')}`,
        'Subsystem sftp internal-sftp',
        'MaxStartups 100',
        'MaxSessions 100',
        'LogLevel VERBOSE',
        ...Object.entries(sessionEnv(user, dir, opts.setEnv)).map(([k, v]) => `SetEnv ${k}=${JSON.stringify(v)}`),
        '',
      ].join('\n'),
    );
    const logPath = path.join(dir, 'sshd.log');
    fs.writeFileSync(logPath, '');
    const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;

    let child: ChildProcess | undefined;
    let stopped = false;

    const startServer = async (): Promise<void> => {
      await opts.beforeUp?.();
      const sshdArgv = [SSHD, '-D', '-e', '-f', conf];
      const argv = opts.launch ? opts.launch(sshdArgv) : sshdArgv;
      const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      child = p;
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          p.kill('SIGKILL');
          reject(new Error(`sshd on ${address}:${port} did not listen within ${readyTimeoutMs} ms:\n${out}`));
        }, readyTimeoutMs);
        p.stderr!.on('data', (d: Buffer) => {
          // Lines can still arrive after stop() removed the dir.
          if (!stopped) fs.appendFileSync(logPath, d);
          if (out.length < 20_000) out += d.toString();
          if (out.includes(`Server listening on ${address} port ${port}`)) {
            clearTimeout(timer);
            resolve();
          }
        });
        p.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`sshd on ${address}:${port} exited (${code ?? signal}) before listening:\n${out}`));
        });
        p.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      // Keep logging after readiness (the listener above keeps appending).
    };

    const killTree = async (includeRoot: boolean): Promise<void> => {
      const root = child;
      if (!root?.pid) return;
      const victims = descendants(root.pid);
      if (includeRoot) victims.unshift(root.pid);
      for (const pid of victims) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await waitUntil(() => victims.every((pid) => !alive(pid)), 5000, `processes ${victims.join(',')} still alive`);
      if (includeRoot) child = undefined;
    };

    let fingerprint = await fingerprintOf(`${hostKey}.pub`);

    const board: Board = {
      address,
      port,
      user,
      sudoPassword,
      get hostKeyFingerprint() {
        return fingerprint;
      },
      hostKeyPubPath: `${hostKey}.pub`,
      clientKeyPath,
      dir,
      log: () => fs.readFileSync(logPath, 'utf8'),
      killConnections: () => killTree(false),
      down: () => killTree(true),
      async up(o = {}) {
        if (child) throw new Error('board is up already: call down() first');
        if (o.newHostKey) {
          fs.rmSync(hostKey, { force: true });
          fs.rmSync(`${hostKey}.pub`, { force: true });
          await keygen('ed25519', hostKey, 'boardkube-test-host-new');
          fingerprint = await fingerprintOf(`${hostKey}.pub`);
        }
        await startServer();
      },
      async restart(o = {}) {
        await board.down();
        await board.up(o);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await killTree(true).catch(() => {});
        fs.rmSync(dir, { recursive: true, force: true });
        await userRef();
      },
    };
    await startServer();
    return board;
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    await userRef();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Test users (with sudo, or plain ones for password logins), shared by every board of every test process on this machine (vitest runs test files in
// parallel processes). Each board holds the user with a file named after its process in STATE/<user>.holders; the
// first holder creates the user (or adopts one left over from a crashed run) and its password, which all holders
// read from a root-only file; the last one to let go removes the sudoers drop-in, the user and the password.
// Changes happen under a mkdir lock whose owner pid is checked, so a crashed holder cannot block the next run.

const STATE = '/run/boardkube-test-users';

async function acquireUser(
  name: string,
  kind: 'password' | 'nopasswd' | 'none',
  wantedPassword: string | undefined,
): Promise<{ name: string; password: string; release: () => Promise<void> }> {
  const holders = path.join(STATE, `${name}.holders`);
  const pwFile = path.join(STATE, `${name}.pw`);
  const me = path.join(holders, `${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const password = await withUserLock(async () => {
    fs.mkdirSync(holders, { recursive: true, mode: 0o700 });
    let pw: string;
    if (liveHolders(holders).length === 0 || !fs.existsSync(pwFile) || (kind !== 'none' && !fs.existsSync(sudoersPath(name)))) {
      pw = wantedPassword ?? `pw-${crypto.randomBytes(12).toString('base64url')}`;
      await createUser(name, kind, pw);
      fs.writeFileSync(pwFile, pw, { mode: 0o600 });
    } else {
      pw = fs.readFileSync(pwFile, 'utf8');
      if (wantedPassword !== undefined && wantedPassword !== pw) {
        throw new Error(`test user ${name} is in use (by another test process) with another password`);
      }
    }
    fs.writeFileSync(me, String(process.pid));
    return pw;
  });
  let released = false;
  return {
    name,
    password,
    release: async () => {
      if (released) return;
      released = true;
      await withUserLock(async () => {
        fs.rmSync(me, { force: true });
        if (liveHolders(holders).length > 0) return;
        fs.rmSync(sudoersPath(name), { force: true });
        fs.rmSync(pwFile, { force: true });
        await run('userdel', ['-f', '-r', name]).catch(() => {});
      });
    },
  };
}

/** Holder files whose process is alive; files of dead processes are removed. */
function liveHolders(dir: string): string[] {
  const live: string[] = [];
  for (const f of fs.readdirSync(dir)) {
    const pid = Number(f.split('-')[0]);
    if (Number.isInteger(pid) && alive(pid)) live.push(f);
    else fs.rmSync(path.join(dir, f), { force: true });
  }
  return live;
}

async function withUserLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(STATE, { recursive: true, mode: 0o700 });
  const lock = path.join(STATE, 'lock');
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'owner'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lock, 'owner'), 'utf8'));
      } catch {
        // being created or removed right now
      }
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lock} is held by process ${owner}: remove it if that process is gone`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function sudoersPath(name: string): string {
  return `/etc/sudoers.d/boardkube-test-${name}`;
}

async function createUser(name: string, kind: 'password' | 'nopasswd' | 'none', password: string): Promise<void> {
  if (kind !== 'none' && !fs.existsSync('/usr/bin/sudo')) throw new Error('sudo is missing: apt-get install -y sudo');
  const exists = await run('id', ['-u', name]).then(
    () => true,
    () => false,
  );
  if (!exists) await run('useradd', ['-m', '-s', '/bin/bash', name]);
  // A password is set for both kinds: without PAM, sshd refuses accounts whose password is locked ("!").
  await new Promise<void>((resolve, reject) => {
    const p = spawn('chpasswd', [], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`chpasswd failed: ${err}`))));
    p.stdin.end(`${name}:${password}\n`);
  });
  if (kind === 'none') return;
  const rule =
    kind === 'password'
      ? `${name} ALL=(ALL:ALL) ALL\nDefaults:${name} lecture=never\n`
      : `${name} ALL=(ALL:ALL) NOPASSWD: ALL\n`;
  const file = sudoersPath(name);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, rule, { mode: 0o440 });
  await run('visudo', ['-c', '-q', '-f', tmp]);
  fs.renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------------------------------

async function keygen(type: 'ed25519' | 'rsa', file: string, comment: string): Promise<void> {
  const args = ['-q', '-t', type, '-N', '', '-C', comment, '-f', file];
  if (type === 'rsa') args.push('-b', '3072');
  await run('ssh-keygen', args);
}

/** "SHA256:..." from `ssh-keygen -lf FILE`. */
export async function fingerprintOf(pubFile: string): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile]);
  const fp = stdout.split(/\s+/)[1];
  if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -lf output: ${stdout}`);
  return fp;
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** All processes below `pid` (children first level first), from /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `cond` every 20 ms until it holds or `timeoutMs` passes. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
