// The practice lab's Cluster port: an in-memory API server good enough for the add-on stages.
//
// What it models, because flows rely on it:
// - objects by apiVersion/kind/namespace/name with uid, resourceVersion and creationTimestamp; server-side
//   apply reports created/configured/unchanged like the real adapter (a resourceVersion bump on change);
// - namespaces: objects need an existing namespace; deleting a namespace removes its objects, or leaves it
//   Terminating while it still has finalizers (and then nothing new may be created in it); every new
//   namespace gets its `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap;
// - authentication: tokens (TokenRequest, service-account-token Secrets, the lab admin token) map to an
//   identity and stop working when they expire or when their ServiceAccount or bound object is deleted;
// - RBAC: ClusterRoles/Roles and their bindings evaluated like the real authorizer (verbs, groups,
//   resources, subresources, resourceNames, `*`), with the built-in `cluster-admin` and `view` roles;
//   group `system:masters` bypasses RBAC;
// - error messages worded like the real API server's, as ClusterError kinds like the real adapter.
// Not modelled: field ownership (apply merges; it never removes fields), RBAC escalation checks, admission
// webhooks, watches. The whole state exports to JSON (`snapshot()`, `LabCluster.restore()`); tokens are kept
// only as SHA-256 hashes, so a snapshot never holds a usable secret.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Json } from '../engine/types.ts';
import {
  ClusterError,
  describeObject,
  groupOf,
  type AccessQuestion,
  type ApplyOutcome,
  type ClusterPort,
  type Identity,
  type KubeObject,
  type TokenOptions,
} from '../ports/cluster.ts';

