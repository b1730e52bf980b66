// One run at a time per cluster on this computer. A run that changes anything holds an advisory lock (flock(2))
// on STATE_DIR/NAME.lock; the kernel drops it when the holder dies, kill -9 included, so it can never go stale.
// Node has no flock of its own: util-linux's flock(1) takes it and keeps it in a small child process, which
// exits (dropping the lock) when its stdin, a pipe from this process, reaches end of file: when this process
// releases it, exits, or is killed. Who holds the lock is written beside it (NAME.lock.holder), for the refusal
// message, `status` and the wizard; that note is only believed while its process lives.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InputError } from './types.ts';

export interface LockHolder {
  /** What runs, as typed: "boardkube apply -f cluster.yaml --stage configure", "boardkube (wizard)". */
  command: string;
  pid: number;
  /** ISO time the lock was taken. */
  startedAt: string;
  computer: string;
  /** Names this run in the boards' leases. */
  runId: string;
}

export interface ClusterLock {
  readonly holder: LockHolder;
  /** Releases the lock (idempotent). */
  release(): void;
}

export function lockPath(stateDir: string, cluster: string): string {
  return join(stateDir, `${cluster}.lock`);
}

function holderPath(stateDir: string, cluster: string): string {
  return `${lockPath(stateDir, cluster)}.holder`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the kernel lists an exclusive flock on the lock file (/proc/locks: "FLOCK ADVISORY WRITE PID MAJ:MIN:INODE"):
 * a look that takes nothing, so it can never get in a run's way. Undefined where /proc/locks cannot be read.
 */
function lockedNow(path: string): boolean | undefined {
  let text: string;
  let ino: number;
  try {
    ino = statSync(path).ino;
    text = readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  return text.split('\n').some((l) => /\bFLOCK\s+ADVISORY\s+WRITE\b/.test(l) && l.includes(`:${ino} `));
}

/**
 * Who holds the cluster's lock, from the note beside it; undefined when nobody runs (a note left by a killed run,
 * even one whose PID was reused since, is not believed: the kernel must show the lock held). Reads only, never
 * blocks: for status, plan and the wizard.
 */
export function lockHolder(stateDir: string, cluster: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(holderPath(stateDir, cluster), 'utf8')) as LockHolder;
    if (typeof h.pid !== 'number' || !alive(h.pid)) return undefined;
    return lockedNow(lockPath(stateDir, cluster)) === false ? undefined : h;
  } catch {
    return undefined;
  }
}

/** "apply -f cluster.yaml (PID 4242 on laptop, since 20:31:02 UTC, 3 min ago)" */
export function describeHolder(h: LockHolder, now = Date.now()): string {
  const since = new Date(h.startedAt);
  const ago = Math.max(0, Math.round((now - since.getTime()) / 1000));
  const agoText = ago < 90 ? `${ago} s ago` : `${Math.round(ago / 60)} min ago`;
  return `${h.command} (PID ${h.pid} on ${h.computer}, since ${since.toISOString().slice(11, 19)} UTC, ${agoText})`;
}

/** Another run holds the cluster: exit 2, with who and what to do. */
export class ClusterBusyError extends InputError {
  constructor(readonly cluster: string, readonly holder: LockHolder | undefined, readonly file: string) {
    super(
      'cluster',
      `another run is working on "${cluster}": ${holder ? describeHolder(holder) : 'a process whose details are not readable'}; nothing was started`,
      `wait for it to end (add --wait to start as soon as it does), or watch its progress with \`boardkube status -f ${file}\``,
    );
    this.name = 'ClusterBusyError';
  }
}

export interface LockOptions {
  /** Shown to whoever is refused. */
  command: string;
  /** The cluster file, for the refusal's hint. */
  file?: string;
  /** Wait for the holder to end instead of refusing. */
  wait?: boolean;
  /** Called once when waiting starts, with the holder. */
  onWait?: (holder: LockHolder | undefined) => void;
  signal?: AbortSignal;
}

/** What flock(1) runs once it holds the lock: say so, then live until stdin ends. */
const HOLD = ['sh', '-c', 'echo locked; exec cat >/dev/null'];
/** flock's exit code when the lock is taken (-n) or the wait timed out (-w). */
const BUSY = 75;

/** flock -x on `path`, giving up after `seconds` (exit BUSY), or waiting as long as it takes. */
function startFlock(path: string, seconds?: number): ChildProcess {
  const args = ['-x', '-E', String(BUSY), ...(seconds === undefined ? [] : ['-w', String(seconds)]), path, ...HOLD];
  return spawn('flock', args, { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Resolves true once flock says "locked", false when it exits busy; rejects on anything else. */
function held(child: ChildProcess, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let err = '';
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) {
        done();
        resolve(true);
      }
    });
    child.once('error', (e) => {
      done();
      reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new Error('flock (util-linux) is not installed: boardkube needs it to keep two runs off one cluster (install util-linux)') : e);
    });
    child.once('exit', (code, sig) => {
      done();
      if (code === BUSY) resolve(false);
      else if (signal?.aborted) reject(new InputError('--wait', 'interrupted while waiting for the other run; nothing was started'));
      else reject(new Error(`flock exited (${code ?? sig}) without taking the lock${err ? `: ${err.trim()}` : ''}`));
    });
  });
}

/**
 * Takes the cluster's lock for a run that changes things, before its progress is read. Refuses at once
 * (ClusterBusyError) when another run holds it, or with `wait` waits for that run to end.
 */
export async function lockCluster(stateDir: string, cluster: string, o: LockOptions): Promise<ClusterLock> {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = lockPath(stateDir, cluster);
  writeFileSync(path, '', { flag: 'a', mode: 0o600 });
  // A short grace: a holder killed a moment ago may still be closing (its flock child sees the pipe end).
  let child = startFlock(path, 0.3);
  if (!(await held(child, o.signal))) {
    const holder = await waitForNote(stateDir, cluster);
    if (!o.wait) throw new ClusterBusyError(cluster, holder, o.file ?? `${cluster}.yaml`);
    o.onWait?.(holder);
    child = startFlock(path);
    if (!(await held(child, o.signal))) throw new Error('flock gave up waiting for the lock');
  }
  const holder: LockHolder = { command: o.command, pid: process.pid, startedAt: new Date().toISOString(), computer: hostname(), runId: randomUUID() };
  const note = holderPath(stateDir, cluster);
  const tmp = `${note}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  renameSync(tmp, note);
  // The lock must not keep this process alive, and this process must not die with it silently.
  let released = false;
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr] as Array<{ unref?: () => void } | null>) s?.unref?.();
  child.once('exit', () => {
    if (!released) process.stderr.write(`boardkube: the lock on "${cluster}" was lost (its flock process ended); another run may start now\n`);
  });
  return {
    holder,
    release() {
      if (released) return;
      released = true;
      // The note goes first: once the lock is free a new holder writes its own.
      rmSync(note, { force: true });
      // End of file on its stdin: the holding child exits and the kernel drops the lock.
      child.stdin?.destroy();
    },
  };
}

/** The holder's note, given a moment to appear (a run that has just taken the lock writes it right after). */
async function waitForNote(stateDir: string, cluster: string): Promise<LockHolder | undefined> {
  for (let i = 0; i < 20; i++) {
    const h = lockHolder(stateDir, cluster);
    if (h) return h;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}
