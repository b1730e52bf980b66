// Step feature-gates: the seed's article set TTLAfterFinished=true on the apiserver and controller-manager.
// That gate went GA in 1.23 and was removed in 1.25 (passing it now stops the components from starting), so
// this step sets none for TTL. Gates the user asks for with --set gates=... were checked against the
// catalogue when the options were parsed; setting them changes the master's kubeadm configuration and static
// pods and every kubelet's configuration, which needs the boards over SSH.
import { parseAllDocuments } from 'yaml';
import { gateIn } from '../../src/catalog/gates.ts';
import { controlPlaneNode, type NodeSpec } from '../../src/cluster/spec.ts';
import { InputError, type PlannedAction, type Step, type StepContext } from '../../src/engine/types.ts';
import { mapLimit } from '../../src/util/limit.ts';
import { probe } from '../configure/common.ts';
import { masterBuiltHere } from '../control-plane/common.ts';
import { INIT_CONFIG_PATH, masterInitConfig } from '../control-plane/settings.ts';
import { controlPlaneGatesScript, GATES_CONFIG_PATH, kubeletGatesScript, restoreKubeletConfigMapScript, ROLLBACK_EXIT, ROLLED_BACK, type ComponentGates } from './gate-scripts.ts';
import { gatesText, ttlOptions, type RequestedGate } from './options.ts';

const SEED_GATE = 'TTLAfterFinished';

export function seedGateNote(minor: string): string {
  const life = gateIn(SEED_GATE, { minor });
  const gone = life.kind === 'removed' ? `removed in 1.${life.removedIn}` : 'still known';
  return `The seed's gate ${SEED_GATE} (alpha in 1.12, GA in 1.23) is ${gone}; Kubernetes ${minor} deletes finished Jobs with spec.ttlSecondsAfterFinished without any gate, so none is set for it.`;
}

function where(g: RequestedGate): string {
  return g.components.map((c) => (c === 'kubelet' ? 'KubeletConfiguration.featureGates on every node' : `${c} --feature-gates`)).join(', ');
}

/** Why the gates cannot be set here, and what to do instead. */
function cannotReachMaster(gates: RequestedGate[]): InputError {
  return new InputError(
    'gates',
    `setting ${gatesText(gates)} changes the master's kubeadm configuration and static pods (kubeadm init phase control-plane) and the kubelet configuration of every node, over SSH; this cluster was not built by boardkube's control-plane stage (it is named with --kubeconfig), so boardkube cannot reach its master, and nothing was changed`,
    `leave --set gates out (the TTL proof needs none), or set them on the master yourself: add feature-gates to apiServer/controllerManager/scheduler extraArgs in the kubeadm ClusterConfiguration, run kubeadm init phase control-plane all --config FILE, and add featureGates to /var/lib/kubelet/config.yaml on each node, then restart the kubelet`,
  );
}

const CONTROL_PLANE: ComponentGates['component'][] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

function componentGates(gates: RequestedGate[]): ComponentGates[] {
  return CONTROL_PLANE.map((component) => ({ component, flag: gates.filter((g) => g.components.includes(component)).map((g) => `${g.name}=${g.value}`).join(',') }));
}

const kubeletGates = (gates: RequestedGate[]) => gates.filter((g) => g.components.includes('kubelet'));

function gatePlan(ctx: StepContext, gates: RequestedGate[]): PlannedAction[] {
  const master = controlPlaneNode(ctx.cluster);
  const actions: PlannedAction[] = [
    { type: 'file', sudo: true, mode: 0o644, path: GATES_CONFIG_PATH, description: `on ${master.name}: the kubeadm configuration with the gates`, content: masterInitConfig(ctx.cluster, ctx.release, gates) },
    { type: 'command', sudo: true, description: `on ${master.name}: rewrite the control-plane static pods, wait until each component is up with its flags, or put the old manifests back`, content: controlPlaneGatesScript(componentGates(gates)) },
  ];
  const k = kubeletGates(gates);
  if (k.length) {
    actions.push({ type: 'command', sudo: true, description: `on every node: the kubelet's config with featureGates ${gatesText(k)}, restart, wait until healthy, or put the old config back`, content: kubeletGatesScript(`${k[0]!.name}: ${k[0]!.value}`) });
  }
  return actions;
}

/** Runs a gate script; a rollback becomes the step's error with what the board said. */
async function runGateScript(ctx: StepContext, node: NodeSpec, what: string, script: string): Promise<void> {
  const r = await ctx.ports.host(node).exec(script, { sudo: true, signal: ctx.signal, timeoutMs: 15 * 60_000, onStdout: (l) => ctx.log(`${node.name}: ${l}`) });
  if (r.code === 0) return;
  const said = (r.stdout + r.stderr).trim().split('\n').slice(-8).join('\n');
  if (r.code === ROLLBACK_EXIT && said.includes(ROLLED_BACK)) throw new Error(`${what} on ${node.name}: ${said}`);
  throw new Error(`${what} on ${node.name} failed (exit ${r.code}) before anything changed there:\n${said}`);
}