interface KindInfo {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const BUILTIN_KINDS: Array<[string, string, string, boolean]> = [
  ['v1', 'Namespace', 'namespaces', false],
  ['v1', 'Node', 'nodes', false],
  ['v1', 'PersistentVolume', 'persistentvolumes', false],
  ['v1', 'Pod', 'pods', true],
  ['v1', 'ConfigMap', 'configmaps', true],
  ['v1', 'Secret', 'secrets', true],
  ['v1', 'ServiceAccount', 'serviceaccounts', true],
  ['v1', 'Service', 'services', true],
  ['v1', 'Endpoints', 'endpoints', true],
  ['v1', 'Event', 'events', true],
  ['v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true],
  ['v1', 'LimitRange', 'limitranges', true],
  ['v1', 'ResourceQuota', 'resourcequotas', true],
  ['apps/v1', 'Deployment', 'deployments', true],
  ['apps/v1', 'DaemonSet', 'daemonsets', true],
  ['apps/v1', 'StatefulSet', 'statefulsets', true],
  ['apps/v1', 'ReplicaSet', 'replicasets', true],
  ['batch/v1', 'Job', 'jobs', true],
  ['batch/v1', 'CronJob', 'cronjobs', true],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false],
  ['rbac.authorization.k8s.io/v1', 'Role', 'roles', true],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', true],
  ['admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', false],
  ['admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', false],
  ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions', false],
  ['networking.k8s.io/v1', 'Ingress', 'ingresses', true],
  ['networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true],
  ['storage.k8s.io/v1', 'StorageClass', 'storageclasses', false],
  ['coordination.k8s.io/v1', 'Lease', 'leases', true],
  ['policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true],
];

const RBAC = 'rbac.authorization.k8s.io/v1';
const SA_TOKEN_TYPE = 'kubernetes.io/service-account-token';
const SNAPSHOT_VERSION = 1;
const MIN_TOKEN_SECONDS = 600;

interface TokenRecord {
  /** sha256 of the token, hex. */
  hash: string;
  username: string;
  groups: string[];
  /** ISO time, or null: never expires. */
  expiresAt: string | null;
  /** For service-account tokens: the SA that must still exist (same uid). */
  serviceAccount?: { namespace: string; name: string; uid: string };
  /** The object the token is bound to: the token dies with it. */
  bound?: { apiVersion: string; kind: string; namespace: string; name: string; uid: string };
}

interface LabState {
  server: string;
  clusterName: string;
  ca: string;
  rv: number;
  objects: Map<string, KubeObject>;
  tokens: Map<string, TokenRecord>;
  down: boolean;
  now: () => number;
}

type Caller = { identity: Identity } | { tokenHash: string };

export interface LabClusterOptions {
  /** API server URL the lab pretends to be. Default https://192.168.1.40:6443 (the default master). */
  server?: string;
  clusterName?: string;
  /** Nodes to register (with Ready condition); control-plane nodes also get the static control-plane pods. */
  nodes?: Array<{ name: string; role: 'control-plane' | 'worker' }>;
  /** Clock for token expiry (tests move time forward). */
  now?: () => number;
}

/** The identity of kubeadm's admin.conf. */
export const LAB_ADMIN: Identity = { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] };

export class LabCluster implements ClusterPort {
  private constructor(
    private readonly state: LabState,
    private readonly caller: Caller,
  ) {}

  /** A fresh lab cluster, seen as the kubeadm admin. */
  static create(opts: LabClusterOptions = {}): LabCluster {
    const state: LabState = {
      server: opts.server ?? 'https://192.168.1.40:6443',
      clusterName: opts.clusterName ?? 'kubernetes',
      ca: fakeCaPem(),
      rv: 1000,
      objects: new Map(),
      tokens: new Map(),
      down: false,
      now: opts.now ?? Date.now,
    };
    const lab = new LabCluster(state, { identity: { username: 'system:apiserver', groups: ['system:masters'] } });
    lab.bootstrap(opts.nodes ?? [{ name: 'n2-master', role: 'control-plane' }]);
    return new LabCluster(state, { identity: LAB_ADMIN });
  }

  /** Rebuilds a lab from `snapshot()`; the result is seen as the kubeadm admin. */
  static restore(json: Json, opts: { now?: () => number } = {}): LabCluster {
    const j = json as { version?: number; server?: string; clusterName?: string; ca?: string; rv?: number; objects?: KubeObject[]; tokens?: TokenRecord[] } | null;
    if (!j || typeof j !== 'object' || j.version !== SNAPSHOT_VERSION || typeof j.server !== 'string' || !Array.isArray(j.objects)) {
      throw new Error(`not a practice-lab cluster snapshot (version ${SNAPSHOT_VERSION})`);
    }
    const state: LabState = {
      server: j.server,
      clusterName: j.clusterName ?? 'kubernetes',
      ca: j.ca ?? fakeCaPem(),
      rv: j.rv ?? 1000,
      objects: new Map(),
      tokens: new Map(),
      down: false,
      now: opts.now ?? Date.now,
    };
    for (const o of j.objects) state.objects.set(keyOf(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name), clone(o));
    for (const t of j.tokens ?? []) state.tokens.set(t.hash, clone(t));
    return new LabCluster(state, { identity: LAB_ADMIN });
  }

  /** The whole lab as JSON: objects and token hashes (never a token itself). */
  snapshot(): Json {
    const objects = [...this.state.objects.values()].map((o) => clone(o));
    const tokens = [...this.state.tokens.values()].map((t) => clone(t));
    return clone({ version: SNAPSHOT_VERSION, server: this.state.server, clusterName: this.state.clusterName, ca: this.state.ca, rv: this.state.rv, objects, tokens }) as unknown as Json;
  }

  /** The same lab seen as another user (e.g. one without RBAC rights). */
  as(identity: Identity): LabCluster {
    return new LabCluster(this.state, { identity: { username: identity.username, groups: [...new Set([...identity.groups, 'system:authenticated'])] } });
  }

  /** The same lab seen through a token (as a kubeconfig with that token would see it). */
  withToken(token: string): LabCluster {
    return new LabCluster(this.state, { tokenHash: sha256(token) });
  }

  /** Practice "server down": every call fails as unreachable until set back. */
  setDown(down: boolean): void {
    this.state.down = down;
  }

  /** An admin kubeconfig for the lab (a never-expiring lab admin token), like /etc/kubernetes/admin.conf. */
  adminKubeconfig(): string {
    const token = `lab-admin-${randomBytes(24).toString('base64url')}`;
    this.state.tokens.set(sha256(token), { hash: sha256(token), username: LAB_ADMIN.username, groups: LAB_ADMIN.groups, expiresAt: null });
    const name = this.state.clusterName;
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${name}`,
      '  cluster:',
      `    server: ${this.state.server}`,
      `    certificate-authority-data: ${Buffer.from(this.state.ca).toString('base64')}`,
      'users:',
      '- name: kubernetes-admin',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      `- name: kubernetes-admin@${name}`,
      '  context:',
      `    cluster: ${name}`,
      '    user: kubernetes-admin',
      `current-context: kubernetes-admin@${name}`,
      '',
    ].join('\n');
  }

  get server(): string {
    return this.state.server;
  }

  caPem(): string {
    return this.state.ca;
  }

  async fromKubeconfig(path: string): Promise<ClusterPort> {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new ClusterError('config', code === 'ENOENT' ? `kubeconfig ${path} does not exist` : `cannot read kubeconfig ${path}: ${(err as Error).message}`);
    }
    let cfg: KubeconfigDoc;
    try {
      cfg = parseYaml(text) as KubeconfigDoc;
    } catch (err) {
      throw new ClusterError('config', `${path} is not a valid kubeconfig: ${(err as Error).message.split('\n')[0]}`);
    }
    const ctxName = cfg?.['current-context'];
    const ctx = cfg?.contexts?.find((c) => c.name === ctxName)?.context;
    const cluster = cfg?.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
    const user = cfg?.users?.find((u) => u.name === ctx?.user)?.user;
    if (!ctx || !cluster?.server || !user) throw new ClusterError('config', `${path}: the current context names no complete cluster and user`);
    if (cluster.server.replace(/\/+$/, '') !== this.state.server) {
      throw new ClusterError('unreachable', `cannot connect to the API server at ${cluster.server}: connection refused (the practice lab serves ${this.state.server})`);
    }
    const ca = cluster['certificate-authority-data'] ? Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8') : '';
    if (ca.trim() !== this.state.ca.trim()) {
      throw new ClusterError('tls', `${cluster.server}: the server's certificate is not signed by the CA in KUBECONFIG (${path})`, 'use the kubeconfig of this very cluster');
    }
    if (!user.token) throw new ClusterError('config', `${path}: the practice lab accepts only token users`);
    return new LabCluster(this.state, { tokenHash: sha256(user.token) });
  }

  // ------------------------------------------------------------------------------------ API

  async apply(objects: KubeObject[], opts: { signal?: AbortSignal } = {}): Promise<Array<{ object: KubeObject; outcome: ApplyOutcome }>> {
    const out: Array<{ object: KubeObject; outcome: ApplyOutcome }> = [];
    for (const input of objects) {
      opts.signal?.throwIfAborted();
      const what = `apply ${describeObject(input)}`;
      const id = this.authenticate(what);
      const info = this.kind(input.apiVersion, input.kind);
      const ns = info.namespaced ? (input.metadata.namespace ?? 'default') : undefined;
      this.authorize(id, what, { verb: 'patch', info, namespace: ns, name: input.metadata.name });
      const key = keyOf(info.apiVersion, info.kind, ns, input.metadata.name);
      const existing = this.state.objects.get(key);
      const applied = stripServerFields(clone(input));
      if (ns) applied.metadata.namespace = ns;
      if (!existing) {
        this.authorize(id, what, { verb: 'create', info, namespace: ns, name: input.metadata.name });
        const created = this.insert(info, applied, what);
        out.push({ object: clone(created), outcome: 'created' });
        continue;
      }
      const merged = mergeApply(existing, applied);
      if (canonical(stripServerFields(clone(merged))) === canonical(stripServerFields(clone(existing)))) {
        out.push({ object: clone(existing), outcome: 'unchanged' });
        continue;
      }
      this.validate(info, merged, what);
      merged.metadata.resourceVersion = String(++this.state.rv);
      this.state.objects.set(key, merged);
      this.afterWrite(merged);
      out.push({ object: clone(merged), outcome: 'configured' });
    }
    return out;
  }

  async create(object: KubeObject, opts: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<KubeObject> {
    opts.signal?.throwIfAborted();
    const what = `create ${describeObject(object)}`;
    const id = this.authenticate(what);
    const info = this.kind(object.apiVersion, object.kind);
    const ns = info.namespaced ? (object.metadata.namespace ?? 'default') : undefined;
    this.authorize(id, what, { verb: 'create', info, namespace: ns });
    const o = stripServerFields(clone(object));
    if (ns) o.metadata.namespace = ns;
    if (!o.metadata.name && typeof o.metadata.generateName === 'string') o.metadata.name = `${o.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    if (this.state.objects.has(keyOf(info.apiVersion, info.kind, ns, o.metadata.name))) {
      throw new ClusterError('conflict', `${what}: ${info.plural} "${o.metadata.name}" already exists`, 'it exists already');
    }
    if (opts.dryRun) {
      this.validate(info, o, what);
      this.checkNamespace(info, o, what);
      return o;
    }
    return clone(this.insert(info, o, what));
  }

  async get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | null> {
    const what = `get ${kind} ${namespace ? `${namespace}/` : ''}${name}`;
    const id = this.authenticate(what);
    const info = this.kind(apiVersion, kind);
    const ns = info.namespaced ? (namespace ?? 'default') : undefined;
    this.authorize(id, what, { verb: 'get', info, namespace: ns, name });
    const o = this.state.objects.get(keyOf(info.apiVersion, info.kind, ns, name));
    return o ? clone(o) : null;
  }

  async list(apiVersion: string, kind: string, namespace?: string, opts: { labelSelector?: string } = {}): Promise<KubeObject[]> {
    const info = this.kind(apiVersion, kind);
    const where = namespace ? ` in namespace ${namespace}` : info.namespaced ? ' in all namespaces' : '';
    const what = `list ${kind}${where}`;
    const id = this.authenticate(what);
    const ns = info.namespaced ? namespace : undefined;
    this.authorize(id, what, { verb: 'list', info, namespace: ns });
    const match = parseSelector(opts.labelSelector);
    return [...this.state.objects.values()]
      .filter((o) => o.apiVersion === info.apiVersion && o.kind === info.kind && (ns === undefined || o.metadata.namespace === ns) && match(o))
      .map((o) => clone(o));
  }

  async delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean> {
    const what = `delete ${kind} ${namespace ? `${namespace}/` : ''}${name}`;
    const id = this.authenticate(what);
    const info = this.kind(apiVersion, kind);
    const ns = info.namespaced ? (namespace ?? 'default') : undefined;
    this.authorize(id, what, { verb: 'delete', info, namespace: ns, name });
    const key = keyOf(info.apiVersion, info.kind, ns, name);
    const o = this.state.objects.get(key);
    if (!o) return false;
    this.remove(key, o);
    return true;
  }

  async waitFor(
    apiVersion: string,
    kind: string,
    name: string,
    namespace: string | undefined,
    ok: (o: KubeObject) => boolean,
    opts: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<KubeObject> {
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      opts.signal?.throwIfAborted();
      const o = await this.get(apiVersion, kind, name, namespace);
      if (o && ok(o)) return o;
      if (Date.now() >= deadline) {
        throw new ClusterError('timeout', `timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${kind} ${namespace ? `${namespace}/` : ''}${name} on ${this.state.server}${o ? '' : ' (it does not exist)'}`);
      }
      await new Promise((r) => setTimeout(r, Math.min(20, Math.max(1, deadline - Date.now()))));
    }
  }

  async createToken(namespace: string, serviceAccount: string, seconds: number, opts: TokenOptions = {}): Promise<{ token: string; expiresAt: string }> {
    opts.signal?.throwIfAborted();
    const what = `create a token for ServiceAccount ${namespace}/${serviceAccount}`;
    const id = this.authenticate(what);
    const info = this.kind('v1', 'ServiceAccount');
    this.authorize(id, what, { verb: 'create', info, namespace, name: serviceAccount, subresource: 'token' });
    const sa = this.state.objects.get(keyOf('v1', 'ServiceAccount', namespace, serviceAccount));
    if (!sa) throw new ClusterError('not-found', `${what}: serviceaccounts "${serviceAccount}" not found`);
    if (!Number.isInteger(seconds) || seconds < MIN_TOKEN_SECONDS) {
      throw new ClusterError('invalid', `${what}: TokenRequest.authentication.k8s.io "${serviceAccount}" is invalid: spec.expirationSeconds: Invalid value: ${seconds}: may not specify a duration less than 10 minutes`);
    }
    let bound: TokenRecord['bound'];
    if (opts.boundObjectRef) {
      const { kind, name } = opts.boundObjectRef;
      const b = this.state.objects.get(keyOf('v1', kind, namespace, name));
      if (!b) throw new ClusterError('not-found', `${what}: ${kind.toLowerCase()}s "${name}" not found`);
      bound = { apiVersion: 'v1', kind, namespace, name, uid: String(b.metadata.uid) };
    }
    const token = `lab.${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(Math.floor(this.state.now() / 1000) * 1000 + seconds * 1000).toISOString().replace('.000Z', 'Z');
    this.state.tokens.set(sha256(token), {
      hash: sha256(token),
      ...saIdentity(namespace, serviceAccount),
      expiresAt,
      serviceAccount: { namespace, name: serviceAccount, uid: String(sa.metadata.uid) },
      bound,
    });
    return { token, expiresAt };
  }

  async canI(q: AccessQuestion): Promise<boolean> {
    const id = this.authenticate(`ask whether we may ${q.verb} ${q.resource}`);
    return allowed(this.state, id, {
      verb: q.verb,
      group: q.group ?? '',
      resource: q.resource,
      subresource: q.subresource,
      namespace: q.namespace,
      name: q.name,
    });
  }

  async whoami(): Promise<Identity> {
    const id = this.authenticate('ask who we are');
    return { username: id.username, groups: [...id.groups] };
  }

  // ------------------------------------------------------------------------------------ internals

  private authenticate(what: string): Identity {
    if (this.state.down) {
      throw new ClusterError('unreachable', `cannot connect to the API server at ${this.state.server}: connection refused (${what})`, 'is kube-apiserver running? (practice lab: the server is switched off)');
    }
    if ('identity' in this.caller) return this.caller.identity;
    const unauthorized = () =>
      new ClusterError('unauthorized', `${what}: the API server at ${this.state.server} rejected the credentials (401 Unauthorized)`, 'the token may have expired or been revoked; get a fresh kubeconfig');
    const t = this.state.tokens.get(this.caller.tokenHash);
    if (!t) throw unauthorized();
    if (t.expiresAt !== null && Date.parse(t.expiresAt) <= this.state.now()) throw unauthorized();
    if (t.serviceAccount) {
      const sa = this.state.objects.get(keyOf('v1', 'ServiceAccount', t.serviceAccount.namespace, t.serviceAccount.name));
      if (!sa || sa.metadata.uid !== t.serviceAccount.uid) throw unauthorized();
    }
    if (t.bound) {
      const b = this.state.objects.get(keyOf(t.bound.apiVersion, t.bound.kind, t.bound.namespace, t.bound.name));
      if (!b || b.metadata.uid !== t.bound.uid || b.metadata.deletionTimestamp) throw unauthorized();
    }
    return { username: t.username, groups: t.groups };
  }

  private authorize(id: Identity, what: string, a: { verb: string; info: KindInfo; namespace?: string; name?: string; subresource?: string }): void {
    const group = groupOf(a.info.apiVersion);
    if (allowed(this.state, id, { verb: a.verb, group, resource: a.info.plural, subresource: a.subresource, namespace: a.namespace, name: a.name })) return;
    const res = a.subresource ? `${a.info.plural}/${a.subresource}` : a.info.plural;
    const subject = a.name && a.verb !== 'create' ? `${a.info.plural} "${a.name}"` : a.info.plural;
    const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
    throw new ClusterError(
      'forbidden',
      `${what}: ${subject} is forbidden: User "${id.username}" cannot ${a.verb} resource "${res}" in API group "${group}" ${scope}`,
      'use a kubeconfig with the right (e.g. the admin kubeconfig), or ask a cluster admin to grant it',
    );
  }

  private kind(apiVersion: string, kind: string): KindInfo {
    const builtin = BUILTIN_KINDS.find(([v, k]) => v === apiVersion && k === kind);
    if (builtin) return { apiVersion, kind, plural: builtin[2], namespaced: builtin[3] };
    for (const crd of this.state.objects.values()) {
      if (crd.kind !== 'CustomResourceDefinition') continue;
      const spec = crd.spec as { group?: string; scope?: string; names?: { kind?: string; plural?: string }; versions?: Array<{ name: string }> } | undefined;
      if (spec?.names?.kind !== kind || !spec.group || !spec.names.plural) continue;
      if ((spec.versions ?? []).some((v) => `${spec.group}/${v.name}` === apiVersion)) {
        return { apiVersion, kind, plural: spec.names.plural, namespaced: spec.scope !== 'Cluster' };
      }
    }
    throw new ClusterError('not-found', `the API server at ${this.state.server} has no kind ${kind} in ${apiVersion}`, 'check apiVersion and kind; for a custom resource, install its CRD first');
  }

  private validate(info: KindInfo, o: KubeObject, what: string): void {
    const name = o.metadata.name;
    const rbac = info.apiVersion === RBAC;
    const ok = rbac ? name.length > 0 && !/[/%]/.test(name) && name !== '.' && name !== '..' : isDnsSubdomain(name);
    if (!ok) {
      const why = rbac
        ? 'may not contain "/" or "%"'
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
      throw new ClusterError('invalid', `${what}: ${info.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": ${why}`);
    }
    if (info.kind === 'Namespace' && !isDnsLabel(name)) {
      throw new ClusterError('invalid', `${what}: Namespace "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`);
    }
    if (info.kind === 'RoleBinding' || info.kind === 'ClusterRoleBinding') {
      const ref = o.roleRef as { kind?: string; name?: string } | undefined;
      if (!ref?.kind || !ref.name) throw new ClusterError('invalid', `${what}: ${info.kind} "${name}" is invalid: roleRef: Required value`);
    }
  }

  private checkNamespace(info: KindInfo, o: KubeObject, what: string): void {
    if (!info.namespaced) return;
    const ns = this.state.objects.get(keyOf('v1', 'Namespace', undefined, o.metadata.namespace ?? 'default'));
    if (!ns) throw new ClusterError('not-found', `${what}: namespaces "${o.metadata.namespace}" not found`, `create the namespace first`);
    if (ns.metadata.deletionTimestamp) {
      throw new ClusterError('forbidden', `${what}: ${info.plural} "${o.metadata.name}" is forbidden: unable to create new content in namespace ${o.metadata.namespace} because it is being terminated`, 'wait until the namespace is gone, or use another namespace');
    }
  }

  private insert(info: KindInfo, o: KubeObject, what: string): KubeObject {
    this.validate(info, o, what);
    this.checkNamespace(info, o, what);
    const created: KubeObject = {
      ...o,
      apiVersion: info.apiVersion,
      kind: info.kind,
      metadata: { ...o.metadata, uid: randomUUID(), resourceVersion: String(++this.state.rv), creationTimestamp: isoSeconds(this.state.now()) },
    };
    if (info.kind === 'Namespace') created.status = { phase: 'Active' };
    this.state.objects.set(keyOf(info.apiVersion, info.kind, created.metadata.namespace, created.metadata.name), created);
    this.afterWrite(created);
    return created;
  }

  /** The lab's controllers, run synchronously after a write. */
  private afterWrite(o: KubeObject): void {
    // serviceaccount controller + root-ca publisher: every namespace gets `default` and kube-root-ca.crt.
    if (o.kind === 'Namespace' && !o.metadata.deletionTimestamp) {
      const ns = o.metadata.name;
      if (!this.state.objects.has(keyOf('v1', 'ServiceAccount', ns, 'default'))) {
        this.insert(this.kind('v1', 'ServiceAccount'), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } }, 'serviceaccount controller');
      }
      if (!this.state.objects.has(keyOf('v1', 'ConfigMap', ns, 'kube-root-ca.crt'))) {
        this.insert(this.kind('v1', 'ConfigMap'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: ns }, data: { 'ca.crt': this.state.ca } }, 'root-ca-cert-publisher');
      }
    }
    // token controller: a service-account-token Secret gets a never-expiring token for its ServiceAccount.
    if (o.kind === 'Secret' && o.type === SA_TOKEN_TYPE) {
      const data = (o.data ?? {}) as Record<string, string>;
      const saName = (o.metadata.annotations as Record<string, string> | undefined)?.['kubernetes.io/service-account.name'];
      const ns = o.metadata.namespace ?? 'default';
      const sa = saName ? this.state.objects.get(keyOf('v1', 'ServiceAccount', ns, saName)) : undefined;
      if (sa && saName && !data.token) {
        const token = `lab.${randomBytes(32).toString('base64url')}`;
        this.state.tokens.set(sha256(token), {
          hash: sha256(token),
          ...saIdentity(ns, saName),
          expiresAt: null,
          serviceAccount: { namespace: ns, name: saName, uid: String(sa.metadata.uid) },
          bound: { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: o.metadata.name, uid: String(o.metadata.uid) },
        });
        o.data = { ...data, token: b64(token), 'ca.crt': b64(this.state.ca), namespace: b64(ns) };
        o.metadata.annotations = { ...(o.metadata.annotations as Record<string, string>), 'kubernetes.io/service-account.uid': String(sa.metadata.uid) };
        o.metadata.resourceVersion = String(++this.state.rv);
      }
    }
  }

