// Step write-config: the kubeadm config generated for this cluster file and release, and the kubeadm patches
// named in the file, uploaded to the master. `plan` shows exactly these files.
import type { PlannedAction, Step, StepContext } from '../../src/engine/types.ts';
import { boardOf } from '../configure/common.ts';
import { onMaster } from './common.ts';
import { prepareDirScript } from './scripts.ts';
import { BOARD_PATCHES_DIR, INIT_CONFIG_PATH, masterInitConfig, patchFiles } from './settings.ts';

/** The folder, the config and the patch files a board gets (shared with the workers' join). */
export function patchActions(ctx: StepContext): PlannedAction[] {
  const { node } = boardOf(ctx);
  const patches = patchFiles(ctx.cluster, node);
  return [
    { type: 'command', sudo: true, description: `prepare ${BOARD_PATCHES_DIR.replace(/\/patches$/, '')}${patches.length ? ' and its patches folder' : ''}`, content: prepareDirScript(patches.length > 0) },
    ...patches.map((p): PlannedAction => ({ type: 'file', sudo: true, mode: 0o644, path: `${BOARD_PATCHES_DIR}/${p.name}`, description: `kubeadm patch ${p.name}`, content: p.content })),
  ];
}

/** Do the board's files hold exactly what the plan writes? */
export async function filesInPlace(ctx: StepContext, actions: PlannedAction[]): Promise<boolean> {
  const { host } = boardOf(ctx);
  for (const a of actions) {
    if (a.type !== 'file' || !a.path) continue;
    try {
      if ((await host.readFile(a.path, { signal: ctx.signal })).toString() !== a.content) return false;
    } catch {
      return false;
    }
  }
  return true;
}

export const writeConfigStep: Step = {
  id: 'write-config',
  title: 'Write the kubeadm config',
  explain:
    'kubeadm reads one config file: the node (its address, the container runtime\'s socket), the cluster (version, pod and service subnets, the endpoint every client uses and the names its certificate is valid for), the kubelet (systemd cgroups, like the runtime) and kube-proxy. Generated from the cluster file for this Kubernetes minor, so what you see in `plan` is what kubeadm gets.',
  nodes: onMaster,
  plan(ctx) {
    return [
      ...patchActions(ctx),
      { type: 'file', sudo: true, mode: 0o644, path: INIT_CONFIG_PATH, description: `kubeadm config for ${ctx.cluster.name} (kubeadm init --config)`, content: masterInitConfig(ctx.cluster, ctx.release) },
    ];
  },
  async verify(ctx) {
    return filesInPlace(ctx, await writeConfigStep.plan(ctx));
  },
};
