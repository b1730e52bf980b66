// What the control-plane steps share: they all run on the master, read the same generated config, and keep
// kubeadm's bootstrap tokens out of every log line.
import { adminKubeconfigPath } from '../../src/app/ports.ts';
import { controlPlaneNode, type ClusterSpec, type NodeSpec } from '../../src/cluster/spec.ts';
import { defaultStateDir } from '../../src/engine/state-dir.ts';
import type { StepContext } from '../../src/engine/types.ts';
import { userKubeconfigPath } from '../../src/ports/local.ts';
import { initialisedScript } from './scripts.ts';

/** The control-plane steps run on the master only. */
export function onMaster(cluster: ClusterSpec): NodeSpec[] {
  return [controlPlaneNode(cluster)];
}

/**
 * Did this stage build the cluster (kubeadm init ran on the master from boardkube)? Then the add-on stages may
 * reach the master over SSH; on a cluster named with --kubeconfig only, they may not.
 */
export function masterBuiltHere(ctx: Pick<StepContext, 'outputOf' | 'cluster'>): boolean {
  return ctx.outputOf('control-plane', 'init', controlPlaneNode(ctx.cluster).name) !== undefined;
}

/** A bootstrap token (kubeadm's form abcdef.0123456789abcdef) anywhere in a line becomes <token>. */
export function redactTokens(line: string): string {
  return line.replace(/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, '<token>');
}

export function stateDirOf(ctx: Pick<StepContext, 'ports'>): string {
  return ctx.ports.local.stateDir?.() ?? defaultStateDir();
}

/** Where the admin kubeconfig fetched from the master is kept on this computer (mode 0600). */
export function localAdminConf(ctx: Pick<StepContext, 'ports' | 'cluster'>): string {
  return adminKubeconfigPath(stateDirOf(ctx), ctx.cluster.name);
}

/** The user's kubeconfig, where the cluster's context goes. */
export function userKubeconfig(ctx: Pick<StepContext, 'ports'>): string {
  return ctx.ports.local.kubeconfigPath?.() ?? userKubeconfigPath();
}

/** A copy of the user's kubeconfig taken before boardkube changes it. */
export function backupPathOf(kubeconfig: string, now = new Date()): string {
  return `${kubeconfig}.boardkube-${now.toISOString().replace(/[:.]/g, '-')}.bak`;
}

/** Has kubeadm init run on the master, and does its API server answer? */
export async function masterInitialised(ctx: StepContext, node: NodeSpec): Promise<'yes' | 'no' | 'not-answering'> {
  const host = ctx.ports.host(node);
  const r = await host.exec(initialisedScript(), { sudo: true, signal: ctx.signal, timeoutMs: 60_000 });
  if (r.code === 0) return 'yes';
  if (r.code === 3) return 'no';
  if (r.code === 4) return 'not-answering';
  throw new Error(`checking whether ${node.name} is initialised exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join('\n')}`);
}