  private remove(key: string, o: KubeObject): void {
    const finalizers = (o.metadata.finalizers as string[] | undefined) ?? [];
    if (finalizers.length > 0) {
      if (!o.metadata.deletionTimestamp) {
        o.metadata.deletionTimestamp = isoSeconds(this.state.now());
        if (o.kind === 'Namespace') o.status = { phase: 'Terminating' };
        o.metadata.resourceVersion = String(++this.state.rv);
      }
      return;
    }
    this.state.objects.delete(key);
    if (o.kind === 'Namespace') {
      for (const [k, v] of [...this.state.objects]) if (v.metadata.namespace === o.metadata.name) this.state.objects.delete(k);
    }
  }

  private bootstrap(nodes: Array<{ name: string; role: 'control-plane' | 'worker' }>): void {
    const sys = (o: KubeObject) => this.insert(this.kind(o.apiVersion, o.kind), o, 'bootstrap');
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) sys({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    sys({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'cluster-admin' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }] });
    sys({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'view' }, rules: VIEW_RULES });
    sys({
      apiVersion: RBAC,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubeadm:cluster-admins' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeadm:cluster-admins' }],
    });
    for (const n of nodes) {
      sys({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: n.name, labels: { 'kubernetes.io/arch': 'arm64', 'kubernetes.io/hostname': n.name, ...(n.role === 'control-plane' ? { 'node-role.kubernetes.io/control-plane': '' } : {}) } },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      });
      if (n.role === 'control-plane') {
        for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
          sys({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${c}-${n.name}`, namespace: 'kube-system', labels: { component: c, tier: 'control-plane' } }, spec: { nodeName: n.name }, status: { phase: 'Running' } });
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------------------ RBAC

interface Attributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

function allowed(state: LabState, id: Identity, a: Attributes): boolean {
  if (id.groups.includes('system:masters')) return true;
  const rolesRules = (ref: { kind?: string; name?: string } | undefined, ns?: string): PolicyRule[] => {
    if (!ref?.name) return [];
    const role = ref.kind === 'Role' ? state.objects.get(keyOf(RBAC, 'Role', ns, ref.name)) : state.objects.get(keyOf(RBAC, 'ClusterRole', undefined, ref.name));
    return (role?.rules as PolicyRule[] | undefined) ?? [];
  };
  for (const o of state.objects.values()) {
    if (o.apiVersion !== RBAC) continue;
    if (o.kind === 'ClusterRoleBinding') {
      if (!subjectsMatch(o.subjects as Subject[] | undefined, id)) continue;
      if (rolesRules(o.roleRef as { kind?: string; name?: string }).some((r) => ruleAllows(r, a))) return true;
    } else if (o.kind === 'RoleBinding' && a.namespace !== undefined && o.metadata.namespace === a.namespace) {
      if (!subjectsMatch(o.subjects as Subject[] | undefined, id)) continue;
      if (rolesRules(o.roleRef as { kind?: string; name?: string }, a.namespace).some((r) => ruleAllows(r, a))) return true;
    }
  }
  return false;
}

function subjectsMatch(subjects: Subject[] | undefined, id: Identity): boolean {
  return (subjects ?? []).some((s) => {
    if (s.kind === 'User') return s.name === id.username;
    if (s.kind === 'Group') return id.groups.includes(s.name);
    if (s.kind === 'ServiceAccount') return id.username === `system:serviceaccount:${s.namespace ?? ''}:${s.name}`;
    return false;
  });
}

function ruleAllows(r: PolicyRule, a: Attributes): boolean {
  if (r.nonResourceURLs && !r.resources) return false;
  const has = (list: string[] | undefined, v: string) => (list ?? []).includes('*') || (list ?? []).includes(v);
  if (!has(r.verbs, a.verb)) return false;
  if (!has(r.apiGroups, a.group)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = r.resources ?? [];
  const resOk = resources.some((x) => x === '*' || x === combined || (a.subresource !== undefined && (x === `*/${a.subresource}` || x === `${a.resource}/*`)));
  if (!resOk) return false;
  if (r.resourceNames && r.resourceNames.length > 0) return a.name !== undefined && r.resourceNames.includes(a.name);
  return true;
}

function saIdentity(namespace: string, name: string): { username: string; groups: string[] } {
  return { username: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] };
}

/** The built-in `view` ClusterRole as the real aggregation produces it (abridged to the stable groups). */
const VIEW_RULES: PolicyRule[] = [
  {
    apiGroups: [''],
    resources: ['configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status'],
    verbs: ['get', 'list', 'watch'],
  },
  {
    apiGroups: [''],
    resources: ['bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status'],
    verbs: ['get', 'list', 'watch'],
  },
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
  {
    apiGroups: ['apps'],
    resources: ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status'],
    verbs: ['get', 'list', 'watch'],
  },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['batch'], resources: ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets', 'poddisruptionbudgets/status'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingresses/status', 'networkpolicies'], verbs: ['get', 'list', 'watch'] },
];

// ------------------------------------------------------------------------------------------ helpers

interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: Array<{ name: string; context?: { cluster?: string; user?: string } }>;
  clusters?: Array<{ name: string; cluster?: { server?: string; 'certificate-authority-data'?: string } }>;
  users?: Array<{ name: string; user?: { token?: string } }>;
}

