// One run at a time per board, whichever computer drives it. Before a run's first command on a board it takes
// the board's lease: a small file on the board (written through the Host port, so the practice lab's boards hold
// one too) naming the run: cluster, computer, progress file, run id, command, PID, start time. The run renews it
// while it lives and removes it at its end; a lease not renewed within its time-to-live has expired, so a crashed
// laptop never blocks a board for long. Expiry is judged by the board's own clocks: its uptime while it has not
// rebooted since the last renewal (no clock jump can fool it), its wall clock after a reboot.
// Writes are compare-and-swap under flock(1) on the board: a lease changes only from the version its writer read.
import type { NodeSpec } from '../cluster/spec.ts';
import type { Host } from '../ports/host.ts';
import type { LockHolder } from './lock.ts';
import { InputError, type Ports } from './types.ts';

/**
 * Where a board keeps its lease: survives the reboots a run makes, so a second computer cannot slip in.
 * BOARDKUBE_LEASE_FILE in the board's own environment moves it (test boards that are all one machine).
 */
export const LEASE_FILE = '/var/lib/boardkube/lease';
/** A run renews its leases every third of this; a lease not renewed for this long has expired. */
export const LEASE_TTL_SECONDS = 90;

export interface LeaseSettings {
  ttlSeconds?: number;
  /** Nodes whose lease is taken even when another run holds it (--force-unlock NODE). */
  forceUnlock?: readonly string[];
  /** This cluster's progress file: with the computer's name it tells this computer's runs from others'. */
  progress: string;
}

/** What a lease file says (key=value lines). */
export interface Lease {
  node: string;
  cluster: string;
  computer: string;
  progress: string;
  run: string;
  command: string;
  pid: number;
  started: string;
  ttl: number;
  /** Written by the board: its boot id, uptime (s) and clock (epoch s) at the last renewal. */
  boot: string;
  uptime: number;
  renewed: number;
}

