// The Host port on ssh2: one board reached over SSH.
//
// - The connection opens lazily on first use and is reused; when it drops (board rebooted, sshd killed, network
//   gone), the command that was running fails with HostError('disconnected') and the next call reconnects by itself.
// - Host keys are checked with the HostKeyPolicy (pinned in the saved progress, trust on first use): the key blob's
//   OpenSSH fingerprint ("SHA256:" + unpadded base64 of its sha256) is what ssh-keygen -l shows.
// - sudo: the password goes to `sudo -S` on stdin, never on a command line or into a log. Whether the user needs a
//   password (or is NOPASSWD) is probed once per connection, so the password line never leaks into a command's stdin.
// - Files go through sftp, written under a temp name in the same folder and renamed into place.
// - installKeyWithPassword (boards flashed by hand): a second, short-lived connection with password auth as alarm,
//   `su` at a pseudo-terminal to the login user (root), the root password typed at su's prompt.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ssh2 from 'ssh2';
import type { ClientChannel, SFTPWrapper, Stats } from 'ssh2';
import { authorizeKeyScript, hostKeyChangedMessage, HostError, type ExecOptions, type ExecResult, type Host, type HostKeyInfo, type HostKeyPolicy, type InstallKeyOptions } from '../../ports/host.ts';
import { LineSplitter } from '../lines.ts';
import { sleep } from '../../util/sleep.ts';

const { Client, utils } = ssh2;
type SshClient = InstanceType<typeof Client>;

export interface SshHostOptions {
  /** Node name as the user knows it (e.g. "master", "worker-1"), used in messages and the host-key policy. */
  node: string;
  address: string;
  /** Default 22. */
  port?: number;
  user: string;
  /** Private key without a passphrase (OpenSSH or PEM format, ed25519 or rsa); `${path}.pub` is named in fixes. */
  privateKeyPath: string;
  hostKeys: HostKeyPolicy;
  /** The sudo password for `user`, asked each time it is needed (so the wizard can supply it late). */
  sudoPassword?: () => string | undefined;
  /** TCP connect + SSH handshake + authentication; default 10 s. */
  connectTimeoutMs?: number;
  /** Default 10 s; after `keepaliveCountMax` (default 3) unanswered keepalives the connection counts as dropped. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Progress lines (connects, commands, exit codes). Never carries the sudo password. */
  log?: (line: string) => void;
}

interface Conn {
  client: SshClient;
  closed: boolean;
  /** Rejecters of the commands and transfers running on this connection, called when it drops. */
  running: Set<(err: HostError) => void>;
  sftp?: Promise<SFTPWrapper>;
  sudo?: SudoState;
}

type SudoState = { mode: 'nopasswd' } | { mode: 'password'; verified: string };

/** Quotes a string for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Type and OpenSSH SHA256 fingerprint of a public key blob (the SSH wire format: string type, ...). */
export function hostKeyInfo(blob: Buffer): HostKeyInfo {
  let type = 'unknown';
  if (blob.length >= 4) {
    const len = blob.readUInt32BE(0);
    if (len > 0 && len < 64 && blob.length >= 4 + len) type = blob.subarray(4, 4 + len).toString('latin1');
  }
  const fingerprint = 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
  return { type, fingerprint };
}

const UNREACHABLE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host is down',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ENOTFOUND: 'name not found',
  EAI_AGAIN: 'name lookup failed',
};

const signalNumbers = os.constants.signals as Record<string, number | undefined>;
/** First stderr line of every command: the pid of the shell sshd started (see run()). */
const PID_MARK = 'boardkube-pid=';

export class SshHost implements Host {
  readonly node: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  private readonly opts: SshHostOptions;
  private conn?: Conn;
  private connecting?: Promise<Conn>;
  private pending?: SshClient;
  private key?: HostKeyInfo;
  private closing = false;

  constructor(opts: SshHostOptions) {
    this.opts = opts;
    this.node = opts.node;
    this.address = opts.address;
    this.port = opts.port ?? 22;
    this.user = opts.user;
  }

  hostKey(): HostKeyInfo | undefined {
    return this.key;
  }

  async connect(signal?: AbortSignal): Promise<void> {
    await this.ensure(signal);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const op = this.operation(command, opts.signal, opts.timeoutMs);
    try {
      const conn = await this.ensure(op.signal, op.error);
      const sudo = !!opts.sudo && !this.isRoot();
      this.log(`$ ${sudo ? 'sudo ' : ''}${command}`);
      let remote = command;
      let stdin = opts.stdin;
      if (sudo) {
        const state = await this.sudoState(conn, op.signal, op.error);
        if (state.mode === 'nopasswd') {
          remote = `sudo -n -- sh -c ${shellQuote(command)}`;
        } else {
          // -k: ignore cached credentials, so sudo always reads exactly the one password line we send first.
          remote = `sudo -S -k -p '' -- sh -c ${shellQuote(command)}`;
          const pw = Buffer.from(`${this.currentSudoPassword() ?? ''}\n`);
          stdin = stdin === undefined ? pw : Buffer.concat([pw, Buffer.from(stdin)]);
        }
      }
      const r = await this.run(conn, remote, { ...opts, stdin, signal: op.signal, killWithSudo: sudo }, op.error);
      if (sudo && conn.sudo?.mode === 'password' && r.code === 1 && /^Sorry, try again\.$|incorrect password attempt/m.test(r.stderr)) {
        // The password changed since we verified it.
        conn.sudo = undefined;
        throw this.wrongSudoPassword();
      }
      this.log(`exit ${r.code}`);
      return r;
    } finally {
      op.done();
    }
  }

