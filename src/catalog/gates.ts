// Feature gates as data: each gate boardkube touches or a user may ask for, with its life per Kubernetes minor
// (stage, default, locked to its default) and the minor in which it was removed.
//
// Sources: the versioned gate specs in k8s.io/kubernetes v1.37.2 `pkg/features/kube_features.go` and
// k8s.io/apiserver v0.37.2 `pkg/features/kube_features.go` (they keep each gate's history for the emulated
// versions 1.34+); TTLAfterFinished from the "removed feature gates" page of kubernetes.io. The test
// test/catalog/gates.test.ts compares every entry with what the real components of the test binaries list in
// `--help` (--feature-gates) for the minor they were built for.
import type { KubernetesRelease } from './versions.ts';

export type GateComponent = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet';
export type GateStage = 'ALPHA' | 'BETA' | 'GA' | 'DEPRECATED';

/** From minor `since` on (until the next entry), the gate is at this stage with this default. */
export interface GateStep {
  since: number;
  stage: GateStage;
  default: boolean;
  /** Locked to its default: setting it to the other value makes the component refuse to start. */
  locked?: boolean;
}

export interface FeatureGate {
  name: string;
  /** Where boardkube sets it for it to take effect (kubeadm: apiServer/controllerManager/scheduler extraArgs, KubeletConfiguration). */
  components: GateComponent[];
  history: GateStep[];
  /** First minor that no longer knows the gate: passing it makes the component exit ("unrecognized feature gate"). */
  removed?: number;
  /** What it does, in one line. */
  about: string;
  /** Gates that need this one on (the components refuse to start when one of them is on and this is off). */
  requiredBy?: string[];
}

const ALL_CONTROL_PLANE: GateComponent[] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

