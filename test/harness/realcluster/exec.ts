// Running commands for the harness: a failing command throws with its output, and processes are ended by PID.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { alive } from './machine.ts';

export interface Output {
  stdout: string;
  stderr: string;
}

/** Runs FILE ARGS; rejects with the command line, exit status and output when it fails. */
export function run(file: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${[file, ...args].join(' ')} failed (${err.code ?? err.signal ?? err.message}):\n${stdout}${stderr}`));
        } else resolve({ stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** `ip ARGS` (iproute2). */
export function ip(...args: string[]): Promise<Output> {
  return run('ip', args);
}

/** The namespace identity of a process ("net:[4026532]"), or undefined when it is gone. */
export function nsOf(pid: number | string, kind: 'mnt' | 'net'): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** Every process whose namespace of this kind is `ns` (as nsOf prints it). */
export function pidsInNamespace(kind: 'mnt' | 'net', ns: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid && nsOf(e, kind) === ns)
    .map(Number);
}

/** SIGKILLs the processes and waits until they are gone; returns those still alive after the wait. */
export async function killAndWait(pids: number[], waitMs = 10_000): Promise<number[]> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + waitMs;
  let left = pids.filter((p) => alive(p) && !isZombie(p));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter((p) => alive(p) && !isZombie(p));
  }
  return left;
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ')'));
  } catch {
    return true;
  }
}

/** Thrown by a waitFor check: stop waiting, this will not get better. */
export class GiveUp extends Error {}

/** Polls `check` until it returns a value (not undefined/false), or throws `what` after timeoutMs. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