async function applyGates(ctx: StepContext, gates: RequestedGate[]): Promise<void> {
  const master = controlPlaneNode(ctx.cluster);
  const [config, cpScript, kubeletScript] = gatePlan(ctx, gates);
  await ctx.ports.host(master).writeFile(GATES_CONFIG_PATH, config!.content!, { mode: 0o644, sudo: true, signal: ctx.signal });
  await runGateScript(ctx, master, 'the control plane with the new feature gates', cpScript!.content!);
  if (!kubeletScript) return;
  const results = await mapLimit(ctx.cluster.nodes, 5, (n) => runGateScript(ctx, n, 'the kubelet with the new feature gates', kubeletScript.content!));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failed.length) {
    // Joins and later restarts must not pick up gates a kubelet could not start with.
    await runGateScript(ctx, master, 'the kubelet-config ConfigMap put back', restoreKubeletConfigMapScript());
    throw new Error(`${failed.join('\n')}\n  the kubelet-config ConfigMap is back as it was; kubelets that came back keep the gates until the stage runs again`);
  }
}

/** The gates of the kubeadm configuration in use on the master (what the last successful run set). */
async function gatesOnMaster(ctx: StepContext): Promise<string> {
  const text = await probe(ctx.ports.host(controlPlaneNode(ctx.cluster)), `cat ${INIT_CONFIG_PATH}`, ctx.signal, { sudo: true });
  const docs = parseAllDocuments(text).map((d) => d.toJSON() as Record<string, { extraArgs?: Array<{ name: string; value: string }> } & Record<string, unknown>>);
  const cc = docs.find((d) => (d as { kind?: unknown }).kind === 'ClusterConfiguration');
  const kc = docs.find((d) => (d as { kind?: unknown }).kind === 'KubeletConfiguration') as { featureGates?: Record<string, boolean> } | undefined;
  const arg = (c?: { extraArgs?: Array<{ name: string; value: string }> }) => c?.extraArgs?.find((a) => a.name === 'feature-gates')?.value ?? '';
  return JSON.stringify([arg(cc?.apiServer), arg(cc?.controllerManager), arg(cc?.scheduler), kc?.featureGates ?? {}]);
}

function wanted(gates: RequestedGate[]): string {
  const flag = (c: ComponentGates['component']) => componentGates(gates).find((x) => x.component === c)!.flag;
  return JSON.stringify([flag('kube-apiserver'), flag('kube-controller-manager'), flag('kube-scheduler'), Object.fromEntries(kubeletGates(gates).map((g) => [g.name, g.value]))]);
}

export const featureGatesStep: Step = {
  id: 'feature-gates',
  title: 'Feature gates for this Kubernetes version',
  explain:
    "In 2019 TTL for finished Jobs was an alpha feature behind the TTLAfterFinished gate. It went GA in 1.23 and the gate was removed in 1.25: passing it now makes kube-apiserver exit with 'unrecognized feature gate', a crash-looping static pod. So no gate is set for it. Other gates you ask for (--set gates=Name=true,...) are checked against this Kubernetes version before anything changes.",
  plan(ctx) {
    const o = ttlOptions(ctx);
    if (o.gates.length === 0) return [{ type: 'api', description: `no feature gate to set. ${seedGateNote(o.minor)}` }];
    const what: PlannedAction[] = o.gates.map((g) => ({ type: 'api' as const, description: `set ${g.name}=${g.value} (${where(g)})${g.note ? `; ${g.note}` : ''}` }));
    return masterBuiltHere(ctx) ? [...what, ...gatePlan(ctx, o.gates)] : what;
  },
  async run(ctx) {
    const o = ttlOptions(ctx);
    ctx.log(seedGateNote(o.minor));
    if (o.gates.length === 0) return { gates: [], seedGate: 'removed' };
    // Setting gates is only possible on boards boardkube built (their master over SSH).
    if (!masterBuiltHere(ctx)) throw cannotReachMaster(o.gates);
    for (const g of o.gates) if (g.note) ctx.log(g.note);
    await applyGates(ctx, o.gates);
    return { gates: gatesText(o.gates), seedGate: 'removed' };
  },
  async verify(ctx) {
    const o = ttlOptions(ctx);
    if (o.gates.length === 0) return true;
    return masterBuiltHere(ctx) && (await gatesOnMaster(ctx)) === wanted(o.gates);
  },
};
