// The lab's mutating admission for Jobs. The lab cannot run CEL nor call a server, so it understands the
// shapes boardkube writes and nothing else:
// - a MutatingAdmissionPolicy (+ binding) whose match condition is `!has(object.spec.ttlSecondsAfterFinished)`
//   and whose ApplyConfiguration sets `ttlSecondsAfterFinished: N`, with a NotIn namespaceSelector;
// - a MutatingWebhookConfiguration for jobs whose Service points at a Deployment of the lab: the "server"
//   answers like flows/webhook/server/job-ttl-webhook.mjs (its DEFAULT_TTL_SECONDS env) while its pod is
//   healthy and its certificate valid (practice faults: webhook pod crash-looping, certificate expired);
//   otherwise its failurePolicy decides (Ignore: admitted unchanged).
import type { KubeObject } from '../../ports/cluster.ts';
import { ClusterError } from '../../ports/cluster.ts';
import type { KindInfo } from './kinds.ts';
import { keyOf, type LabState } from './state.ts';

export type AdmissionFault = 'webhook-crashloop' | 'webhook-cert-expired';

const faults = new WeakMap<LabState, Set<AdmissionFault>>();

/** Practice faults of the lab's admission (set from the lab's fault list). */
export function setAdmissionFault(state: LabState, fault: AdmissionFault, on: boolean): void {
  const set = faults.get(state) ?? new Set<AdmissionFault>();
  if (on) set.add(fault);
  else set.delete(fault);
  faults.set(state, set);
}

export function hasAdmissionFault(state: LabState, fault: AdmissionFault): boolean {
  return faults.get(state)?.has(fault) ?? false;
}

interface Selector {
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

function nsMatches(sel: Selector | undefined, ns: string): boolean {
  for (const e of sel?.matchExpressions ?? []) {
    if (e.key !== 'kubernetes.io/metadata.name') continue;
    if (e.operator === 'NotIn' && e.values?.includes(ns)) return false;
    if (e.operator === 'In' && !e.values?.includes(ns)) return false;
  }
  return true;
}

function hasTtl(o: KubeObject): boolean {
  return typeof (o.spec as { ttlSecondsAfterFinished?: unknown } | undefined)?.ttlSecondsAfterFinished === 'number';
}

function setTtl(o: KubeObject, ttl: number): void {
  o.spec = { ...(o.spec as Record<string, unknown>), ttlSecondsAfterFinished: ttl };
}

function objects(state: LabState, kind: string): KubeObject[] {
  return [...state.objects.values()].filter((x) => x.kind === kind && x.apiVersion.startsWith('admissionregistration.k8s.io/'));
}

function viaPolicies(state: LabState, o: KubeObject, ns: string): void {
  const bound = new Set(objects(state, 'MutatingAdmissionPolicyBinding').map((b) => (b.spec as { policyName?: string } | undefined)?.policyName));
  for (const p of objects(state, 'MutatingAdmissionPolicy')) {
    if (!bound.has(p.metadata.name)) continue;
    const spec = p.spec as {
      matchConstraints?: { namespaceSelector?: Selector; resourceRules?: Array<{ resources?: string[]; operations?: string[] }> };
      matchConditions?: Array<{ expression: string }>;
      mutations?: Array<{ applyConfiguration?: { expression?: string } }>;
    };
    const rules = spec.matchConstraints?.resourceRules ?? [];
    if (!rules.some((r) => r.resources?.includes('jobs') && r.operations?.some((op) => op === 'CREATE' || op === '*'))) continue;
    if (!nsMatches(spec.matchConstraints?.namespaceSelector, ns)) continue;
    const skipIfSet = (spec.matchConditions ?? []).some((c) => c.expression.replace(/\s/g, '') === '!has(object.spec.ttlSecondsAfterFinished)');
    if (skipIfSet && hasTtl(o)) continue;
    for (const m of spec.mutations ?? []) {
      const n = /ttlSecondsAfterFinished:\s*(\d+)/.exec(m.applyConfiguration?.expression ?? '');
      if (n) setTtl(o, Number(n[1]));
    }
  }
}

function viaWebhooks(state: LabState, o: KubeObject, ns: string, what: string): void {
  for (const cfg of objects(state, 'MutatingWebhookConfiguration')) {
    for (const w of (cfg.webhooks as Array<Record<string, unknown>> | undefined) ?? []) {
      const rules = (w.rules as Array<{ resources?: string[]; operations?: string[] }> | undefined) ?? [];
      if (!rules.some((r) => r.resources?.includes('jobs'))) continue;
      if (!nsMatches(w.namespaceSelector as Selector | undefined, ns)) continue;
      const svc = (w.clientConfig as { service?: { name: string; namespace: string } } | undefined)?.service;
      const deploy = svc ? state.objects.get(keyOf('apps/v1', 'Deployment', svc.namespace, svc.name)) : undefined;
      const replicas = (deploy?.spec as { replicas?: number } | undefined)?.replicas ?? 1;
      const problem = !deploy
        ? `no endpoints available for service "${svc?.name}"`
        : replicas === 0
          ? `no endpoints available for service "${svc?.name}"`
          : hasAdmissionFault(state, 'webhook-crashloop')
            ? `dial tcp: connect: connection refused (the webhook pod is crash-looping)`
            : hasAdmissionFault(state, 'webhook-cert-expired')
              ? 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid'
              : undefined;
      if (problem) {
        if (w.failurePolicy === 'Ignore') continue;
        throw new ClusterError('server', `${what}: Internal error occurred: failed calling webhook "${String(w.name)}": ${problem}`);
      }
      if (hasTtl(o)) continue;
      const env = ((deploy!.spec as { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } }).template?.spec?.containers?.[0]?.env) ?? [];
      const ttl = Number(env.find((e) => e.name === 'DEFAULT_TTL_SECONDS')?.value);
      if (Number.isFinite(ttl) && ttl > 0) setTtl(o, ttl);
    }
  }
}

/** Mutating admission of a new object (create, dry run or apply that creates). Changes `o` in place. */
export function admit(state: LabState, info: KindInfo, o: KubeObject, what: string): void {
  if (info.apiVersion !== 'batch/v1' || info.kind !== 'Job') return;
  const ns = o.metadata.namespace ?? 'default';
  viaPolicies(state, o, ns);
  viaWebhooks(state, o, ns, what);
}
