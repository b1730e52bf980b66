// Step preflight: kubeadm's own preflight checks on the master, each finding shown as one of the step's checks
// with a fix (swap on, a port in use, cgroup v1, a runtime that does not answer, files of an earlier attempt).
import type { Check, Step, StepContext } from '../../src/engine/types.ts';
import { boardOf } from '../configure/common.ts';
import { masterInitialised, onMaster } from './common.ts';
import { preflightScript } from './scripts.ts';
import { INIT_CONFIG_PATH, runtimeOf } from './settings.ts';

export interface PreflightFinding {
  level: 'ERROR' | 'WARNING';
  name: string;
  message: string;
}

/** kubeadm's "[ERROR Name]: message" and "[WARNING Name]: message" lines. */
export function parsePreflight(output: string): PreflightFinding[] {
  const out: PreflightFinding[] = [];
  for (const m of output.matchAll(/\[(ERROR|WARNING) ([^\]]+)\]:\s*(.*)/g)) out.push({ level: m[1] as 'ERROR' | 'WARNING', name: m[2]!.trim(), message: m[3]!.trim() });
  return out;
}

/** What to do about one finding, in the user's words. */
export function preflightFix(f: PreflightFinding, node: string, service: string): string {
  const ignore = `if you know it is harmless here, add ${f.name} to kubernetes.kubeadm.ignorePreflightErrors (or nodes[].kubeadm for this board) in the cluster file`;
  const port = /^Port-(\d+)$/.exec(f.name);
  if (port) return `something on ${node} listens on port ${port[1]}: find it with \`ss -ltnp 'sport = :${port[1]}'\` and stop it; if it is a kubelet or API server of an earlier attempt, run \`boardkube reset -f FILE --boards --node ${node}\``;
  if (f.name === 'Swap') return `turn swap off on ${node} (run the configure stage again: it switches off swap and zram for good)`;
  if (f.name === 'SystemVerification') {
    return /cgroup/i.test(f.message)
      ? `${node} runs with cgroup v1, which the kubelet refuses from 1.35: run the configure stage (mainline kernel, cgroup v2); a machine that must stay on v1 needs SystemVerification in ignorePreflightErrors and failCgroupV1: false in a kubeletconfiguration patch`
      : `kubeadm does not accept ${node}'s kernel or its settings: run the configure stage (mainline kernel); ${ignore}`;
  }
  if (/^FileContent--proc-sys/.test(f.name) || /^FileExisting--proc-sys/.test(f.name)) return `a kernel setting kubeadm needs is off on ${node}: run the configure stage again (kernel modules and sysctl)`;
  if (f.name === 'CRI' || /container runtime/i.test(f.message)) return `the container runtime does not answer on ${node}: \`systemctl status ${service}\` (the packages stage installs and starts it)`;
  if (/^(FileAvailable|DirAvailable)--/.test(f.name)) return `files of an earlier kubeadm run are in the way on ${node}: run \`boardkube reset -f FILE --boards --node ${node}\`, then apply again`;
  if (/^FileExisting-/.test(f.name)) return `a program kubeadm needs is missing on ${node}: ${f.message}; the packages stage installs it`;
  if (f.name === 'Mem' || f.name === 'NumCPU') return `${node} is too small for a control plane (kubeadm wants 2 CPUs and 1700 MB): use a bigger board as the master`;
  if (f.name === 'IsPrivilegedUser') return 'kubeadm must run as root: use root in ssh.user or give the user sudo';
  return ignore;
}

export function preflightChecks(output: string, code: number, node: string, service: string): Check[] {
  const findings = parsePreflight(output);
  const checks: Check[] = findings
    .filter((f) => f.level === 'ERROR')
    .map((f) => ({ ok: false, what: `kubeadm preflight on ${node}: [${f.name}] ${f.message}`, fix: preflightFix(f, node, service) }));
  if (code !== 0 && checks.length === 0) {
    checks.push({ ok: false, what: `kubeadm preflight on ${node} exited ${code}: ${output.trim().split('\n').slice(-3).join(' / ')}`, fix: 'read the message above; `boardkube plan --stage control-plane` shows the config kubeadm was given' });
  }
  for (const f of findings.filter((x) => x.level === 'WARNING')) checks.push({ ok: true, what: `kubeadm warning on ${node}: [${f.name}] ${f.message}`, fix: '' });
  if (checks.length === 0) checks.push({ ok: true, what: `kubeadm preflight on ${node} passed`, fix: '' });
  return checks;
}

/** The checks of this step's run, so the verify right after needs() does not run kubeadm again. */
const lastChecks = new WeakMap<StepContext, Check[]>();

async function runPreflight(ctx: StepContext): Promise<Check[]> {
  const { node, host } = boardOf(ctx);
  const r = await host.exec(preflightScript(INIT_CONFIG_PATH), { sudo: true, signal: ctx.signal, timeoutMs: 10 * 60_000 });
  const checks = preflightChecks(`${r.stdout}\n${r.stderr}`, r.code, node.name, runtimeOf(ctx.cluster).service);
  lastChecks.set(ctx, checks);
  return checks;
}

export const preflightStep: Step = {
  id: 'preflight',
  title: 'kubeadm preflight checks',
  explain:
    'kubeadm checks the master before it changes anything: swap off, ports 6443, 10250 and 2379 free, cgroups, the kernel settings, the container runtime answering. Each finding comes with what to do about it.',
  nodes: onMaster,
  async skip(ctx) {
    return (await masterInitialised(ctx, boardOf(ctx).node)) === 'yes' ? 'the master is initialised already (its API server answers); preflight would only find its own ports and files' : undefined;
  },
  needs: runPreflight,
  plan() {
    return [{ type: 'command', sudo: true, description: 'kubeadm init phase preflight with the generated config', content: preflightScript(INIT_CONFIG_PATH) }];
  },
  // needs() ran the checks; nothing else to do.
  async run() {
    return {};
  },
  async verify(ctx) {
    if ((await masterInitialised(ctx, boardOf(ctx).node)) === 'yes') return true;
    return (lastChecks.get(ctx) ?? (await runPreflight(ctx))).every((c) => c.ok);
  },
};
