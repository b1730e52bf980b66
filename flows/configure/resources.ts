// Enough disk and memory, checked before anything is downloaded: a card too small fails here in a second, not
// half-way through a 40-minute upgrade.
import type { Step } from '../../src/engine/types.ts';
import type { Host } from '../../src/ports/host.ts';
import { boardOf, probe } from './common.ts';
import { judgeResources, parseResources, RESOURCES_PROBE, type Resources, type Verdict } from './scripts.ts';

export async function checkResources(host: Host, role: 'control-plane' | 'worker', signal?: AbortSignal): Promise<Resources & Verdict> {
  const r = parseResources(await probe(host, RESOURCES_PROBE, signal));
  return { ...r, ...judgeResources(r, role, host.node) };
}

export const resourcesStep: Step = {
  id: 'resources',
  title: 'Check free disk and memory',
  explain:
    'Kubernetes needs room: at least 4 GiB free on the card for the upgrade, the new kernel and container images, and on the control plane the 2 CPUs and 1700 MiB of memory kubeadm insists on.',
  nodes: (c) => c.nodes,
  plan: () => [{ type: 'command', description: 'read free disk space on /, total memory and CPU count', content: RESOURCES_PROBE }],
  async run(ctx) {
    const { node, host } = boardOf(ctx);
    const r = await checkResources(host, node.role, ctx.signal);
    ctx.log(`${(r.diskFreeMiB / 1024).toFixed(1)} GiB free on /, ${r.memoryMiB} MiB memory, ${r.cpus} CPUs`);
    for (const n of r.notes) ctx.log(`note: ${n}`);
    if (!r.ok) throw new Error(r.problems.join('\n'));
    return { diskFreeMiB: r.diskFreeMiB, memoryMiB: r.memoryMiB, cpus: r.cpus };
  },
  async verify(ctx) {
    const { node, host } = boardOf(ctx);
    return (await checkResources(host, node.role, ctx.signal)).ok;
  },
};
