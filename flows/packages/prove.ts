// Step prove: on every board, the versions the tools report equal the pin, the runtime answers through its CRI
// socket and has Kubernetes' minor, pacman owns our packages and IgnorePkg holds them. Also the check on resume.
import { RUNTIME_FACTS } from '../../src/catalog/packages.ts';
import { runtimeOf } from './options.ts';
import type { Step, StepContext } from '../../src/engine/types.ts';
import { boardOf, probe } from '../configure/common.ts';
import { parseKeyValues } from '../configure/scripts.ts';
import { boardSet, expected } from './onboard.ts';
import { judgeProof, parseProof, proofProbe, repositoryProbe, type Proof } from './scripts.ts';

function script(ctx: StepContext): string {
  const f = RUNTIME_FACTS[runtimeOf(ctx.cluster)];
  return proofProbe(boardSet(ctx).names, f.service, f.criSocket);
}

async function check(ctx: StepContext): Promise<{ proof: Proof; problems: string[] }> {
  const { host, node } = boardOf(ctx);
  const set = boardSet(ctx);
  const repo = set.fromRepository ? parseKeyValues(await probe(host, repositoryProbe(set.names), ctx.signal)) : undefined;
  const proof = parseProof(await probe(host, script(ctx), ctx.signal, { sudo: true }), set.names);
  return { proof, problems: judgeProof(proof, expected(ctx, repo), node.name) };
}

export const proveStep: Step = {
  id: 'prove',
  title: 'Prove the pin on every board',
  explain: 'Asks every board what it runs: kubeadm and kubelet at the pinned version, the runtime answering through its socket at Kubernetes\' minor, pacman owning the packages, IgnorePkg holding them.',
  nodes: (c) => c.nodes,
  plan: (ctx) => [{ type: 'command', description: 'read the versions, the runtime\'s answer, the packages and the pins (changes nothing)', content: script(ctx), sudo: true }],
  async run(ctx) {
    const { proof, problems } = await check(ctx);
    if (problems.length) throw new Error(problems.join('\n'));
    ctx.log(`kubeadm ${proof.kubeadm}, ${proof.kubelet}, ${runtimeOf(ctx.cluster)} ${proof.runtime}, pinned: ${proof.ignored.join(' ')}`);
    return { kubeadm: proof.kubeadm, kubelet: proof.kubelet, runtime: proof.runtime, packages: proof.packages };
  },
  async verify(ctx) {
    const { problems } = await check(ctx);
    for (const p of problems) ctx.log(p);
    return problems.length === 0;
  },
};
