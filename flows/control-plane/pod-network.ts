// Step pod-network: flannel, generated from the cluster file (pod subnet, backend) and the catalogue's flannel
// release, applied server-side through the Cluster port. Without a pod network no node becomes Ready.
import { stringify } from 'yaml';
import { flannelImages } from '../../src/catalog/images.ts';
import type { Step, StepContext } from '../../src/engine/types.ts';
import { contains } from '../readonly/apply-rbac.ts';
import { onMaster } from './common.ts';
import { FLANNEL_NAMESPACE, flannelObjects } from './flannel.ts';
import { podNetworkOf } from './settings.ts';

export function podNetworkObjects(ctx: Pick<StepContext, 'cluster' | 'release'>) {
  return flannelObjects({ podSubnet: ctx.cluster.network.podSubnet, backend: podNetworkOf(ctx.cluster), images: flannelImages(ctx.release) });
}

export const podNetworkStep: Step = {
  id: 'pod-network',
  title: 'Install the pod network (flannel)',
  explain:
    'Pods on different boards reach each other through flannel: every board gets a slice of the pod subnet, and packets between boards travel in VXLAN (works on any network) or, with host-gw, as plain routed packets on one flat LAN (faster, no tunnel).',
  nodes: onMaster,
  plan(ctx) {
    const objects = podNetworkObjects(ctx);
    return [
      {
        type: 'manifest',
        description: `apply flannel ${ctx.release.flannel} (server-side): namespace ${FLANNEL_NAMESPACE}, pod network ${ctx.cluster.network.podSubnet}, backend ${podNetworkOf(ctx.cluster)}`,
        content: objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n'),
      },
    ];
  },
  async verify(ctx) {
    const c = await ctx.ports.cluster();
    for (const want of podNetworkObjects(ctx)) {
      const got = await c.get(want.apiVersion, want.kind, want.metadata.name, want.metadata.namespace);
      const { metadata: _m, apiVersion: _a, kind: _k, ...rest } = want;
      if (!got || !contains(got, rest)) return false;
    }
    return true;
  },
};