  async writeFile(
    remotePath: string,
    content: string | Buffer,
    opts: { mode?: number; sudo?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    const mode = opts.mode ?? 0o644;
    const data = typeof content === 'string' ? Buffer.from(content) : content;
    const op = this.operation(`write ${remotePath}`, opts.signal);
    try {
      const conn = await this.ensure(op.signal, op.error);
      if (opts.sudo && !this.isRoot()) {
        this.log(`write ${remotePath} (sudo, mode ${octal(mode)}, ${data.length} bytes)`);
        await this.putAsRoot(conn, op, remotePath, mode, (staged) => this.sftpCall(conn, op, `write ${staged}`, (sftp, cb) => sftp.writeFile(staged, data, { mode: 0o600 }, cb)));
        return;
      }
      this.log(`write ${remotePath} (mode ${octal(mode)}, ${data.length} bytes)`);
      await this.putBeside(conn, op, remotePath, mode, (tmp) =>
        this.sftpCall(conn, op, `write ${remotePath}`, (sftp, cb) => sftp.writeFile(tmp, data, { mode }, cb)),
      );
    } finally {
      op.done();
    }
  }

  /**
   * For a login that is not root: staged as the user (0600, in /tmp), then installed by root under a temp name next
   * to the target and renamed into place, so the target is never half written.
   */
  private async putAsRoot(conn: Conn, op: { signal: AbortSignal; error: () => HostError }, dest: string, mode: number, put: (staged: string) => Promise<unknown>): Promise<void> {
    const staged = `/tmp/.boardkube-${randomBytes(6).toString('hex')}`;
    const tmp = tempSibling(dest);
    const script =
      `rc=0; install -m ${octal(mode)} -- ${shellQuote(staged)} ${shellQuote(tmp)} && mv -f -- ${shellQuote(tmp)} ${shellQuote(dest)} || rc=$?; ` +
      `rm -f -- ${shellQuote(staged)} ${shellQuote(tmp)}; exit $rc`;
    let r: ExecResult;
    try {
      await put(staged);
      r = await this.exec(script, { sudo: true, signal: op.signal });
    } catch (err) {
      await this.unlinkQuietly(conn, staged);
      throw err;
    }
    if (r.code !== 0) throw new Error(`cannot write ${dest} on ${this.node}: ${lastLines(r.stderr || r.stdout)}`);
  }

  /** Writes through a temporary file beside the target, sets its mode, then renames: readers never see half a file. */
  private async putBeside(conn: Conn, op: { signal: AbortSignal; error: () => HostError }, remotePath: string, mode: number, put: (tmp: string) => Promise<unknown>): Promise<void> {
    const tmp = tempSibling(remotePath);
    try {
      await put(tmp);
      // The server's umask applies at creation: set the mode explicitly.
      await this.sftpCall(conn, op, `chmod ${remotePath}`, (sftp, cb) => sftp.chmod(tmp, mode, cb));
      await this.rename(conn, op, tmp, remotePath);
    } catch (err) {
      await this.unlinkQuietly(conn, tmp);
      throw err;
    }
  }

  async readFile(remotePath: string, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const op = this.operation(`read ${remotePath}`, opts.signal);
    try {
      const conn = await this.ensure(op.signal, op.error);
      return await this.sftpCall<Buffer>(conn, op, `read ${remotePath}`, (sftp, cb) => sftp.readFile(remotePath, cb));
    } finally {
      op.done();
    }
  }

  async upload(localPath: string, remotePath: string, opts: { mode?: number; sudo?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const mode = opts.mode ?? fs.statSync(localPath).mode & 0o7777;
    const op = this.operation(`upload ${localPath}`, opts.signal);
    try {
      const conn = await this.ensure(op.signal, op.error);
      if (opts.sudo && !this.isRoot()) {
        this.log(`upload ${localPath} -> ${remotePath} (sudo, mode ${octal(mode)})`);
        await this.putAsRoot(conn, op, remotePath, mode, (staged) => this.sftpCall(conn, op, `upload ${staged}`, (sftp, cb) => sftp.fastPut(localPath, staged, { mode: 0o600 }, cb)));
        return;
      }
      this.log(`upload ${localPath} -> ${remotePath} (mode ${octal(mode)})`);
      await this.putBeside(conn, op, remotePath, mode, (tmp) =>
        this.sftpCall(conn, op, `upload ${remotePath}`, (sftp, cb) => sftp.fastPut(localPath, tmp, { mode }, cb)),
      );
    } finally {
      op.done();
    }
  }

  async download(remotePath: string, localPath: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const op = this.operation(`download ${remotePath}`, opts.signal);
    try {
      const conn = await this.ensure(op.signal, op.error);
      const st = await this.sftpCall<Stats>(conn, op, `stat ${remotePath}`, (sftp, cb) => sftp.stat(remotePath, cb));
      // Keep the remote mode: a 0600 admin.conf stays 0600 here.
      const mode = st.mode & 0o7777;
      this.log(`download ${remotePath} -> ${localPath} (mode ${octal(mode)})`);
      const tmp = tempSibling(localPath);
      try {
        await this.sftpCall(conn, op, `download ${remotePath}`, (sftp, cb) => sftp.fastGet(remotePath, tmp, { mode }, cb));
        fs.chmodSync(tmp, mode);
        fs.renameSync(tmp, localPath);
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        throw err;
      }
    } finally {
      op.done();
    }
  }

  async reconnect(opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    const { timeoutMs, signal } = opts;
    await this.close();
    const started = Date.now();
    const deadline = started + timeoutMs;
    let delay = 500;
    let attempt = 0;
    const aborted = () => new HostError('aborted', `stopped waiting for ${this.node} to come back`);
    for (;;) {
      if (signal?.aborted) throw aborted();
      attempt++;
      try {
        const left = Math.max(1, deadline - Date.now());
        await this.ensure(signal, aborted, Math.min(this.connectTimeoutMs, left));
        this.log(`back after ${((Date.now() - started) / 1000).toFixed(1)} s (attempt ${attempt})`);
        return;
      } catch (err) {
        // A changed host key, a refused key or a cancel do not get better by waiting.
        if (!(err instanceof HostError) || err.kind === 'host-key-changed' || err.kind === 'auth' || err.kind === 'aborted') throw err;
        const left = deadline - Date.now();
        this.log(`not answering yet (attempt ${attempt}): ${err.message.split('\n')[0]}`);
        if (left <= 0) {
          throw new HostError(
            'timeout',
            `${this.node} (${this.address}) did not come back within ${Math.round(timeoutMs / 1000)} s: ${err.message.split('\n')[0]}`,
            `look at the board: is it powered, did it boot (HDMI/serial console), is it still at ${this.address}?`,
          );
        }
        await sleep(Math.min(delay, left), signal).catch(() => {
          throw aborted();
        });
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    try {
      this.pending?.destroy();
      const conn = this.conn;
      this.conn = undefined;
      if (conn && !conn.closed) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            conn.client.destroy();
            resolve();
          }, 2000);
          conn.client.once('close', () => {
            clearTimeout(t);
            resolve();
          });
          conn.client.end();
        });
      }
      await this.connecting?.catch(() => {});
    } finally {
      this.closing = false;
    }
  }

  /**
   * First login of a board flashed by hand: a second connection with password auth as `o.user` (the key connection
   * is untouched), then `su` to this host's login user at a pseudo-terminal (su reads the password from a terminal
   * only): the root password is written once su's "Password:" prompt shows (echo is off by then, and the pty starts
   * with echo off too), then authorizeKeyScript() runs as that user. The command line carries the public key only;
   * the log never carries a password, and su's output is scrubbed of it before it reaches a message.
   */
  async installKeyWithPassword(o: InstallKeyOptions): Promise<void> {
    const script = authorizeKeyScript(o.publicKey);
    // On boards the login user is root: `su -`. A test stand-in for root is named.
    const su = this.isRoot() ? 'su -' : `su - ${shellQuote(this.user)}`;
    const client = await this.passwordClient(o);
    try {
      this.log(`first login: ${su} (the password typed at its prompt), then add the key to ~${this.user}/.ssh/authorized_keys`);
      const r = await this.suExec(client, `LC_ALL=C ${su} -c ${shellQuote(script)}`, o.rootPassword, o.signal);
      let text = r.output.replace(/\r/g, '');
      for (const pw of [o.rootPassword, o.password]) if (pw) text = text.split(pw).join('***');
      const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !/^password[^:]*:$/i.test(l));
      for (const l of lines) this.log(`first login: ${l}`);
      if (/authentication failure|incorrect password|sorry/i.test(text)) {
        throw new HostError(
          'auth',
          `su on ${this.node} refused the password of ${this.user}`,
          `check ${this.user}'s password on ${this.node} (Arch Linux ARM's default for root is root)`,
        );
      }
      if (r.code !== 0) throw new Error(`adding the key for ${this.user} on ${this.node} failed (exit ${r.code}): ${lines.slice(-5).join('\n') || 'no output'}`);
      this.log(`first login: exit 0`);
    } finally {
      client.end();
      setTimeout(() => client.destroy(), 2000).unref();
    }
  }

  /** A connection logged in with a password (or keyboard-interactive answered with it), host key checked. */
  private passwordClient(o: InstallKeyOptions): Promise<SshClient> {
    const where = `${o.user}@${this.address}:${this.port}`;
    return new Promise<SshClient>((resolve, reject) => {
      const aborted = () => new HostError('aborted', `cancelled the first login on ${this.node}`);
      if (o.signal?.aborted) {
        reject(aborted());
        return;
      }
      const client = new Client();
      let settled = false;
      const gate = this.hostKeyGate();
      const onAbort = () => fail(aborted());
      const fail = (err: HostError) => {
        if (settled) return;
        settled = true;
        o.signal?.removeEventListener('abort', onAbort);
        client.destroy();
        reject(err);
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      this.log(`first login: connecting to ${where} with a password`);
      client.on('ready', () => {
        if (settled) return;
        const pinError = gate.pinIfFirstUse();
        if (pinError) return fail(pinError);
        settled = true;
        o.signal?.removeEventListener('abort', onAbort);
        this.log(`first login: connected to ${where}`);
        resolve(client);
      });
      client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => o.password)));
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (settled) return;
        if (gate.refusal) return fail(gate.refusal);
        if (err.level === 'client-authentication' || /authentication methods failed/i.test(err.message)) {
          fail(
            new HostError(
              'auth',
              `${this.node} (${this.address}) refused the password of ${o.user}`,
              `check ${o.user}'s password (Arch Linux ARM's default is alarm) and that sshd on ${this.node} allows password logins; or flash the card with boardkube, which puts your key on it`,
            ),
          );
          return;
        }
        fail(this.connectError(err));
      });
      client.on('close', () => {
        if (!settled) fail(gate.refusal ?? new HostError('unreachable', `${this.node} (${this.address}:${this.port}) closed the connection during the SSH handshake`, this.unreachableFix()));
      });
      try {
        client.connect({
          host: this.address,
          port: this.port,
          username: o.user,
          password: o.password,
          tryKeyboard: true,
          readyTimeout: this.connectTimeoutMs,
          hostVerifier: gate.verify,
        });
      } catch (err) {
        fail(new HostError('unreachable', `cannot connect to ${where}: ${(err as Error).message}`, this.unreachableFix()));
      }
    });
  }

  /** Runs `command` at a pty; writes `password` once when a "Password:" prompt shows. Output is pty-merged. */
  private suExec(client: SshClient, command: string, password: string, signal?: AbortSignal): Promise<{ code: number; output: string }> {
    const limitMs = 60_000;
    return new Promise((resolve, reject) => {
      let done = false;
      let sent = false;
      let output = '';
      let code: number | undefined;
      let channel: ClientChannel | undefined;
      const finish = (err: Error | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          channel?.close();
          reject(err);
        } else resolve({ code: code ?? -1, output });
      };
      const timer = setTimeout(
        () => finish(new HostError('timeout', `su on ${this.node} did not ${sent ? 'finish' : 'ask for the password'} within ${limitMs / 1000} s`)),
        limitMs,
      );
      const onAbort = () => finish(new HostError('aborted', `cancelled the first login on ${this.node}`));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      client.on('close', () => finish(code === undefined ? new HostError('disconnected', `lost the connection to ${this.node} during the first login`) : undefined));
      client.exec(command, { pty: { term: 'dumb', cols: 200, rows: 24, modes: { ECHO: 0 } } }, (err, ch) => {
        if (err) return finish(new HostError('disconnected', `${this.node} did not start su: ${err.message}`));
        channel = ch;
        const onData = (d: Buffer) => {
          if (output.length < 65_536) output += d.toString('utf8');
          if (!sent && /password[^\n]*:\s*$/i.test(output)) {
            sent = true;
            ch.write(`${password}\n`);
          }
        };
        ch.on('data', onData);
        ch.stderr.on('data', onData);
        ch.on('exit', (c: number | null) => {
          code = typeof c === 'number' ? c : -1;
        });
        ch.once('close', () => finish(undefined));
      });
    });
  }

  // ---------------------------------------------------------------------------------------------------------------

  private get connectTimeoutMs(): number {
    return this.opts.connectTimeoutMs ?? 10_000;
  }

  private isRoot(): boolean {
    return this.user === 'root';
  }

  private log(line: string): void {
    this.opts.log?.(`${this.node}: ${line}`);
  }

  private currentSudoPassword(): string | undefined {
    const pw = this.opts.sudoPassword?.();
    return pw === '' ? undefined : pw;
  }

  /**
   * One operation's cancellation: the caller's signal plus an optional timeout, merged into one signal; `error()`
   * tells which of them fired.
   */
  private operation(what: string, signal?: AbortSignal, timeoutMs?: number) {
    const ctl = new AbortController();
    let timedOut = false;
    const onAbort = () => ctl.abort();
    if (signal?.aborted) ctl.abort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            ctl.abort();
          }, timeoutMs)
        : undefined;
    const short = what.length > 80 ? `${what.slice(0, 77)}...` : what;
    return {
      signal: ctl.signal,
      error: (): HostError =>
        timedOut
          ? new HostError('timeout', `\`${short}\` on ${this.node} did not finish within ${timeoutMs} ms`)
          : new HostError('aborted', `cancelled \`${short}\` on ${this.node}`),
      done: () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      },
    };
  }

  /** The open connection, or a new one (shared by concurrent callers); each caller can give up on its own. */
  private ensure(signal?: AbortSignal, abortError?: () => HostError, timeoutMs?: number): Promise<Conn> {
    if (this.conn && !this.conn.closed) return Promise.resolve(this.conn);
    if (!this.connecting) {
      this.connecting = this.open(timeoutMs ?? this.connectTimeoutMs).finally(() => {
        this.connecting = undefined;
      });
    }
    return raceAbort(this.connecting, signal, abortError ?? (() => new HostError('aborted', `cancelled connecting to ${this.node}`)));
  }

  private open(timeoutMs: number): Promise<Conn> {
    const { privateKeyPath } = this.opts;
    const where = `${this.user}@${this.address}:${this.port}`;
    return new Promise<Conn>((resolve, reject) => {
      let privateKey: Buffer;
      try {
        privateKey = fs.readFileSync(privateKeyPath);
      } catch (err) {
        reject(
          new HostError(
            'auth',
            `cannot read the SSH key ${privateKeyPath}: ${(err as Error).message}`,
            `make a key with \`ssh-keygen -t ed25519 -N '' -f ${privateKeyPath}\` and put ${privateKeyPath}.pub into ~${this.user}/.ssh/authorized_keys on ${this.node}`,
          ),
        );
        return;
      }
      const parsed = utils.parseKey(privateKey);
      if (parsed instanceof Error) {
        reject(
          new HostError(
            'auth',
            `cannot use the SSH key ${privateKeyPath}: ${parsed.message}`,
            `boardkube needs a private key without a passphrase (ed25519 or rsa); make one with \`ssh-keygen -t ed25519 -N '' -f FILE\``,
          ),
        );
        return;
      }

      const client = new Client();
      this.pending = client;
      const conn: Conn = { client, closed: false, running: new Set() };
      let settled = false;
      const gate = this.hostKeyGate();
      this.log(`connecting to ${where}`);

      const fail = (err: HostError) => {
        if (settled) return;
        settled = true;
        if (this.pending === client) this.pending = undefined;
        client.destroy();
        reject(err);
      };

      client.on('ready', () => {
        if (settled) return;
        // Pin only after the server proved it holds the key (the handshake signature) and we got in.
        const pinError = gate.pinIfFirstUse();
        if (pinError) return fail(pinError);
        if (gate.seen) this.key = gate.seen;
        settled = true;
        if (this.pending === client) this.pending = undefined;
        this.conn = conn;
        this.log(`connected to ${where}`);
        resolve(conn);
      });
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (!settled) {
          fail(gate.refusal ?? this.connectError(err));
          return;
        }
        this.log(`connection error: ${err.message}`);
      });
      client.on('close', () => {
        conn.closed = true;
        if (this.conn === conn) this.conn = undefined;
        if (!settled) {
          fail(
            gate.refusal ??
              (this.closing
                ? new HostError('aborted', `connection to ${this.node} closed by boardkube`)
                : new HostError('unreachable', `${this.node} (${this.address}:${this.port}) closed the connection during the SSH handshake`, this.unreachableFix())),
          );
          return;
        }
        this.log('connection closed');
        const dropped = new HostError(
          'disconnected',
          `lost the SSH connection to ${this.node} (${this.address})`,
          `check the board's power and network; boardkube reconnects by itself on the next command`,
        );
        for (const rejectRunning of [...conn.running]) rejectRunning(dropped);
        conn.running.clear();
      });

      try {
        client.connect({
          host: this.address,
          port: this.port,
          username: this.user,
          privateKey,
          readyTimeout: timeoutMs,
          keepaliveInterval: this.opts.keepaliveIntervalMs ?? 10_000,
          keepaliveCountMax: this.opts.keepaliveCountMax ?? 3,
          hostVerifier: gate.verify,
        });
      } catch (err) {
        fail(new HostError('unreachable', `cannot connect to ${where}: ${(err as Error).message}`, this.unreachableFix()));
      }
    });
  }

  /** The HostKeyPolicy's verdict on a host key blob, as a refusal to report or "first use" (pin once logged in). */
  private checkHostKey(blob: Buffer): { info: HostKeyInfo; firstUse: boolean } | { info: HostKeyInfo; refusal: HostError } {
    const info = hostKeyInfo(blob);
    let verdict: ReturnType<HostKeyPolicy['check']>;
    try {
      verdict = this.opts.hostKeys.check(this.node, info);
    } catch (err) {
      return { info, refusal: new HostError('host-key-changed', `cannot check the host key of ${this.node}: ${(err as Error).message}`) };
    }
    if (verdict.ok) return { info, firstUse: verdict.firstUse };
    this.log(`refused host key ${info.type} ${info.fingerprint} (pinned ${verdict.pinned})`);
    const { message, fix } = hostKeyChangedMessage(this.node, this.address, verdict.pinned, `${info.type} ${info.fingerprint}`);
    return { info, refusal: new HostError('host-key-changed', message, fix) };
  }

  /**
   * What one SSH handshake saw of the host key: ssh2's hostVerifier records it, a refused key is kept to report,
   * and a key seen for the first time is pinned only once the login succeeded.
   */
  private hostKeyGate() {
    const gate = {
      seen: undefined as HostKeyInfo | undefined,
      refusal: undefined as HostError | undefined,
      firstUse: false,
      verify: (blob: Buffer): boolean => {
        const v = this.checkHostKey(blob);
        gate.seen = v.info;
        if ('refusal' in v) {
          gate.refusal = v.refusal;
          return false;
        }
        gate.firstUse = v.firstUse;
        return true;
      },
      /** After login: pin a first-use key. Returns the error to fail with, if pinning failed. */
      pinIfFirstUse: (): HostError | undefined => {
        if (!gate.seen || !gate.firstUse) return undefined;
        try {
          this.opts.hostKeys.pin(this.node, gate.seen);
        } catch (err) {
          return new HostError('host-key-changed', `cannot pin the host key of ${this.node}: ${(err as Error).message}`);
        }
        this.log(`pinned host key ${gate.seen.type} ${gate.seen.fingerprint} (first use)`);
        return undefined;
      },
    };
    return gate;
  }

  private unreachableFix(): string {
    return `is the board powered on and on the network, is ${this.address} its address, and is sshd running on port ${this.port}?`;
  }

  private connectError(err: Error & { level?: string; code?: string }): HostError {
    if (err.level === 'client-authentication' || /authentication methods failed/i.test(err.message)) {
      const pub = `${this.opts.privateKeyPath}.pub`;
      const pubHint = fs.existsSync(pub) ? pub : `the public key (\`ssh-keygen -y -f ${this.opts.privateKeyPath}\` prints it)`;
      return new HostError(
        'auth',
        `${this.node} (${this.address}) refused the SSH key ${this.opts.privateKeyPath} for user ${this.user}`,
        `put ${pubHint} into ~${this.user}/.ssh/authorized_keys on ${this.node} (e.g. \`ssh-copy-id -i ${pub} -p ${this.port} ${this.user}@${this.address}\`), or choose the right user and key`,
      );
    }
    const reason =
      (err.code && UNREACHABLE_CODES[err.code]) ||
      (err.level === 'client-timeout' ? `no SSH answer within ${Math.round(this.connectTimeoutMs / 1000)} s` : err.message);
    return new HostError('unreachable', `cannot reach ${this.node} at ${this.address}:${this.port}: ${reason}`, this.unreachableFix());
  }

  /**
   * Runs one command on the connection; the caller has already wrapped it for sudo.
   *
   * The command is prefixed with `echo boardkube-pid=$$ >&2;` so we learn the pid of the login shell that sshd
   * started for this channel. sshd makes it a session (and process group) leader, so `kill -- -PID` reaches the whole
   * command tree. That line is taken out of stderr before anyone sees it. On cancel/timeout: TERM to the group (and
   * an SSH "signal" request, which OpenSSH honours for non-root logins only), KILL after a short grace, then the
   * channel is closed. The caller is answered at once.
   */
  private run(
    conn: Conn,
    remote: string,
    opts: ExecOptions & { signal: AbortSignal; killWithSudo?: boolean },
    abortError: () => HostError,
  ): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      const out = new LineSplitter(opts.onStdout);
      const err = new LineSplitter(opts.onStderr);
      let channel: ClientChannel | undefined;
      let pid: number | undefined;
      let done = false;
      let killing = false;
      let exited = false;
      const finish = (e: Error | undefined, r?: ExecResult) => {
        if (done) return;
        done = true;
        conn.running.delete(onDrop);
        opts.signal.removeEventListener('abort', onAbort);
        if (e) reject(e);
        else resolve(r!);
      };
      const onDrop = (e: HostError) => finish(e);

      const signalAll = (sig: 'TERM' | 'KILL') => {
        if (exited || !channel) return;
        try {
          signalChannel(channel, sig);
        } catch {
          // channel gone
        }
        if (pid !== undefined) this.killGroup(conn, pid, sig, !!opts.killWithSudo);
      };
      const startKilling = () => {
        if (killing || !channel) return;
        killing = true;
        const ch = channel;
        signalAll('TERM');
        const t = setTimeout(() => {
          signalAll('KILL');
          try {
            ch.close();
          } catch {
            // already closed
          }
        }, 1000);
        t.unref();
        ch.once('close', () => clearTimeout(t));
      };
      const onAbort = () => {
        startKilling();
        finish(abortError());
      };
      if (opts.signal.aborted) {
        onAbort();
        return;
      }
      opts.signal.addEventListener('abort', onAbort, { once: true });
      conn.running.add(onDrop);

      try {
        conn.client.exec(`echo ${PID_MARK}$$ >&2; ${remote}`, (e, ch) => {
          if (e) {
            finish(
              conn.closed
                ? new HostError('disconnected', `lost the SSH connection to ${this.node} (${this.address})`)
                : new HostError('disconnected', `${this.node} did not start the command: ${e.message}`),
            );
            return;
          }
          channel = ch;
          let code: number | undefined;
          let signalName: string | undefined;
          let streamsOpen = 2;
          let closed = false;
          // stderr until the pid line is complete; null once it was handled.
          let head: Buffer | null = Buffer.alloc(0);
          const settle = () => {
            if (!closed || streamsOpen > 0) return;
            if (head && head.length) err.push(head);
            head = null;
            out.end();
            err.end();
            const cbErr = out.callbackError ?? err.callbackError;
            if (cbErr !== undefined) {
              finish(cbErr instanceof Error ? cbErr : new Error(String(cbErr)));
              return;
            }
            if (code === undefined) {
              finish(
                new HostError(
                  'disconnected',
                  `lost the SSH connection to ${this.node} (${this.address}) while a command was running`,
                  `check the board's power and network; boardkube reconnects by itself on the next command`,
                ),
              );
              return;
            }
            let stderr = err.text;
            if (signalName) stderr += `${stderr && !stderr.endsWith('\n') ? '\n' : ''}killed by ${signalName}\n`;
            finish(undefined, { code, stdout: out.text, stderr });
          };
          ch.on('data', (d: Buffer) => out.push(d));
          ch.stderr.on('data', (d: Buffer) => {
            if (!head) {
              err.push(d);
              return;
            }
            // Lines before the marker come from the login shell's startup files: pass them on.
            head = Buffer.concat([head, d]);
            let start = 0;
            for (let nl = head.indexOf(0x0a); nl !== -1; nl = head.indexOf(0x0a, start)) {
              const line = head.subarray(start, nl).toString('latin1');
              const m = line.startsWith(PID_MARK) ? /^\d+$/.exec(line.slice(PID_MARK.length)) : null;
              if (m) {
                const before = head.subarray(0, start);
                const after = head.subarray(nl + 1);
                head = null;
                if (before.length) err.push(before);
                if (after.length) err.push(after);
                pid = Number(m[0]);
                if (killing) signalAll('TERM');
                return;
              }
              start = nl + 1;
            }
            if (head.length > 16_384) {
              // No marker (a login shell that is not POSIX?): give up looking, cancel falls back to SSH signals.
              err.push(head);
              head = null;
            }
          });
          ch.once('end', () => {
            streamsOpen--;
            settle();
          });
          ch.stderr.once('end', () => {
            streamsOpen--;
            settle();
          });
          ch.on('exit', (c: number | null, sig?: string) => {
            exited = true;
            if (typeof c === 'number') code = c;
            else {
              signalName = sig ?? 'unknown signal';
              const n = sig ? signalNumbers[sig.startsWith('SIG') ? sig : `SIG${sig}`] : undefined;
              code = n !== undefined ? 128 + n : -1;
            }
          });
          ch.once('close', () => {
            closed = true;
            // A dropped connection may not deliver 'end' on both streams.
            if (conn.closed) streamsOpen = 0;
            settle();
          });
          if (opts.stdin !== undefined) ch.end(opts.stdin);
          else ch.end();
          if (done) startKilling();
        });
      } catch (e) {
        finish(new HostError('disconnected', `${this.node} did not start the command: ${(e as Error).message}`));
      }
    });
  }

  /**
   * Signals a remote process group from a second channel (best effort, fire and forget). A sudo command's processes
   * belong to root: an ordinary user may signal sudo itself, but sudo relays TERM only to its direct child, so the
   * group is signalled through sudo as well.
   */
  private killGroup(conn: Conn, pid: number, sig: 'TERM' | 'KILL', withSudo: boolean): void {
    if (conn.closed) return;
    const kill = `kill -s ${sig} -- -${pid} 2>/dev/null || kill -s ${sig} ${pid} 2>/dev/null; true`;
    let command = kill;
    let stdin: string | undefined;
    if (withSudo && conn.sudo?.mode === 'nopasswd') command = `sudo -n -- sh -c ${shellQuote(kill)}`;
    else if (withSudo && conn.sudo?.mode === 'password') {
      command = `sudo -S -k -p '' -- sh -c ${shellQuote(kill)}`;
      stdin = `${this.currentSudoPassword() ?? ''}\n`;
    }
    try {
      conn.client.exec(command, (e, ch) => {
        if (e) return;
        ch.resume();
        ch.stderr.resume();
        ch.end(stdin);
      });
    } catch {
      // connection going away
    }
  }

  /** Finds out (once per connection) whether sudo needs a password, and checks the password we have. */
  private async sudoState(conn: Conn, signal: AbortSignal, abortError: () => HostError): Promise<SudoState> {
    const pw = this.currentSudoPassword();
    const digest = pw === undefined ? undefined : createHash('sha256').update(pw).digest('hex');
    const cached = conn.sudo;
    if (cached?.mode === 'nopasswd') return cached;
    if (cached?.mode === 'password' && cached.verified === digest) return cached;

    if (!cached) {
      const probe = await this.run(conn, 'sudo -n true', { signal }, abortError);
      if (probe.code === 0) {
        conn.sudo = { mode: 'nopasswd' };
        return conn.sudo;
      }
      if (!/password is required/i.test(probe.stderr)) throw this.sudoUnusable(probe);
    }
    if (pw === undefined || digest === undefined) {
      throw new HostError(
        'sudo',
        `sudo needs a password for ${this.user} on ${this.node}, and none was given`,
        `give the sudo password of ${this.user} in the wizard (or its environment variable), or log in as root`,
      );
    }
    const check = await this.run(conn, `sudo -S -k -p '' -- true`, { signal, stdin: `${pw}\n` }, abortError);
    if (check.code === 0) {
      conn.sudo = { mode: 'password', verified: digest };
      return conn.sudo;
    }
    if (/^Sorry, try again\.$|incorrect password attempt|no password was provided/m.test(check.stderr)) throw this.wrongSudoPassword();
    throw this.sudoUnusable(check);
  }

  private wrongSudoPassword(): HostError {
    return new HostError(
      'sudo',
      `sudo refused the password for ${this.user} on ${this.node}`,
      `check the sudo password of ${this.user} (it is the login password of that user on the board)`,
    );
  }

  private sudoUnusable(r: ExecResult): HostError {
    const text = lastLines(r.stderr || r.stdout) || `exit ${r.code}`;
    const notAllowed = /not in the sudoers|not allowed|may not run/i.test(text);
    const missing = r.code === 127 || /not found/i.test(text);
    return new HostError(
      'sudo',
      `sudo does not work for ${this.user} on ${this.node}: ${text}`,
      missing
        ? `install sudo on ${this.node}, or log in as root`
        : notAllowed
          ? `allow ${this.user} to use sudo on ${this.node} (e.g. add it to the wheel or sudo group), or log in as root`
          : `run \`sudo true\` as ${this.user} on ${this.node} to see what sudo wants`,
    );
  }

  /** The sftp session of this connection (opened once). */
  private sftp(conn: Conn): Promise<SFTPWrapper> {
    if (!conn.sftp) {
      conn.sftp = new Promise<SFTPWrapper>((resolve, reject) => {
        conn.client.sftp((err, sftp) => {
          if (err) {
            conn.sftp = undefined;
            reject(
              conn.closed
                ? new HostError('disconnected', `lost the SSH connection to ${this.node} (${this.address})`)
                : new Error(`cannot start sftp on ${this.node}: ${err.message} (is the sftp subsystem enabled in sshd_config?)`),
            );
            return;
          }
          sftp.on('close', () => {
            if (conn.sftp === current) conn.sftp = undefined;
          });
          resolve(sftp);
        });
      });
      const current = conn.sftp;
    }
    return conn.sftp;
  }

  /** One sftp request, cancellable (by ending the sftp session) and failing as 'disconnected' when the link drops. */
  private async sftpCall<T = void>(
    conn: Conn,
    op: { signal: AbortSignal; error: () => HostError },
    what: string,
    call: (sftp: SFTPWrapper, cb: (err: Error | null | undefined, value?: T) => void) => void,
  ): Promise<T> {
    const sftp = await raceAbort(this.sftp(conn), op.signal, op.error);
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (e: Error | undefined, v?: T) => {
        if (done) return;
        done = true;
        conn.running.delete(onDrop);
        op.signal.removeEventListener('abort', onAbort);
        if (e) reject(e);
        else resolve(v as T);
      };
      const onDrop = (e: HostError) => finish(e);
      const onAbort = () => {
        if (conn.sftp) {
          conn.sftp = undefined;
          sftp.end();
        }
        finish(op.error());
      };
      if (op.signal.aborted) {
        onAbort();
        return;
      }
      op.signal.addEventListener('abort', onAbort, { once: true });
      conn.running.add(onDrop);
      try {
        call(sftp, (err, value) => {
          if (err) {
            finish(
              conn.closed
                ? new HostError('disconnected', `lost the SSH connection to ${this.node} during ${what}`)
                : Object.assign(new Error(`${what} on ${this.node} failed: ${err.message}`), { cause: err }),
            );
          } else finish(undefined, value);
        });
      } catch (err) {
        finish(new Error(`${what} on ${this.node} failed: ${(err as Error).message}`));
      }
    });
  }

  /** Atomic replace (posix-rename@openssh.com); plain SFTP rename refuses an existing target. */
  private async rename(conn: Conn, op: { signal: AbortSignal; error: () => HostError }, from: string, to: string): Promise<void> {
    try {
      await this.sftpCall(conn, op, `rename to ${to}`, (s, cb) => s.ext_openssh_rename(from, to, cb));
      return;
    } catch (err) {
      if (!/not support/i.test((err as Error).message)) throw err;
    }
    await this.sftpCall(conn, op, `remove ${to}`, (s, cb) => s.unlink(to, () => cb(undefined)));
    await this.sftpCall(conn, op, `rename to ${to}`, (s, cb) => s.rename(from, to, cb));
  }

  private async unlinkQuietly(conn: Conn, p: string): Promise<void> {
    if (conn.closed) return;
    try {
      const sftp = await this.sftp(conn);
      await new Promise<void>((resolve) => sftp.unlink(p, () => resolve()));
    } catch {
      // best effort
    }
  }
}

