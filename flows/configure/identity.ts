// The board's name, the names of all boards, and the time zone.
import type { ClusterSpec, NodeSpec } from '../../src/cluster/spec.ts';
import type { Step } from '../../src/engine/types.ts';
import type { Host } from '../../src/ports/host.ts';
import { boardOf, probe } from './common.ts';
import { hostsBlock, hostsScript, identityProbe, judgeIdentity, parseSections, setHostnameScript, timezoneScript, type ScriptOptions, type Verdict } from './scripts.ts';

/** Reads hostname, /etc/localtime and /etc/hosts and compares them with the cluster file. */
export async function checkIdentity(host: Host, cluster: ClusterSpec, node: NodeSpec, opts: ScriptOptions & { live?: boolean; signal?: AbortSignal } = {}): Promise<Verdict> {
  const sections = parseSections(await probe(host, identityProbe(opts), opts.signal));
  return judgeIdentity(sections, { name: node.name, timezone: cluster.timezone, block: hostsBlock(cluster) }, { live: opts.live ?? true });
}

export const identityStep: Step = {
  id: 'identity',
  title: 'Name the board, list every board in /etc/hosts, set the time zone',
  explain:
    'Every board gets the name from the cluster file (Kubernetes calls its nodes by their hostnames), and every board learns the addresses of all the others, so they find each other without a DNS server.',
  nodes: (c) => c.nodes,
  plan: (ctx) => [
    { type: 'command', description: `set the hostname to ${ctx.node!.name}`, content: setHostnameScript(ctx.node!.name), sudo: true },
    { type: 'command', description: `list every board in /etc/hosts (a block marked "boardkube"; other lines stay)`, content: hostsScript(ctx.cluster), sudo: true },
    { type: 'command', description: `set the time zone to ${ctx.cluster.timezone}`, content: timezoneScript(ctx.cluster.timezone), sudo: true },
  ],
  async verify(ctx) {
    const { node, host } = boardOf(ctx);
    const v = await checkIdentity(host, ctx.cluster, node, { signal: ctx.signal });
    for (const p of v.problems) ctx.log(p);
    return v.ok;
  },
};
