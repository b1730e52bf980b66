// The control-plane stage (seed: "plain kubeadm", "CRI-O instead of Docker", one master): kubeadm init on the
// master with the generated config, the admin kubeconfig on this computer, flannel, and a Ready master.
//
// The folder: one file per step, in the order below. kubeadm-config.ts and flannel.ts generate what is sent,
// settings.ts reads the cluster file's kubeadm settings, scripts.ts holds the shell scripts, common.ts and
// merge-kubeconfig.ts what the steps share.
import { controlPlaneNode } from '../../src/cluster/spec.ts';
import type { Stage } from '../../src/engine/types.ts';
import { adminKubeconfigStep } from './admin-kubeconfig.ts';
import { initStep } from './init.ts';
import { podNetworkStep } from './pod-network.ts';
import { preflightStep } from './preflight.ts';
import { pullImagesStep } from './pull-images.ts';
import { readyStep } from './ready.ts';
import { writeConfigStep } from './write-config.ts';

export const controlPlaneStage: Stage = {
  id: 'control-plane',
  title: 'Control plane',
  summary: '`kubeadm init` on the master, the admin kubeconfig on this computer, the pod network, a Ready master.',
  requires: ['packages'],
  report({ cluster, outputOf }) {
    const master = controlPlaneNode(cluster);
    const at = (step: string) => outputOf(step, master.name) ?? outputOf(step, null);
    const have: string[] = [];
    if (at('init')) have.push(`${master.name} (${master.address}): the control plane of Kubernetes ${cluster.kubernetesVersion}${at('ready') ? ', Ready, with the pod network' : ''}`);
    const k = at('admin-kubeconfig');
    if (k) have.push(`The admin kubeconfig: ${String(k.kubeconfig)} (context ${String(k.context)})`);
    const next = k ? [`Try it: kubectl --kubeconfig ${String(k.kubeconfig)} --context ${String(k.context)} get nodes`] : [];
    return { have, next };
  },
  steps: [writeConfigStep, pullImagesStep, preflightStep, initStep, adminKubeconfigStep, podNetworkStep, readyStep],
};
