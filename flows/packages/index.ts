// The packages stage: Kubernetes and the container runtime at the catalogue's pinned version on every board, as
// pacman packages. In order: on this computer, download (checked against the published sha256) and build (makepkg);
// with source=arch, check the repository's versions instead; then on every board in parallel: upload, install and
// pin, start the runtime, and prove it.
import type { Stage } from '../../src/engine/types.ts';
import { buildStep } from './build.ts';
import { downloadStep } from './download.ts';
import { installStep } from './install.ts';
import { PACKAGES_OPTIONS, parsePackagesOptions } from './options.ts';
import { proveStep } from './prove.ts';
import { repositoryStep } from './repository.ts';
import { runtimeStep } from './runtime.ts';
import { uploadStep } from './upload.ts';

export const packagesStage: Stage = {
  id: 'packages',
  title: 'Kubernetes packages',
  summary: 'kubeadm, kubelet, kubectl and the container runtime at one pinned version on every board, as pacman packages.',
  requires: ['configure'],
  options: PACKAGES_OPTIONS,
  parseOptions: (raw, cluster) => parsePackagesOptions(raw, cluster) as unknown as Record<string, unknown>,
  steps: [downloadStep, buildStep, repositoryStep, uploadStep, installStep, runtimeStep, proveStep],
};