/** What the read script prints: the board's clocks now, the file's hash, and the lease (if any). */
export interface LeaseRead {
  now: number;
  boot: string;
  uptime: number;
  hash: string;
  lease?: Lease;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** The file, and h: its sha256, that of nothing when it is missing (the hash of a free board's lease). */
const FILE = [`f=${q(LEASE_FILE)}`, 'f="${BOARDKUBE_LEASE_FILE:-$f}"', 'h() { if [ -e "$f" ]; then sha256sum <"$f"; else sha256sum </dev/null; fi | cut -d" " -f1; }'];
const HASH = 'h';
const CLOCKS = ['echo "boot=$(cat /proc/sys/kernel/random/boot_id)"', 'echo "uptime=$(cut -d. -f1 /proc/uptime)"'];

export function leaseReadScript(): string {
  return ['# boardkube board lease: read', ...FILE, 'echo "now=$(date +%s)"', ...CLOCKS, `echo "hash=$(${HASH})"`, 'echo --', 'cat "$f" 2>/dev/null || true', ''].join('\n');
}

/**
 * Replaces the lease with `content` (plus the board's clocks), or removes it (content null), only if the file
 * still hashes to `expected`. Prints "written HASH", "removed", or "changed" when someone else wrote it meanwhile.
 */
export function leaseWriteScript(expected: string, content: string | null): string {
  return [
    '# boardkube board lease: write',
    'set -eu',
    ...FILE,
    `expected=${q(expected)}`,
    `content=${q(content ?? '')}`,
    `remove=${content === null ? 'yes' : 'no'}`,
    'mkdir -p "$(dirname "$f")"',
    'exec 9>>"$f.lock"',
    'flock -w 10 9',
    `if [ "$(${HASH})" != "$expected" ]; then echo changed; exit 0; fi`,
    'if [ "$remove" = yes ]; then rm -f "$f"; echo removed; exit 0; fi',
    `{ printf '%s\\n' "$content"; ${CLOCKS.join('; ')}; echo "renewed=$(date +%s)"; } >"$f.tmp"`,
    'chmod 644 "$f.tmp"',
    'mv "$f.tmp" "$f"',
    `echo "written $(${HASH})"`,
    '',
  ].join('\n');
}

function fields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export function parseLease(text: string): Lease | undefined {
  const f = fields(text);
  if (!f.run || !f.node) return undefined;
  return {
    node: f.node,
    cluster: f.cluster ?? '',
    computer: f.computer ?? '',
    progress: f.progress ?? '',
    run: f.run,
    command: f.command ?? '',
    pid: Number(f.pid ?? 0),
    started: f.started ?? '',
    ttl: Number(f.ttl ?? LEASE_TTL_SECONDS),
    boot: f.boot ?? '',
    uptime: Number(f.uptime ?? 0),
    renewed: Number(f.renewed ?? 0),
  };
}

export function parseLeaseRead(stdout: string): LeaseRead {
  const cut = stdout.indexOf('\n--\n');
  const head = fields(cut < 0 ? stdout : stdout.slice(0, cut));
  const body = cut < 0 ? '' : stdout.slice(cut + 4);
  if (!head.hash || !head.now) throw new Error(`the board's lease could not be read: ${stdout.slice(0, 200)}`);
  return { now: Number(head.now), boot: head.boot ?? '', uptime: Number(head.uptime ?? 0), hash: head.hash, lease: parseLease(body) };
}

/** Seconds since the lease was last renewed, by the board's clocks (uptime while it has not rebooted). */
export function leaseAge(lease: Lease, r: LeaseRead): number {
  return lease.boot === r.boot ? r.uptime - lease.uptime : r.now - lease.renewed;
}

export function leaseExpired(lease: Lease, r: LeaseRead): boolean {
  return leaseAge(lease, r) > lease.ttl;
}

/** "apply -f cluster.yaml (run 1b2c..., PID 42 on laptop-anna, progress ~/.config/boardkube/homelab.json, since 20:31:02 UTC)" */
export function describeLease(l: Lease): string {
  return `cluster "${l.cluster}" from ${l.computer} (${l.command}, PID ${l.pid}, run ${l.run.slice(0, 8)}, progress ${l.progress}, since ${l.started.slice(11, 19)} UTC)`;
}

/** Another run holds the board: nothing was done on it. */
export class BoardLeasedError extends InputError {
  constructor(readonly node: string, readonly lease: Lease, age: number) {
    const left = Math.max(0, Math.round(lease.ttl - age));
    super(
      `board ${node}`,
      `another run is working on ${node}: ${describeLease(lease)}, its lease renewed ${Math.max(0, Math.round(age))} s ago; nothing was done on ${node}`,
      `wait for that run to end (it frees the board); if that computer is gone, its lease expires in ${left} s; only if you are sure nothing works on ${node}, pass --force-unlock ${node}`,
    );
    this.name = 'BoardLeasedError';
  }
}

/**
 * `inner` with some members replaced; every other member (one added to the port later included) is inner's own,
 * methods bound to it (an adapter's private fields need `this` to be the adapter).
 */
function passThrough<T extends object>(inner: T, replaced: Partial<T>): T {
  return new Proxy(inner, {
    get(target, prop) {
      if (Object.hasOwn(replaced, prop)) return (replaced as Record<PropertyKey, unknown>)[prop];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

type Holding = { node: string; host: Host; hash: string; content: string; lost?: Lease };

/**
 * The leases of one run. `ports` hands flows hosts that take the board's lease before their first command,
 * so no flow knows about leases; `release` frees them all at the run's end.
 */
export class BoardLeases {
  readonly #inner: Ports;
  readonly #holder: LockHolder;
  readonly #cluster: string;
  readonly #s: Required<LeaseSettings>;
  readonly #note: (node: string, line: string) => void;
  readonly #held = new Map<string, Holding>();
  readonly #taking = new Map<string, Promise<void>>();
  readonly #wrapped = new Map<string, Host>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The renewal going on, if any: a release waits for it, or it would write the lease back after the release. */
  #renewing: Promise<void> | undefined;

  constructor(o: { ports: Ports; holder: LockHolder; cluster: string; settings: LeaseSettings; note: (node: string, line: string) => void }) {
    this.#inner = o.ports;
    this.#holder = o.holder;
    this.#cluster = o.cluster;
    this.#s = { ttlSeconds: o.settings.ttlSeconds ?? LEASE_TTL_SECONDS, forceUnlock: o.settings.forceUnlock ?? [], progress: o.settings.progress };
    this.#note = o.note;
    this.#timer = setInterval(() => this.#renewAll(), Math.max(200, (this.#s.ttlSeconds * 1000) / 3));
    this.#timer.unref();
  }

  /** The run's ports: every board's host takes its lease first; everything else is the ports as they are. */
  get ports(): Ports {
    return passThrough(this.#inner, { host: (node: NodeSpec) => this.#host(node) });
  }

  #host(node: NodeSpec): Host {
    const cached = this.#wrapped.get(node.name);
    if (cached) return cached;
    const inner = this.#inner.host(node);
    const take = () => this.#ensure(node.name, inner);
    // Commands and writes wait for the lease; the rest (connecting, reading back, waiting through a reboot,
    // a first login that installs the key the lease needs) passes straight through.
    const host = passThrough(inner, {
      exec: async (...a: Parameters<Host['exec']>) => (await take(), inner.exec(...a)),
      writeFile: async (...a: Parameters<Host['writeFile']>) => (await take(), inner.writeFile(...a)),
      upload: async (...a: Parameters<Host['upload']>) => (await take(), inner.upload(...a)),
    });
    this.#wrapped.set(node.name, host);
    return host;
  }

  #content(node: string): string {
    const h = this.#holder;
    const clean = (s: string) => s.replace(/[\r\n]+/g, ' ');
    return [
      `node=${clean(node)}`,
      `cluster=${clean(this.#cluster)}`,
      `computer=${clean(h.computer)}`,
      `progress=${clean(this.#s.progress)}`,
      `run=${h.runId}`,
      `command=${clean(h.command)}`,
      `pid=${h.pid}`,
      `started=${h.startedAt}`,
      `ttl=${this.#s.ttlSeconds}`,
    ].join('\n');
  }

  async #ensure(node: string, host: Host): Promise<void> {
    const held = this.#held.get(node);
    if (held?.lost) throw this.#lostError(node, held.lost);
    if (held) return;
    let p = this.#taking.get(node);
    if (!p) {
      p = this.#take(node, host).finally(() => this.#taking.delete(node));
      this.#taking.set(node, p);
    }
    return p;
  }

  #lostError(node: string, by: Lease): Error {
    return new Error(`the lease on ${node} was taken over by ${describeLease(by)} (--force-unlock); this run stopped working on ${node}`);
  }

  async #take(node: string, host: Host): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.#read(host);
      const l = r.lease;
      if (l && l.run !== this.#holder.runId && !leaseExpired(l, r)) {
        // This computer's own earlier run on this progress: it is dead, since this run holds the cluster's lock.
        const ours = l.computer === this.#holder.computer && l.progress === this.#s.progress && l.cluster === this.#cluster;
        if (ours) this.#note(node, `took over the lease left by an earlier run on this computer (${l.command}, PID ${l.pid}, since ${l.started.slice(11, 19)} UTC), which has ended`);
        else if (this.#s.forceUnlock.includes(node)) this.#note(node, `--force-unlock ${node}: overriding the lease of ${describeLease(l)}, renewed ${Math.round(leaseAge(l, r))} s ago`);
        else throw new BoardLeasedError(node, l, leaseAge(l, r));
      } else if (this.#s.forceUnlock.includes(node)) {
        this.#note(node, `--force-unlock ${node}: there was no lease in force to override`);
      }
      const content = this.#content(node);
      const result = await this.#write(host, r.hash, content);
      if (result.written) {
        this.#held.set(node, { node, host, hash: result.written, content });
        return;
      }
      // Someone wrote the lease between our read and our write: read again (a few times at most).
      if (attempt >= 3) throw new Error(`the lease on ${node} keeps changing under this run; is another computer starting on it right now?`);
    }
  }

  async #read(host: Host): Promise<LeaseRead> {
    const r = await host.exec(leaseReadScript(), { sudo: true, timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`${host.node}: reading the board's lease failed (exit ${r.code}): ${r.stderr.trim()}`);
    return parseLeaseRead(r.stdout);
  }

  async #write(host: Host, expected: string, content: string | null): Promise<{ written?: string; removed?: boolean; changed?: boolean }> {
    const r = await host.exec(leaseWriteScript(expected, content), { sudo: true, timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`${host.node}: writing the board's lease failed (exit ${r.code}): ${r.stderr.trim()}`);
    const out = r.stdout.trim();
    const m = /^written ([0-9a-f]{64})$/m.exec(out);
    if (m) return { written: m[1] };
    if (out === 'removed') return { removed: true };
    return { changed: true };
  }

  async #renew(h: Holding): Promise<void> {
    if (h.lost) return;
    const result = await this.#write(h.host, h.hash, h.content);
    if (result.written) {
      h.hash = result.written;
      return;
    }
    const now = await this.#read(h.host);
    h.lost = now.lease ?? { ...parseLease(h.content)!, computer: 'someone', command: 'a removal of the lease' };
    this.#note(h.node, `lost the lease: ${describeLease(h.lost)} took it over`);
  }

  /** Renews every lease held; a board that does not answer (rebooting) is tried again next time. */
  #renewAll(): void {
    if (this.#renewing) return;
    this.#renewing = Promise.allSettled([...this.#held.values()].map((h) => this.#renew(h))).then(() => {
      this.#renewing = undefined;
    });
  }

  /** Frees every lease this run holds (a board that does not answer keeps it until it expires). */
  async release(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#taking.values()]);
    await this.#renewing;
    await Promise.allSettled(
      [...this.#held.values()].filter((h) => !h.lost).map((h) => this.#write(h.host, h.hash, null)),
    );
    this.#held.clear();
  }
}

/** The lease settings of a session: BOARDKUBE_LEASE_TTL (seconds) shortens or lengthens the time-to-live. */
export function leaseSettings(progress: string, forceUnlock: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): LeaseSettings {
  let ttlSeconds: number | undefined;
  if (env.BOARDKUBE_LEASE_TTL !== undefined) {
    ttlSeconds = Number(env.BOARDKUBE_LEASE_TTL);
    if (!Number.isFinite(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 86_400) throw new InputError('BOARDKUBE_LEASE_TTL', `"${env.BOARDKUBE_LEASE_TTL}" is not a number of seconds from 1 to 86400`, `e.g. BOARDKUBE_LEASE_TTL=${LEASE_TTL_SECONDS}, or leave it unset`);
  }
  return { progress, forceUnlock, ttlSeconds };
}
