// The Local port: this computer (tools, disks, files), through execa, or the practice lab's simulation.
import type { ExecOptions, ExecResult } from './host.ts';

export interface ToolInfo {
  name: string;
  path: string | null;
  version?: string;
}

export interface Local {
  /** Finds a tool on PATH (also /sbin, /usr/sbin) and, if asked, its version line. */
  tool(name: string, opts?: { version?: boolean }): Promise<ToolInfo>;
  /** Runs a program without a shell (argv), sudo when asked and not already root. */
  run(file: string, args: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Whether this process runs as root. */
  isRoot(): boolean;
  /**
   * The kubeconfig file the user's kubectl reads (the first of $KUBECONFIG, else ~/.kube/config), where the
   * control-plane stage adds the cluster's context. The practice lab keeps one of its own beside its progress.
   */
  kubeconfigPath?(): string;
  /** boardkube's folder for this computer's progress, logs and the files stages fetch (the admin kubeconfig). */
  stateDir?(): string;
}

/** kubectl's own rule: the first file of $KUBECONFIG, else ~/.kube/config. */
export function userKubeconfigPath(env: NodeJS.ProcessEnv = process.env, home = env.HOME ?? ''): string {
  const first = (env.KUBECONFIG ?? '').split(':').find((p) => p.trim() !== '');
  return first ?? `${home}/.kube/config`;
}
