// Step init: `kubeadm init` on the master, its phases streamed as the step's progress, with a timeout fit for an
// ARM board. A master that is initialised already is verified and left as it is; the leftovers of an init that
// stopped half-way are named with the way to clear them, instead of failing on "file exists".
import type { Step, StepContext } from '../../src/engine/types.ts';
import { boardOf, probe, runScript } from '../configure/common.ts';
import { masterInitialised, onMaster, redactTokens } from './common.ts';
import { initScript, leftoversScript } from './scripts.ts';
import { INIT_CONFIG_PATH, runtimeOf } from './settings.ts';

/** kubeadm init's phases in the order it prints them ("[certs] ..."). */
export const INIT_PHASES = ['preflight', 'certs', 'kubeconfig', 'etcd', 'control-plane', 'kubelet-start', 'wait-control-plane', 'upload-config', 'upload-certs', 'mark-control-plane', 'bootstrap-token', 'kubelet-finalize', 'addons'] as const;

/** Pulls, certificates, static pods and a first start on eMMC: minutes on an ODROID-N2, not seconds. */
export const INIT_TIMEOUT_MS = 25 * 60_000;

/** A line of kubeadm init's output → the phase it belongs to (index in INIT_PHASES), if it names one. */
export function initPhase(line: string): number | undefined {
  const m = /^\[([a-z-]+)\]/.exec(line.trim());
  if (!m) return undefined;
  const aliases: Record<string, string> = { 'api-check': 'wait-control-plane', apiclient: 'wait-control-plane', 'kubelet-check': 'kubelet-start', 'bootstrap-token': 'bootstrap-token', addons: 'addons', mark: 'mark-control-plane' };
  const i = INIT_PHASES.indexOf((aliases[m[1]!] ?? m[1]!) as (typeof INIT_PHASES)[number]);
  return i < 0 ? undefined : i;
}

/** The classic failures of kubeadm init, named with what to do. */
export function initFailureHint(output: string, node: string, service: string): string | undefined {
  if (/kubelet is not healthy|kubelet.*not running|The kubelet is not running|kubelet-check\] .*(failed|timed out)|context deadline exceeded.*kubelet/i.test(output)) {
    return `the kubelet on ${node} never became healthy. The classic cause is a cgroup-driver mismatch: the kubelet uses systemd (KubeletConfiguration cgroupDriver), so ${service} must too (CRI-O: cgroup_manager = "systemd"; containerd: SystemdCgroup = true). Look at \`journalctl -u kubelet -n 50\` on ${node}, fix, then \`boardkube reset -f FILE --boards --node ${node}\` and apply again`;
  }
  if (/wait-control-plane|control plane.*(timed out|not healthy)/i.test(output)) {
    return `the control-plane pods did not come up on ${node}: \`crictl ps -a\` and \`crictl logs ID\` there show why (a removed feature gate or a wrong flag crash-loops the API server); then reset the board and apply again`;
  }
  return undefined;
}

async function leftovers(ctx: StepContext): Promise<string[]> {
  const { host } = boardOf(ctx);
  return (await probe(host, leftoversScript(), ctx.signal, { sudo: true })).trim().split(/\s+/).filter(Boolean);
}

export const initStep: Step = {
  id: 'init',
  title: 'kubeadm init',
  explain:
    'Creates the cluster on the master: certificates, etcd and the control-plane static pods, the kubelet, the first admin credentials. On an ARM board this takes a few minutes; each phase shows as it starts.',
  nodes: onMaster,
  plan() {
    return [{ type: 'command', sudo: true, description: 'kubeadm init with the generated config (its bootstrap token is not printed)', content: initScript(INIT_CONFIG_PATH) }];
  },
  async run(ctx, actions) {
    const { node, host } = boardOf(ctx);
    const state = await masterInitialised(ctx, node);
    if (state === 'yes') {
      ctx.log(`${node.name} is initialised already and its API server answers: nothing changed`);
      return { initialised: 'before' };
    }
    const left = await leftovers(ctx);
    if (left.length > 0) {
      throw new Error(
        `${node.name} holds files of an earlier kubeadm init that did not finish (${left.join(', ')}); a second init would fail on them.\n  fix: \`boardkube reset -f FILE --boards --node ${node.name}\` clears them, then apply again`,
      );
    }
    const output: string[] = [];
    const onLine = (l: string) => {
      const line = redactTokens(l);
      output.push(line);
      const i = initPhase(line);
      if (i !== undefined) ctx.progress({ done: i, total: INIT_PHASES.length, unit: 'phases', message: INIT_PHASES[i] });
    };
    try {
      await runScript(ctx, host, actions[0]!.description, actions[0]!.content!, { sudo: true, timeoutMs: INIT_TIMEOUT_MS, quiet: true, onStdout: (l) => (onLine(l), ctx.log(redactTokens(l))), onStderr: (l) => (onLine(l), ctx.log(redactTokens(l))) });
    } catch (err) {
      const hint = initFailureHint(output.join('\n'), node.name, runtimeOf(ctx.cluster).service);
      throw new Error(`${redactTokens((err as Error).message)}${hint ? `\n  fix: ${hint}` : ''}`);
    }
    ctx.progress({ done: INIT_PHASES.length, total: INIT_PHASES.length, unit: 'phases', message: 'initialised' });
    return { initialised: 'now' };
  },
  async verify(ctx) {
    return (await masterInitialised(ctx, boardOf(ctx).node)) === 'yes';
  },
};