/**
 * Sends an SSH "signal" channel request. ssh2's ClientChannel.signal() silently does nothing once our side sent EOF
 * (`writable` is false after `end()`), but every command gets EOF on stdin right away, and RFC 4254 allows channel
 * requests after EOF. So this goes to ssh2's protocol object directly when the channel is still open, falling back
 * to the public method if ssh2's internals change. OpenSSH (9.2 here) delivers it with killpg() for non-root logins
 * only ("session signalling requires privilege separation" for root), hence killGroup() as well.
 */
function signalChannel(ch: ClientChannel, sig: string): void {
  const internal = ch as unknown as {
    outgoing?: { id?: number; state?: string };
    _client?: { _protocol?: { signal?: (id: number, sig: string) => void } };
  };
  const proto = internal._client?._protocol;
  const out = internal.outgoing;
  if (typeof proto?.signal === 'function' && typeof out?.id === 'number' && (out.state === 'open' || out.state === 'eof')) {
    proto.signal(out.id, sig);
    return;
  }
  ch.signal(sig);
}

function tempSibling(p: string): string {
  const dir = path.posix.dirname(p);
  const base = path.posix.basename(p);
  return path.posix.join(dir, `.${base}.boardkube-${randomBytes(4).toString('hex')}`);
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined, error: () => Error): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(error());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(error());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

