// Step ready: the stage is done when the master's node is Ready (kubelet, runtime and pod network work) and
// CoreDNS runs (pods can resolve Services).
import type { Step, StepContext } from '../../src/engine/types.ts';
import type { ClusterPort, KubeObject } from '../../src/ports/cluster.ts';
import { onMaster } from './common.ts';

export const READY_TIMEOUT_MS = 15 * 60_000;

export function nodeReady(o: KubeObject): boolean {
  const conditions = (o.status as { conditions?: Array<{ type?: string; status?: string }> } | undefined)?.conditions ?? [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

export function deploymentAvailable(o: KubeObject): boolean {
  const s = o.status as { availableReplicas?: number } | undefined;
  return (s?.availableReplicas ?? 0) >= 1;
}

export async function waitNodeReady(ctx: Pick<StepContext, 'signal' | 'progress'>, c: ClusterPort, node: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  ctx.progress({ message: `waiting for node ${node} to be Ready` });
  await c.waitFor('v1', 'Node', node, undefined, nodeReady, { timeoutMs, signal: ctx.signal });
}

export const readyStep: Step = {
  id: 'ready',
  title: 'Wait for the master and CoreDNS',
  explain: 'The master is Ready once its kubelet, the container runtime and the pod network all work; CoreDNS running means pods can find Services by name.',
  nodes: onMaster,
  plan(ctx) {
    return [{ type: 'api', description: `wait until node ${ctx.node?.name} is Ready and the CoreDNS deployment (kube-system/coredns) has a running pod` }];
  },
  async run(ctx) {
    const c = await ctx.ports.cluster();
    await waitNodeReady(ctx, c, ctx.node!.name);
    ctx.progress({ message: 'waiting for CoreDNS' });
    await c.waitFor('apps/v1', 'Deployment', 'coredns', 'kube-system', deploymentAvailable, { timeoutMs: READY_TIMEOUT_MS, signal: ctx.signal });
    ctx.log(`${ctx.node!.name} is Ready and CoreDNS runs`);
    return {};
  },
  async verify(ctx) {
    const c = await ctx.ports.cluster();
    const node = await c.get('v1', 'Node', ctx.node!.name);
    const dns = await c.get('apps/v1', 'Deployment', 'coredns', 'kube-system');
    return !!node && nodeReady(node) && !!dns && deploymentAvailable(dns);
  },
};
