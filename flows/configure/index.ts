// The configure stage: first boot over SSH. Steps run on every board in parallel, in this order:
// - first-login (only with --set first-login=arch-defaults) before connect: a board flashed by hand gets the key;
// - resources first: a card too small fails in a second, not half-way through the upgrade;
// - identity, time and machine-id before pacman: a board whose clock is in 1970 fails pacman's signature checks,
//   and a new machine-id takes full effect at the kernel step's reboot;
// - the kernel after the upgrade (the upgrade may replace the running kernel's modules: the reboot fixes that);
// - modules and sysctls after the reboot, so modprobe loads the new kernel's modules.
import type { Stage } from '../../src/engine/types.ts';
import { connectStep } from './connect.ts';
import { ARCH_DEFAULTS, checkFirstLoginOption, FIRST_LOGIN_OPTION, firstLoginStep } from './first-login.ts';
import { identityStep } from './identity.ts';
import { kernelSettingsStep } from './kernel-settings.ts';
import { kernelStep } from './kernel.ts';
import { machineIdStep } from './machine-id.ts';
import { pacmanKeysStep, upgradeStep } from './pacman.ts';
import { resourcesStep } from './resources.ts';
import { swapStep } from './swap.ts';
import { timeStep } from './time.ts';

export const configureStage: Stage = {
  id: 'configure',
  title: 'Configure the boards',
  summary: 'Reach every board over SSH and prepare it for Kubernetes: keys, upgrade, mainline kernel, names, time, swap, modules.',
  requires: [],
  options: [{ name: FIRST_LOGIN_OPTION, description: `${ARCH_DEFAULTS}: log in once as alarm/alarm (boards flashed by hand) and install your key; empty: your key is on the card already` }],
  parseOptions(raw) {
    checkFirstLoginOption(raw);
    return raw;
  },
  report({ cluster, outputOf }) {
    // Per board, only what its finished steps say.
    const have = cluster.nodes.flatMap((n) => {
      const c = outputOf('connect', n.name);
      if (!c) return [];
      const k = outputOf('kernel', n.name);
      const kernel = k?.kernel ?? c.kernel;
      const parts = ['reached over SSH, host key pinned'];
      if (kernel) parts.push(`kernel ${String(kernel)}${k?.cgroup ? ` (${String(k.cgroup)})` : ''}`);
      if (outputOf('upgrade', n.name)) parts.push('upgraded');
      if (outputOf('swap-off', n.name)) parts.push('swap off');
      if (outputOf('kernel-settings', n.name)) parts.push('modules and sysctls for Kubernetes');
      return [`${n.name} (${n.address}): ${parts.join(', ')}`];
    });
    const ready = cluster.nodes.every((n) => outputOf('kernel-settings', n.name));
    return { have, next: ready ? [`The boards are ready for Kubernetes ${cluster.kubernetesVersion}.`] : [] };
  },
  steps: [firstLoginStep, connectStep, resourcesStep, identityStep, timeStep, machineIdStep, pacmanKeysStep, upgradeStep, kernelStep, swapStep, kernelSettingsStep],
};
