// Step trust: every node trusts the cluster CA for the registry's HOST:PORT, in the place its runtime looks,
// and in the board's system trust for its own tools.
import { runtimeOf } from '../packages/options.ts';
import type { Step } from '../../src/engine/types.ts';
import { performActions } from '../../src/engine/actions.ts';
import { probe } from '../configure/common.ts';
import { clusterCa, optionsOf } from './common.ts';
import { anchorPath, runtimeCaPath, trustActions } from './trust-files.ts';

const CA_LATER = '(the cluster CA: ';

export const trustStep: Step = {
  id: 'trust',
  title: 'Trust the cluster CA on every node',
  explain:
    'A runtime pulls only from registries whose certificate it can check. Each node gets the cluster CA in the folder its runtime (CRI-O or containerd) reads for exactly this address and port, and in the system trust for curl and friends.',
  nodes: (cluster) => cluster.nodes,
  async plan(ctx) {
    // Before the control plane exists (a plan made ahead), the CA cannot be read yet: say where it will come from.
    const ca = await clusterCa(ctx).catch(() => `${CA_LATER}${optionsOf(ctx).pkiDir}/ca.crt on the master)\n`);
    return trustActions(runtimeOf(ctx.cluster), optionsOf(ctx).hostPort, ca, ctx.cluster.name);
  },
  async run(ctx, actions) {
    if (actions.some((a) => a.content?.startsWith(CA_LATER))) await clusterCa(ctx);
    return performActions(ctx, actions);
  },
  async verify(ctx) {
    const o = optionsOf(ctx);
    const ca = (await clusterCa(ctx)).trim();
    const files = [runtimeCaPath(runtimeOf(ctx.cluster), o.hostPort), anchorPath(ctx.cluster.name)];
    const host = ctx.ports.host(ctx.node!);
    for (const f of files) {
      const got = await probe(host, `cat '${f}' 2>/dev/null || true`, ctx.signal);
      if (got.trim() !== ca) return false;
    }
    return true;
  },
};
