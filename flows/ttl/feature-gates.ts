// Step feature-gates: the seed's article set TTLAfterFinished=true on the apiserver and controller-manager.
// That gate went GA in 1.23 and was removed in 1.25 (passing it now stops the components from starting), so
// this step sets none for TTL. Gates the user asks for with --set gates=... were checked against the
// catalogue when the options were parsed; setting them changes the master's kubeadm configuration and static
// pods and every kubelet's configuration, which needs the boards over SSH.
import { gateIn } from '../../src/catalog/gates.ts';
import { controlPlaneNode } from '../../src/cluster/spec.ts';
import { InputError, type Step } from '../../src/engine/types.ts';
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

export const featureGatesStep: Step = {
  id: 'feature-gates',
  title: 'Feature gates for this Kubernetes version',
  explain:
    "In 2019 TTL for finished Jobs was an alpha feature behind the TTLAfterFinished gate. It went GA in 1.23 and the gate was removed in 1.25: passing it now makes kube-apiserver exit with 'unrecognized feature gate', a crash-looping static pod. So no gate is set for it. Other gates you ask for (--set gates=Name=true,...) are checked against this Kubernetes version before anything changes.",
  plan(ctx) {
    const o = ttlOptions(ctx);
    if (o.gates.length === 0) return [{ type: 'api', description: `no feature gate to set. ${seedGateNote(o.minor)}` }];
    return o.gates.map((g) => ({ type: 'api' as const, description: `set ${g.name}=${g.value} (${where(g)})${g.note ? `; ${g.note}` : ''}` }));
  },
  async run(ctx) {
    const o = ttlOptions(ctx);
    ctx.log(seedGateNote(o.minor));
    if (o.gates.length === 0) return { gates: [], seedGate: 'removed' };
    // Setting gates is only possible on boards boardkube built (their master over SSH).
    if (!ctx.outputOf('control-plane', 'init', controlPlaneNode(ctx.cluster).name)) throw cannotReachMaster(o.gates);
    throw new InputError('gates', 'applying feature gates to a boardkube-built master is not available yet in this version of boardkube; nothing was changed', 'leave --set gates out for now');
  },
  async verify(ctx) {
    return ttlOptions(ctx).gates.length === 0;
  },
};
