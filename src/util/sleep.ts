/** Waits ms milliseconds; an abort ends the wait at once with `aborted()` (default: the signal's reason). */
export function sleep(ms: number, signal?: AbortSignal, aborted: () => Error = () => (signal?.reason as Error) ?? new Error('cancelled')): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(aborted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
