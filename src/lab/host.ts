// A practice-lab board behind the Host port: same errors, same host-key rules, simulated commands. As strict as a
// board whose login is an ordinary user with sudo: what needs root fails without sudo, files keep their mode and
// owner (a root-only file cannot be read back without sudo), and a command slower than its timeout times out.
import { readFile, writeFile } from 'node:fs/promises';
import { hostKeyChangedMessage, HostError, publicKeyBody, type ExecOptions, type ExecResult, type Host, type HostKeyInfo, type HostKeyPolicy, type InstallKeyOptions } from '../ports/host.ts';
import { labPrivateFiles, type LabBoardData } from './board.ts';
import { sleep } from '../util/sleep.ts';

const cancelled = () => new HostError('aborted', 'cancelled');
import { readable, ROOT_ONLY_DIRS, simulate } from './commands.ts';

export interface LabWorldHandle {
  boards(): LabBoardData[];
  /** Multiplier on simulated durations (0 = instant, 1 = realistic). */
  speed: number;
  persist(): void;
}


export class LabHost implements Host {
  #connected = false;
  #key: HostKeyInfo | undefined;

  constructor(
    readonly board: LabBoardData,
    private readonly world: LabWorldHandle,
    private readonly hostKeys: HostKeyPolicy,
    private readonly user: string,
  ) {}

  get node(): string {
    return this.board.node;
  }

  get address(): string {
    return this.board.address;
  }

