// Step repository (source=arch only): the distribution's packages are used only when the master's repository
// carries the pinned minor. Arch Linux ARM lagged two minors behind in 2025, so this is refused more often than
// not, before anything is installed, with the versions found and the way out (source=upstream).
import { controlPlaneNode } from '../../src/cluster/spec.ts';
import { InputError, type Step } from '../../src/engine/types.ts';
import { boardOf, probe } from '../configure/common.ts';
import { parseKeyValues } from '../configure/scripts.ts';
import { archNames } from './onboard.ts';
import { installedByHand, packagesOptions, runtimeOf } from './options.ts';
import { repositoryProbe } from './scripts.ts';

/** Problems with the repository's versions for the pinned minor (empty: they fit). */
export function judgeRepository(versions: Record<string, string>, names: string[], minor: string): string[] {
  const kube = ['kubeadm', 'kubelet', 'kubectl', 'cri-o'];
  return names.flatMap((n) => {
    const v = versions[n];
    if (!v) return [`${n} is not in the repository`];
    if (kube.includes(n) && !v.startsWith(`${minor}.`)) return [`${n} is ${v}, not ${minor}`];
    return [];
  });
}

export const repositoryStep: Step = {
  id: 'repository',
  title: "Check the distribution's versions",
  explain: "With source=arch, the distribution's own packages are installed, but only when the repository carries the cluster's Kubernetes minor.",
  nodes: (c) => [controlPlaneNode(c)],
  skip: (ctx) => (packagesOptions(ctx).source.kind === 'arch' ? undefined : (installedByHand(ctx) ?? 'the packages are made by boardkube (source=upstream or bundle)')),
  plan: (ctx) => [{ type: 'command', description: 'read the repository\'s versions (pacman -Si, changes nothing)', content: repositoryProbe(archNames(runtimeOf(ctx.cluster))) }],
  async run(ctx) {
    const { host } = boardOf(ctx);
    const names = archNames(runtimeOf(ctx.cluster));
    const versions = parseKeyValues(await probe(host, repositoryProbe(names), ctx.signal));
    const problems = judgeRepository(versions, names, ctx.release.minor);
    if (problems.length) {
      throw new InputError('--set source', `the repository does not carry Kubernetes ${ctx.release.minor}: ${problems.join('; ')}. Nothing was installed`, 'use source=upstream (the default): boardkube packages the pinned version itself');
    }
    return { versions };
  },
  async verify(ctx) {
    const { host } = boardOf(ctx);
    const names = archNames(runtimeOf(ctx.cluster));
    return judgeRepository(parseKeyValues(await probe(host, repositoryProbe(names), ctx.signal)), names, ctx.release.minor).length === 0;
  },
};
