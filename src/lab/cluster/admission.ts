// The lab's mutating admission for Jobs. The lab cannot run CEL nor call a server, so it understands the
// shapes boardkube writes and nothing else:
// - a MutatingAdmissionPolicy (+ binding) whose match condition is `!has(object.spec.ttlSecondsAfterFinished)`
//   and whose ApplyConfiguration sets `ttlSecondsAfterFinished: N`, with a NotIn namespaceSelector;
// - a MutatingWebhookConfiguration for jobs whose Service points at a Deployment of the lab: the "server"
//   answers like flows/webhook/server/job-ttl-webhook.mjs (its DEFAULT_TTL_SECONDS env) while its pod is
//   ready and the certificate in the Secret it mounts is valid for the Service, unexpired, and signed by the
//   caBundle (checked for real with X509Certificate); otherwise its failurePolicy decides (Ignore: admitted
//   unchanged). Practice faults: the webhook pod crash-looping; the certificate expired (its Secret gets a
//   certificate that ran out a month ago, as if the cluster had been left alone for a year).
import { X509Certificate } from 'node:crypto';
import type { KubeObject } from '../../ports/cluster.ts';
import { ClusterError } from '../../ports/cluster.ts';
import { issue } from '../../util/x509.ts';
import type { KindInfo } from './kinds.ts';
import { keyOf, type LabState } from './state.ts';

export type AdmissionFault = 'webhook-crashloop' | 'registry-no-storage';
export const LAB_CLUSTER_FAULTS = {
  'webhook-crashloop': 'the Job TTL webhook pod keeps crashing',
  'webhook-cert-expired': "the Job TTL webhook's certificate has expired",
  'registry-no-storage': "the registry's storage node has no room: the kubelet taints it disk-pressure and the registry pod stays Pending",
} as const;
/** Faults that stay on until cluster:none (the others happen once, when set). */
export const STICKY_CLUSTER_FAULTS: readonly AdmissionFault[] = ['webhook-crashloop', 'registry-no-storage'];
export type LabClusterFault = keyof typeof LAB_CLUSTER_FAULTS;

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
      const ready = ((deploy?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0) > 0;
      const problem = !deploy || !ready ? `no endpoints available for service "${svc?.name}"` : tlsProblem(state, deploy, svc!, String((w.clientConfig as { caBundle?: string }).caBundle ?? ''));
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

function mountedSecret(state: LabState, deploy: KubeObject): KubeObject | undefined {
  const vols = ((deploy.spec as { template?: { spec?: { volumes?: Array<{ secret?: { secretName?: string } }> } } }).template?.spec?.volumes) ?? [];
  const name = vols.find((v) => v.secret?.secretName)?.secret?.secretName;
  return name ? state.objects.get(keyOf('v1', 'Secret', deploy.metadata.namespace, name)) : undefined;
}

/** What the API server's TLS handshake with the webhook would say about its certificate (undefined: fine). */
function tlsProblem(state: LabState, deploy: KubeObject, svc: { name: string; namespace: string }, caBundle: string): string | undefined {
  const data = (mountedSecret(state, deploy)?.data ?? {}) as Record<string, string>;
  try {
    const cert = new X509Certificate(Buffer.from(data['tls.crt'] ?? '', 'base64'));
    const ca = new X509Certificate(Buffer.from(caBundle, 'base64'));
    const now = state.now();
    if (cert.validToDate.getTime() < now || cert.validFromDate.getTime() > now) return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    if (!cert.checkHost(`${svc.name}.${svc.namespace}.svc`)) return `tls: failed to verify certificate: x509: certificate is not valid for ${svc.name}.${svc.namespace}.svc`;
    return undefined;
  } catch {
    return 'remote error: tls: the webhook pod has no usable certificate';
  }
}

/** Practice fault webhook-cert-expired: the webhook's Secret now holds a certificate that expired a month ago. */
export function expireWebhookCertificates(state: LabState): number {
  let n = 0;
  for (const s of state.objects.values()) {
    if (s.kind !== 'Secret' || s.type !== 'kubernetes.io/tls' || (s.metadata.labels as Record<string, string> | undefined)?.['app.kubernetes.io/part-of'] !== 'boardkube-webhook') continue;
    const data = (s.data ?? {}) as Record<string, string>;
    let names: string[];
    try {
      names = (new X509Certificate(Buffer.from(data['tls.crt'] ?? '', 'base64')).subjectAltName ?? '').split(', ').map((x) => x.replace(/^DNS:/, ''));
    } catch {
      continue;
    }
    const then = new Date(state.now() - 395 * 86_400_000);
    const ca = issue({ commonName: 'boardkube webhook CA (expired)', days: 366, ca: true, now: then });
    const leaf = issue({ commonName: names[names.length - 1] ?? 'webhook', days: 365, altNames: names, issuer: { certCommonName: 'boardkube webhook CA (expired)', key: ca.keyPem }, now: then });
    const b64 = (x: string) => Buffer.from(x).toString('base64');
    s.data = { 'tls.crt': b64(leaf.certPem), 'tls.key': b64(leaf.keyPem), 'ca.crt': b64(ca.certPem) };
    s.metadata.resourceVersion = String(++state.rv);
    n++;
  }
  return n;
}

/** Mutating admission of a new object (create, dry run or apply that creates). Changes `o` in place. */
export function admit(state: LabState, info: KindInfo, o: KubeObject, what: string): void {
  if (info.apiVersion !== 'batch/v1' || info.kind !== 'Job') return;
  const ns = o.metadata.namespace ?? 'default';
  viaPolicies(state, o, ns);
  viaWebhooks(state, o, ns, what);
}
