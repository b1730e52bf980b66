// What goes onto every board for the chosen source: the package names (also what IgnorePkg pins), the
// dependencies from the repository, the distribution packages ours replace, and what the proof expects.
import { RUNTIME_FACTS } from '../../src/catalog/packages.ts';
import { runtimeOf } from './options.ts';
import type { StepContext } from '../../src/engine/types.ts';
import { planBuild } from './components.ts';
import { packagesOptions } from './options.ts';
import { packageFile } from './pkgbuild.ts';
import type { Expected } from './scripts.ts';

export interface BoardSet {
  names: string[];
  /** Our package files (upstream and bundle sources). */
  files: string[];
  deps: string[];
  replaces: string[];
  fromRepository: boolean;
}

/** The distribution's names for the same components (source=arch). */
export function archNames(runtime: 'cri-o' | 'containerd'): string[] {
  return ['kubeadm', 'kubelet', 'kubectl', 'crictl', ...(runtime === 'cri-o' ? ['cri-o'] : ['containerd', 'runc'])];
}

export function boardSet(ctx: StepContext): BoardSet {
  const runtime = runtimeOf(ctx.cluster);
  const kind = packagesOptions(ctx).source.kind;
  if (kind === 'arch') return { names: archNames(runtime), files: [], deps: [], replaces: [], fromRepository: true };
  // Installed by hand: no package of ours to find, pin or replace; the proof checks the versions the tools report.
  if (kind === 'installed') return { names: [], files: [], deps: [], replaces: [], fromRepository: false };
  const build = planBuild(ctx.release, runtime);
  const names = build.packages.map((p) => p.name);
  const deps = [...new Set(build.packages.flatMap((p) => p.depends))].filter((d) => !names.includes(d));
  const replaces = [...new Set(build.packages.flatMap((p) => p.conflicts))].filter((d) => !names.includes(d));
  return { names, files: build.packages.map(packageFile), deps, replaces, fromRepository: false };
}

/** What the proof expects (for source=arch the versions are the repository's, read on the board). */
export function expected(ctx: StepContext, repository?: Record<string, string>): Expected {
  const runtime = runtimeOf(ctx.cluster);
  const facts = RUNTIME_FACTS[runtime];
  const build = planBuild(ctx.release, runtime);
  const base = {
    runtimeName: runtime,
    service: facts.service,
    runtimePrefix: runtime === 'cri-o' ? `${ctx.release.minor}.` : build.software.containerd,
  };
  if (packagesOptions(ctx).source.kind === 'installed') {
    // Whatever containerd 2.x the user installed (1.x is unsupported from Kubernetes 1.36); CRI-O of the same minor.
    return { ...base, runtimePrefix: runtime === 'cri-o' ? base.runtimePrefix : '2.', kubernetes: ctx.release.patch, packages: {} };
  }
  if (repository) {
    const kubeadm = (repository.kubeadm ?? '').replace(/-[^-]+$/, '');
    return { ...base, kubernetes: kubeadm, packages: repository };
  }
  return { ...base, kubernetes: ctx.release.patch, packages: Object.fromEntries(build.packages.map((p) => [p.name, `${p.version}-${p.rel}`])) };
}
