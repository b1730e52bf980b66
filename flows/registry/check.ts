// Step check: the input the other steps rely on, before any of them touches a board, the cluster or a file: the
// password file absent or the one this stage wrote, the cluster CA readable on the master, the NodePort free in the
// cluster (or the registry's own). Each is bad input (exit 2) naming what is wrong and the fix.
import { InputError, type Step, type StepContext } from '../../src/engine/types.ts';
import type { KubeObject } from '../../src/ports/cluster.ts';
import { master, optionsOf } from './common.ts';
import { foreignPasswordFile } from './credentials.ts';

/** Prints each of the CA's files that root cannot read on the master (nothing when both can be). */
export function caReadableScript(pkiDir: string): string {
  return `for f in ca.crt ca.key; do [ -r '${pkiDir}'/"$f" ] || echo '${pkiDir}'/"$f"; done\n`;
}

type ServiceSpec = { ports?: Array<{ nodePort?: number }> };
const nodePorts = (s: KubeObject) => ((s.spec as ServiceSpec | undefined)?.ports ?? []).flatMap((p) => (p.nodePort ? [p.nodePort] : []));

/** The first NodePort from 30500 up that no Service uses, to suggest. */
function freePort(services: KubeObject[]): number {
  const used = new Set(services.flatMap(nodePorts));
  let p = 30500;
  while (used.has(p) && p < 32767) p++;
  return p;
}

async function firstProblem(ctx: StepContext): Promise<InputError | undefined> {
  const o = optionsOf(ctx);
  const foreign = foreignPasswordFile(ctx);
  if (foreign) return foreign;
  const host = master(ctx);
  const r = await host.exec(caReadableScript(o.pkiDir), { sudo: true, signal: ctx.signal, timeoutMs: 30_000 });
  const missing = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  if (r.code !== 0 || missing.length > 0) {
    return new InputError('cluster CA', `cannot read ${missing.join(' and ') || `${o.pkiDir}/ca.crt`} on ${host.node}, the master the cluster file names`, `the registry's certificate is signed with the cluster CA on the master: run the control-plane stage first, or check that ${host.node} is the node kubeadm initialised (its certificatesDir ${o.pkiDir})`);
  }
  const services = await (await ctx.ports.cluster()).list('v1', 'Service');
  const taken = services.find((s) => nodePorts(s).includes(o.port) && !(s.metadata.namespace === o.namespace && s.metadata.name === 'registry'));
  if (taken) {
    return new InputError('port', `NodePort ${o.port} is taken by Service ${taken.metadata.namespace}/${taken.metadata.name} in the cluster`, `choose a free one, e.g. --set port=${freePort(services)}`);
  }
  return undefined;
}

export const checkStep: Step = {
  id: 'check',
  title: 'Check the password file, the cluster CA and the port',
  explain: 'Before anything is written: the password file must be new or the one this stage made, the master must hold the cluster CA that signs the certificate, and no other Service may use the port.',
  plan(ctx) {
    const o = optionsOf(ctx);
    return [
      { type: 'local', description: `${o.passwordFile}: absent, or the file this stage wrote`, path: o.passwordFile },
      { type: 'command', description: `the cluster CA (${o.pkiDir}/ca.crt and ca.key) can be read on ${master(ctx).node}`, content: caReadableScript(o.pkiDir), sudo: true },
      { type: 'api', description: `no other Service in the cluster uses NodePort ${o.port}` },
    ];
  },
  async run(ctx) {
    const problem = await firstProblem(ctx);
    if (problem) throw problem;
    return {};
  },
  async verify(ctx) {
    return (await firstProblem(ctx).catch(() => new InputError('check', 'could not check'))) === undefined;
  },
};