export const FEATURE_GATES: readonly FeatureGate[] = [
  {
    name: 'TTLAfterFinished',
    components: ['kube-apiserver', 'kube-controller-manager'],
    history: [
      { since: 12, stage: 'ALPHA', default: false },
      { since: 21, stage: 'BETA', default: true },
      { since: 23, stage: 'GA', default: true, locked: true },
    ],
    removed: 25,
    about: 'spec.ttlSecondsAfterFinished on Jobs: the ttl-after-finished controller deletes finished Jobs',
  },
  {
    name: 'MutatingAdmissionPolicy',
    components: ['kube-apiserver'],
    history: [
      { since: 32, stage: 'ALPHA', default: false },
      { since: 34, stage: 'BETA', default: false },
      { since: 36, stage: 'GA', default: true },
    ],
    about: 'MutatingAdmissionPolicy: CEL mutations inside the API server, no webhook needed',
  },
  {
    name: 'JobManagedBy',
    components: ['kube-apiserver', 'kube-controller-manager'],
    history: [
      { since: 30, stage: 'ALPHA', default: false },
      { since: 32, stage: 'BETA', default: true },
      { since: 35, stage: 'GA', default: true, locked: true },
    ],
    about: 'spec.managedBy on Jobs: another controller than the built-in one runs the Job',
  },
  {
    name: 'GracefulNodeShutdown',
    components: ['kubelet'],
    history: [
      { since: 20, stage: 'ALPHA', default: false },
      { since: 21, stage: 'BETA', default: true },
    ],
    about: 'the kubelet stops pods in order when the board shuts down (needs systemd inhibitor locks)',
    requiredBy: ['GracefulNodeShutdownBasedOnPodPriority', 'WindowsGracefulNodeShutdown'],
  },
  {
    name: 'GracefulNodeShutdownBasedOnPodPriority',
    components: ['kubelet'],
    history: [
      { since: 23, stage: 'ALPHA', default: false },
      { since: 24, stage: 'BETA', default: true },
    ],
    about: 'graceful node shutdown stops pods by priority class (shutdownGracePeriodByPodPriority)',
  },
  {
    name: 'WindowsGracefulNodeShutdown',
    components: ['kubelet'],
    history: [
      { since: 32, stage: 'ALPHA', default: false },
      { since: 34, stage: 'BETA', default: true },
    ],
    about: 'graceful node shutdown on Windows nodes',
  },
  {
    name: 'ContainerCheckpoint',
    components: ['kubelet'],
    history: [
      { since: 25, stage: 'ALPHA', default: false },
      { since: 30, stage: 'BETA', default: true },
    ],
    about: "the kubelet's checkpoint API (forensic container checkpointing)",
  },
  {
    name: 'MemoryQoS',
    components: ['kubelet'],
    history: [
      { since: 22, stage: 'ALPHA', default: false },
      { since: 37, stage: 'BETA', default: true },
    ],
    about: 'memory.min/memory.high for containers through cgroup v2',
  },
  {
    name: 'KubeletCgroupDriverFromCRI',
    components: ['kubelet'],
    history: [
      { since: 28, stage: 'ALPHA', default: false },
      { since: 31, stage: 'BETA', default: true },
      { since: 34, stage: 'GA', default: true, locked: true },
    ],
    about: 'the kubelet takes the cgroup driver from the container runtime (CRI RuntimeConfig)',
  },
  {
    name: 'InPlacePodVerticalScaling',
    components: [...ALL_CONTROL_PLANE, 'kubelet'],
    history: [
      { since: 27, stage: 'ALPHA', default: false },
      { since: 33, stage: 'BETA', default: true },
      { since: 35, stage: 'GA', default: true, locked: true },
    ],
    about: 'change the CPU and memory of a running pod without restarting it',
  },
  {
    name: 'UserNamespacesSupport',
    components: ['kube-apiserver', 'kubelet'],
    history: [
      { since: 25, stage: 'ALPHA', default: false },
      { since: 30, stage: 'BETA', default: false },
      { since: 33, stage: 'BETA', default: true },
      { since: 36, stage: 'GA', default: true, locked: true },
    ],
    about: 'pods with hostUsers: false run in their own user namespace',
  },
  {
    name: 'ImageVolume',
    components: ['kube-apiserver', 'kubelet'],
    history: [
      { since: 31, stage: 'ALPHA', default: false },
      { since: 33, stage: 'BETA', default: false },
      { since: 35, stage: 'BETA', default: true },
      { since: 36, stage: 'GA', default: true, locked: true },
    ],
    about: 'mount an OCI image as a read-only volume',
  },
  {
    name: 'MaxUnavailableStatefulSet',
    components: ['kube-apiserver', 'kube-controller-manager'],
    history: [
      { since: 24, stage: 'ALPHA', default: false },
      { since: 35, stage: 'BETA', default: false },
      { since: 37, stage: 'BETA', default: true },
    ],
    about: 'maxUnavailable in a StatefulSet rolling update',
  },
  {
    name: 'PodDeletionCost',
    components: ['kube-apiserver', 'kube-controller-manager'],
    history: [
      { since: 21, stage: 'ALPHA', default: false },
      { since: 22, stage: 'BETA', default: true },
    ],
    about: 'the controller.kubernetes.io/pod-deletion-cost annotation orders which pods a scale-down removes',
  },
  {
    name: 'SchedulerAsyncPreemption',
    components: ['kube-scheduler'],
    history: [
      { since: 32, stage: 'ALPHA', default: false },
      { since: 33, stage: 'BETA', default: true },
    ],
    about: 'the scheduler runs preemption without blocking its scheduling cycle',
  },
];

export function minorOf(release: Pick<KubernetesRelease, 'minor'>): number {
  return Number(release.minor.split('.')[1]);
}

export type GateInMinor =
  | { kind: 'exists'; gate: FeatureGate; stage: GateStage; default: boolean; locked: boolean }
  | { kind: 'removed'; gate: FeatureGate; removedIn: number }
  | { kind: 'not-yet'; gate: FeatureGate; firstIn: number }
  | { kind: 'unknown' };

export function findGate(name: string): FeatureGate | undefined {
  return FEATURE_GATES.find((g) => g.name === name);
}

/** The gate's life in a minor. */
export function gateIn(name: string, release: Pick<KubernetesRelease, 'minor'>): GateInMinor {
  const gate = findGate(name);
  if (!gate) return { kind: 'unknown' };
  const minor = minorOf(release);
  if (gate.removed !== undefined && minor >= gate.removed) return { kind: 'removed', gate, removedIn: gate.removed };
  const step = [...gate.history].reverse().find((s) => s.since <= minor);
  if (!step) return { kind: 'not-yet', gate, firstIn: gate.history[0]!.since };
  return { kind: 'exists', gate, stage: step.stage, default: step.default, locked: step.locked === true };
}

