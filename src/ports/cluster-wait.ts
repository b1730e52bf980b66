// Waiting for an object to reach a state, as both Cluster ports do it: read it again and again until a
// check accepts it, or fail with ClusterError('timeout') once the time is up.
import { ClusterError, type KubeObject } from './cluster.ts';

/** The object waited for, as the timeout message names it. */
export interface WaitTarget {
  kind: string;
  name: string;
  namespace: string | undefined;
  /** API server URL. */
  server: string;
  /** The fix the timeout error suggests, if any. */
  fix?: string;
}

export interface PollOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Waits between two reads; gets the time left until the deadline (ms, more than 0). */
  pause: (leftMs: number) => Promise<void>;
}

/** Reads the object until `ok` accepts it and returns it; throws ClusterError('timeout') after opts.timeoutMs. */
export async function pollUntil(read: () => Promise<KubeObject | null>, ok: (o: KubeObject) => boolean, target: WaitTarget, opts: PollOptions): Promise<KubeObject> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    opts.signal?.throwIfAborted();
    const last = await read();
    if (last && ok(last)) return last;
    const left = deadline - Date.now();
    if (left <= 0) {
      const what = `${target.kind} ${target.namespace ? `${target.namespace}/` : ''}${target.name}`;
      throw new ClusterError('timeout', `timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${what} on ${target.server}${last ? '' : ' (it does not exist)'}`, target.fix);
    }
    await opts.pause(left);
  }
}