function keyOf(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
  return `${apiVersion}|${kind}|${namespace ?? ''}|${name}`;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function fakeCaPem(): string {
  const body = Buffer.from(`boardkube practice lab CA ${randomUUID()}`).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s);
}

function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && s.split('.').every((p) => p.length > 0 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p));
}

const SERVER_FIELDS = ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation', 'selfLink'];

function stripServerFields(o: KubeObject): KubeObject {
  for (const f of SERVER_FIELDS) delete o.metadata[f];
  return o;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Apply, simplified: maps merge key by key, everything else (lists too) is replaced by the applied value. */
function mergeApply(existing: KubeObject, applied: KubeObject): KubeObject {
  const merge = (a: unknown, b: unknown): unknown => {
    if (isPlainObject(a) && isPlainObject(b)) {
      const out: Record<string, unknown> = { ...a };
      for (const [k, v] of Object.entries(b)) out[k] = k in a ? merge(a[k], v) : clone(v);
      return out;
    }
    return clone(b);
  };
  return merge(clone(existing), applied) as KubeObject;
}

/** JSON with sorted keys, for comparing objects. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Equality-based label selectors: "a=b,c!=d,e" (exists), "!f" (absent). */
function parseSelector(sel: string | undefined): (o: KubeObject) => boolean {
  if (!sel) return () => true;
  const terms = sel.split(',').map((t) => t.trim()).filter(Boolean);
  return (o) => {
    const labels = (o.metadata.labels as Record<string, string> | undefined) ?? {};
    return terms.every((t) => {
      const ne = /^([^!=]+)!=(.*)$/.exec(t);
      if (ne) return labels[ne[1]!.trim()] !== ne[2]!.trim();
      const eq = /^([^!=]+)==?(.*)$/.exec(t);
      if (eq) return labels[eq[1]!.trim()] === eq[2]!.trim();
      if (t.startsWith('!')) return !(t.slice(1) in labels);
      return t in labels;
    });
  };
}