/** Every catalogued gate that exists in the minor, with its stage and default (what `--help` lists). */
export function gatesOf(release: Pick<KubernetesRelease, 'minor'>): Array<{ name: string; stage: GateStage; default: boolean; locked: boolean }> {
  const out: Array<{ name: string; stage: GateStage; default: boolean; locked: boolean }> = [];
  for (const g of FEATURE_GATES) {
    const life = gateIn(g.name, release);
    if (life.kind === 'exists') out.push({ name: g.name, stage: life.stage, default: life.default, locked: life.locked });
  }
  return out;
}

export type GateVerdict =
  | { ok: true; gate: FeatureGate; components: GateComponent[]; note?: string }
  | { ok: false; reason: string; fix: string };

/**
 * May `name=value` be passed to the components of this minor? A removed gate, an unknown one, one not there
 * yet, and a locked gate set against its default would all stop the component from starting: refused.
 */
export function checkGate(name: string, value: boolean, release: Pick<KubernetesRelease, 'minor'>): GateVerdict {
  const life = gateIn(name, release);
  const k8s = `Kubernetes ${release.minor}`;
  switch (life.kind) {
    case 'unknown': {
      const near = FEATURE_GATES.find((g) => g.name.toLowerCase() === name.toLowerCase());
      return {
        ok: false,
        reason: `"${name}" is not a feature gate boardkube knows for ${k8s}; an unrecognized gate stops the component from starting`,
        fix: near ? `did you mean ${near.name}?` : `use one of: ${gatesOf(release).map((g) => g.name).join(', ')}`,
      };
    }
    case 'removed':
      return {
        ok: false,
        reason: `${name} was removed in 1.${life.removedIn}: the apiserver would not start ("unrecognized feature gate: ${name}") in ${k8s}`,
        fix:
          name === 'TTLAfterFinished'
            ? 'leave the gate out: the feature is always on since 1.23; give Jobs spec.ttlSecondsAfterFinished (the webhook stage adds a default)'
            : `leave ${name} out: its feature is part of ${k8s} without a gate`,
      };
    case 'not-yet':
      return { ok: false, reason: `${name} first appears in 1.${life.firstIn}; ${k8s} does not know it and would not start`, fix: `leave ${name} out, or use Kubernetes 1.${life.firstIn} or newer` };
    case 'exists':
      if (life.locked && value !== life.default) {
        return {
          ok: false,
          reason: `${name} is ${life.stage} and locked to ${life.default} in ${k8s}: setting it to ${value} makes the components refuse to start`,
          fix: `leave ${name} out (it is ${life.default ? 'always on' : 'always off'})`,
        };
      }
      return {
        ok: true,
        gate: life.gate,
        components: life.gate.components,
        note: value === life.default ? `${name} is already ${value} by default in ${k8s} (${life.stage})` : undefined,
      };
  }
}

/**
 * The whole request, gate by gate (checkGate) and together: a gate turned off while a gate that needs it stays
 * on (by default or asked for) stops the components ("X is enabled, but depends on features that are disabled").
 */
export function checkGateSet(requests: Array<{ name: string; value: boolean }>, release: Pick<KubernetesRelease, 'minor'>): GateVerdict[] {
  const verdicts = requests.map((r) => checkGate(r.name, r.value, release));
  const value = (name: string): boolean | undefined => {
    const asked = requests.find((r) => r.name === name);
    if (asked) return asked.value;
    const life = gateIn(name, release);
    return life.kind === 'exists' ? life.default : undefined;
  };
  return verdicts.map((v, i) => {
    const r = requests[i]!;
    if (!v.ok || r.value) return v;
    const on = (v.gate.requiredBy ?? []).filter((d) => value(d) === true);
    if (on.length === 0) return v;
    return {
      ok: false,
      reason: `${r.name}=false while ${on.join(' and ')} ${on.length === 1 ? 'is' : 'are'} on: ${on.length === 1 ? 'it needs' : 'they need'} ${r.name}, so the components would refuse to start`,
      fix: `turn ${on.length === 1 ? 'it' : 'them'} off as well: --set gates=${[r.name, ...on].map((n) => `${n}=false`).join(',')}`,
    };
  });
}
