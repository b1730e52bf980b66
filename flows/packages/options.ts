// The packages stage's options and what every step derives from them: where the packages come from, the
// catalogue's versions for the cluster file's release and runtime, and the folders on this computer and the boards.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { nodeSoftware } from '../../src/catalog/packages.ts';
import { findRelease } from '../../src/catalog/versions.ts';
import { DEFAULT_RUNTIME, type ContainerRuntime } from '../../src/catalog/runtimes.ts';
import type { ClusterSpec } from '../../src/cluster/spec.ts';
import { InputError, type StageOption, type StepContext } from '../../src/engine/types.ts';
import type { Workbench } from '../../src/ports/workbench.ts';
import { planBuild, type Build } from './components.ts';

/** installed: kubeadm, kubelet, kubectl and the runtime were put on the boards by hand; the stage only proves them. */
export type Source = { kind: 'upstream' } | { kind: 'arch' } | { kind: 'bundle'; dir: string } | { kind: 'installed' };

export interface PackagesOptions {
  source: Source;
  /** The ordinary user makepkg runs as when boardkube runs as root. */
  buildUser?: string;
}

export const PACKAGES_OPTIONS: StageOption[] = [
  {
    name: 'source',
    description: 'upstream: dl.k8s.io and the runtime\'s releases, packaged with makepkg; arch: the distribution\'s packages, only when they carry the pinned minor; bundle=DIR: a folder of downloads made earlier (no internet needed); installed: you installed kubeadm, kubelet, kubectl and the runtime yourself (and configured the runtime), the stage only proves the versions and that the runtime answers',
    default: 'upstream',
  },
  { name: 'build-user', description: 'The ordinary user makepkg runs as when boardkube runs as root (makepkg refuses root); default: $SUDO_USER, else nobody' },
];

// The engine refuses names the stage does not declare (PACKAGES_OPTIONS) before this is called.
export function parsePackagesOptions(raw: Record<string, unknown>, cluster: ClusterSpec): PackagesOptions {
  const text = raw.source === undefined ? 'upstream' : String(raw.source).trim();
  let source: Source;
  if (text === 'upstream' || text === 'arch' || text === 'installed') source = { kind: text };
  else if (text.startsWith('bundle=')) {
    const dir = resolve(text.slice('bundle='.length));
    const isDir = (() => {
      try {
        return statSync(dir).isDirectory();
      } catch {
        return false;
      }
    })();
    if (text === 'bundle=' || !isDir) throw new InputError('--set source', `${dir} is not a folder`, 'name the folder an earlier run downloaded into (STATE_DIR/packages/downloads/...), e.g. source=bundle=/media/usb/k8s-v1.37.2-cri-o');
    source = { kind: 'bundle', dir };
  } else throw new InputError('--set source', `"${text}" is not a source`, 'use upstream, arch, bundle=DIR or installed');
  const release = findRelease(cluster.kubernetesVersion);
  if (!release) throw new InputError('kubernetesVersion', `${cluster.kubernetesVersion} is not in the version catalogue`, 'use a version the catalogue lists');
  const sw = nodeSoftware(release, runtimeOf(cluster));
  if (!sw.ok) throw new InputError('kubernetes.runtime', sw.problem, sw.fix);
  const user = typeof raw['build-user'] === 'string' && raw['build-user'].trim() ? raw['build-user'].trim() : undefined;
  if (user !== undefined && !/^[a-z_][a-z0-9_-]*\$?$/.test(user)) throw new InputError('--set build-user', `"${user}" is not a user name`, 'name an ordinary user of this computer, e.g. build-user=alice');
  return user ? { source, buildUser: user } : { source };
}

/** Why a step that puts packages on the boards does nothing with source=installed; undefined otherwise. */
export function installedByHand(ctx: StepContext): string | undefined {
  return packagesOptions(ctx).source.kind === 'installed' ? 'source=installed: kubeadm, kubelet, kubectl and the runtime were installed by hand; the prove step checks them' : undefined;
}

export function packagesOptions(ctx: StepContext): PackagesOptions {
  const o = ctx.options as Partial<PackagesOptions>;
  return o.source && typeof o.source === 'object' ? (o as PackagesOptions) : parsePackagesOptions(ctx.options, ctx.cluster);
}

/** The container runtime the boards run (cri-o unless the cluster file says otherwise). */
export function runtimeOf(cluster: Pick<ClusterSpec, 'kubernetes'>): ContainerRuntime {
  return cluster.kubernetes?.runtime ?? DEFAULT_RUNTIME;
}

export function workbenchOf(ctx: StepContext): Workbench {
  if (!ctx.ports.workbench) throw new Error('this run has no workbench on this computer to download and build packages in');
  return ctx.ports.workbench;
}

/** The folder name of one release + runtime: the downloads of a bundle and the builds are kept apart by it. */
export function setName(ctx: StepContext): string {
  return `k8s-v${ctx.release.patch}-${runtimeOf(ctx.cluster)}`;
}

/** Where the downloads are (the cache, or the bundle folder given). */
export function downloadDir(ctx: StepContext): string {
  const src = packagesOptions(ctx).source;
  return src.kind === 'bundle' ? src.dir : `${workbenchOf(ctx).dir}/downloads/${setName(ctx)}`;
}

export function buildDir(ctx: StepContext, pkg: string): string {
  return `${workbenchOf(ctx).dir}/build/${setName(ctx)}/${pkg}`;
}

/** Where the packages wait on each board before pacman -U. */
export const BOARD_PACKAGE_DIR = '/var/cache/boardkube/packages';

/** The packages with the checksums known so far (catalogue, then the checksum files saved beside the downloads). */
export async function currentBuild(ctx: StepContext): Promise<Build> {
  const first = planBuild(ctx.release, runtimeOf(ctx.cluster));
  const sums: Record<string, string | undefined> = {};
  const wb = ctx.ports.workbench;
  if (wb) {
    await Promise.all(
      first.artifacts.map(async (a) => {
        const text = await wb.readFile(`${downloadDir(ctx)}/${a.file}.sha256`);
        const m = text ? /^([0-9a-f]{64})\b/.exec(text.toString().trim()) : null;
        if (m) sums[a.id] = m[1];
      }),
    );
  }
  return planBuild(ctx.release, runtimeOf(ctx.cluster), sums);
}
