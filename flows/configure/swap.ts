// Swap off, now and after every boot: the kubelet refuses to start on a node with swap (failSwapOn), and
// zram-generator would bring a zram swap back at the next boot.
import type { Step } from '../../src/engine/types.ts';
import type { Host } from '../../src/ports/host.ts';
import { boardOf, probe } from './common.ts';
import { fstabSwapScript, parseSwap, SWAPOFF_SCRIPT, swapProbe, ZRAM_CONF, ZRAM_CONF_PATH, type ScriptOptions, type Verdict } from './scripts.ts';

export async function checkSwap(host: Host, opts: ScriptOptions & { signal?: AbortSignal } = {}): Promise<Verdict> {
  const s = parseSwap(await probe(host, swapProbe(opts), opts.signal));
  const problems: string[] = [];
  if (s.active.length) problems.push(`${host.node} still swaps to ${s.active.join(', ')}`);
  if (s.fstab.length) problems.push(`/etc/fstab on ${host.node} still turns on swap at boot: ${s.fstab.join(', ')}`);
  return { ok: problems.length === 0, problems, notes: [] };
}

export const swapStep: Step = {
  id: 'swap-off',
  title: 'Turn swap off',
  explain:
    'The kubelet will not start on a board that swaps: memory limits of pods mean nothing when the kernel can move pages to disk. Swap goes off now, its lines in /etc/fstab are commented out, and zram-generator gets a config without devices.',
  nodes: (c) => c.nodes,
  plan: () => [
    { type: 'command', description: 'turn off every swap device now', content: SWAPOFF_SCRIPT, sudo: true },
    { type: 'command', description: 'comment out the swap lines of /etc/fstab', content: fstabSwapScript(), sudo: true },
    { type: 'file', description: `keep zram swap from coming back at boot (${ZRAM_CONF_PATH} without devices)`, path: ZRAM_CONF_PATH, content: ZRAM_CONF, mode: 0o644, sudo: true },
  ],
  async verify(ctx) {
    const { host } = boardOf(ctx);
    const v = await checkSwap(host, { signal: ctx.signal });
    for (const p of v.problems) ctx.log(p);
    return v.ok;
  },
};