  #delay(ms: number, signal?: AbortSignal): Promise<void> {
    const factor = this.board.faults.includes('slow') ? 5 : 1;
    const total = ms * factor * this.world.speed;
    return total > 0 ? sleep(total, signal, cancelled) : Promise.resolve();
  }

  async connect(signal?: AbortSignal): Promise<void> {
    if (this.#connected && this.board.bootingUntil === 0) return;
    await this.#delay(150, signal);
    const key = this.#handshake();
    if (this.board.faults.includes('wrong-password')) {
      throw new HostError('auth', `${this.node} refused the login as ${this.user}: Permission denied (publickey,password)`, 'check the user and key in the cluster file; for a card flashed by hand log in once as alarm/alarm (practice lab: the "wrong-password" fault is on)');
    }
    if (this.#keyMissing()) {
      throw new HostError('auth', `${this.node} (${this.address}) refused the SSH key for user ${this.user}`, `put your public key into ~${this.user}/.ssh/authorized_keys on ${this.node} (practice lab: the "key-not-installed" fault is on)`);
    }
    this.#key = key;
    this.#connected = true;
  }

  /** What every SSH connection starts with: the board answers, and its host key passes the pinning rules. */
  #handshake(): HostKeyInfo {
    if (this.board.faults.includes('unreachable') || Date.now() < this.board.bootingUntil) {
      throw new HostError('unreachable', `cannot reach ${this.node} at ${this.address}:22 (no answer)`, 'is the board powered on and its network cable in, and is the address right? (practice lab: the "unreachable" fault is on)');
    }
    this.board.bootingUntil = 0;
    const key = this.board.faults.includes('changed-host-key') ? this.board.otherHostKey : this.board.hostKey;
    const verdict = this.hostKeys.check(this.node, key);
    if (!verdict.ok) {
      const { message, fix } = hostKeyChangedMessage(this.node, this.address, verdict.pinned, key.fingerprint);
      throw new HostError('host-key-changed', message, fix);
    }
    if (verdict.firstUse) this.hostKeys.pin(this.node, key);
    return key;
  }

  #keyMissing(): boolean {
    return this.board.faults.includes('key-not-installed') && this.board.facts.keyInstalled !== true;
  }

  /** The first login of a card flashed by hand: the wrong-password fault refuses it, otherwise the key is in. */
  async installKeyWithPassword(o: InstallKeyOptions): Promise<void> {
    const body = publicKeyBody(o.publicKey);
    await this.#delay(300, o.signal);
    this.#handshake();
    if (this.board.faults.includes('wrong-password')) {
      throw new HostError('auth', `${this.node} (${this.address}) refused the password of ${o.user}`, `check ${o.user}'s password (Arch Linux ARM's default is alarm) (practice lab: the "wrong-password" fault is on)`);
    }
    const file = this.user === 'root' ? '/root/.ssh/authorized_keys' : `/home/${this.user}/.ssh/authorized_keys`;
    const lines = (this.board.files[file] ?? '').split('\n').filter(Boolean);
    if (!lines.some((l) => l.includes(body))) lines.push(o.publicKey.trim());
    this.board.files[file] = `${lines.join('\n')}\n`;
    this.board.facts.keyInstalled = true;
    this.world.persist();
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    await this.connect(opts.signal);
    const stdin = opts.stdin === undefined ? undefined : opts.stdin.toString();
    const r = simulate(this.board, command, this.world.boards(), { sudo: opts.sudo, stdin });
    const ms = (r.ms ?? 50) * (this.board.faults.includes('slow') ? 5 : 1);
    if (opts.timeoutMs !== undefined && ms > opts.timeoutMs) {
      // As the SSH adapter does: the command is signalled, its output lost (what it changed so far stays).
      await this.#delay(opts.timeoutMs, opts.signal);
      this.world.persist();
      const short = command.trim().split('\n')[0]!.slice(0, 60);
      throw new HostError('timeout', `\`${short}\` on ${this.node} did not finish within ${opts.timeoutMs} ms`);
    }
    await this.#delay(r.ms ?? 50, opts.signal);
    const stdout = r.stdout ?? '';
    const stderr = r.stderr ?? '';
    for (const line of stdout.split('\n').filter(Boolean)) opts.onStdout?.(line);
    for (const line of stderr.split('\n').filter(Boolean)) opts.onStderr?.(line);
    if (r.rebootMs !== undefined) {
      this.board.bootingUntil = Date.now() + Math.max(1, r.rebootMs * this.world.speed);
      this.#connected = false;
    }
    this.world.persist();
    return { code: r.code ?? 0, stdout, stderr };
  }

  async writeFile(remotePath: string, content: string | Buffer, opts: { mode?: number; sudo?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    await this.connect(opts.signal);
    await this.#delay(40, opts.signal);
    if (!opts.sudo && ROOT_ONLY_DIRS.test(remotePath)) {
      throw new Error(`${this.node}: cannot write ${remotePath}: Permission denied (it belongs to root: write it with sudo) (practice lab: the login is an ordinary user, as on most boards)`);
    }
    if (opts.mode !== undefined && (opts.mode & 0o077) === 0) {
      // Only root may read it, so it may hold a secret: kept in memory, never saved with the progress.
      labPrivateFiles(this.board).set(remotePath, content.toString());
      delete this.board.files[remotePath];
    } else {
      labPrivateFiles(this.board).delete(remotePath);
      this.board.files[remotePath] = content.toString();
    }
    // The SSH adapter's default mode; sudo makes the file root's, as `install` under sudo does.
    (this.board.fileModes ??= {})[remotePath] = { mode: opts.mode ?? 0o644, owner: opts.sudo ? 'root' : this.user };
    this.world.persist();
  }

  async readFile(remotePath: string, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    await this.connect(opts.signal);
    const content = this.board.files[remotePath] ?? labPrivateFiles(this.board).get(remotePath);
    if (content === undefined) throw new Error(`${this.node}: ${remotePath}: No such file`);
    if (!readable(this.board, remotePath, this.user)) throw new Error(`${this.node}: ${remotePath}: Permission denied (practice lab: the login is an ordinary user, as on most boards)`);
    return Buffer.from(content);
  }

  async upload(localPath: string, remotePath: string, opts: { mode?: number; sudo?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    await this.writeFile(remotePath, await readFile(localPath), opts);
  }

  async download(remotePath: string, localPath: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await writeFile(localPath, await this.readFile(remotePath, opts), { mode: 0o600 });
  }

  async reconnect(opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    // Timeouts and pauses shrink with the lab's speed, so a fast lab fails as fast as it succeeds.
    const scale = Math.max(this.world.speed, 0.001);
    const deadline = Date.now() + opts.timeoutMs * scale;
    this.#connected = false;
    for (let wait = 500; ; wait = Math.min(wait * 2, 5000)) {
      if (!this.board.faults.includes('no-return-after-reboot')) {
        try {
          await this.connect(opts.signal);
          return;
        } catch (e) {
          if (!(e instanceof HostError) || e.kind !== 'unreachable') throw e;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new HostError('timeout', `${this.node} did not come back within ${Math.round(opts.timeoutMs / 1000)} s after the reboot`, 'look at the board: is its LED on? A serial console shows whether the new kernel boots (practice lab: the "no-return-after-reboot" fault is on)');
      }
      await sleep(Math.max(1, Math.min(wait * scale, left)), opts.signal, cancelled);
    }
  }

  hostKey(): HostKeyInfo | undefined {
    return this.#key;
  }

  async close(): Promise<void> {
    this.#connected = false;
  }
}
