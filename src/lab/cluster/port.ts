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
//
// This module is the port itself (each call: authenticate, authorize, then the store); the jobs behind it
// live beside it: state, kinds, validation, store, bootstrap, server-side-apply, label-selector, rbac,
// builtin-roles, tokens, kubeconfig, snapshot.
import { randomBytes } from 'node:crypto';
import type { Json } from '../../engine/types.ts';
import { pollUntil } from '../../ports/cluster-wait.ts';
import {
  ClusterError,
  describeObject,
  type AccessQuestion,
  type ApplyOutcome,
  type ClusterPort,
  type Identity,
  type KubeObject,
  type TokenOptions,
} from '../../ports/cluster.ts';
import { bootstrap, registerNode, type LabNode } from './bootstrap.ts';
import { adminKubeconfigText, tokenFromKubeconfig } from './kubeconfig.ts';
import { resolveKind, type KindInfo } from './kinds.ts';
import { parseSelector } from './label-selector.ts';
import { allowed, authorize } from './rbac.ts';
import { mergeApply, sameContent, stripServerFields } from './server-side-apply.ts';
import { snapshotOf, stateFromSnapshot } from './snapshot.ts';
import { clone, fakeCaPem, keyOf, type LabState } from './state.ts';
import { insertObject, removeObject, replaceObject } from './store.ts';
import { advanceJobs, onJobComplete, type JobListener } from './jobs.ts';
import { admit, expireWebhookCertificates, setAdmissionFault, type AdmissionFault } from './admission.ts';
import { advanceDeployments } from './workloads.ts';
import { authenticate, issueAdminToken, LAB_ADMIN, requestToken, sha256, type Caller } from './tokens.ts';
import { checkNamespace, validate } from './validation.ts';

export { LAB_ADMIN };

export interface LabClusterOptions {
  /** API server URL the lab pretends to be. Default https://192.168.1.40:6443 (the default master). */
  server?: string;
  clusterName?: string;
  /** Nodes to register (with Ready condition); control-plane nodes also get the static control-plane pods. */
  nodes?: LabNode[];
  /** Clock for token expiry (tests move time forward). */
  now?: () => number;
}

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
    bootstrap(state, opts.nodes ?? [{ name: 'n2-master', role: 'control-plane' }]);
    return new LabCluster(state, { identity: LAB_ADMIN });
  }

  /** Rebuilds a lab from `snapshot()`; the result is seen as the kubeadm admin. */
  static restore(json: Json, opts: { now?: () => number } = {}): LabCluster {
    return new LabCluster(stateFromSnapshot(json, opts.now ?? Date.now), { identity: LAB_ADMIN });
  }

  /** The whole lab as JSON: objects and token hashes (never a token itself). */
  snapshot(): Json {
    return snapshotOf(this.state);
  }

  /** The same lab seen as another user (e.g. one without RBAC rights). */
  as(identity: Identity): LabCluster {
    return new LabCluster(this.state, { identity: { username: identity.username, groups: [...new Set([...identity.groups, 'system:authenticated'])] } });
  }

  /** The same lab seen through a token (as a kubeconfig with that token would see it). */
  withToken(token: string): LabCluster {
    return new LabCluster(this.state, { tokenHash: sha256(token) });
  }

  /** Lets a simulation keep what a Job's pod did (the lab runs no pods): called as each Job succeeds. */
  onJobComplete(l: JobListener): void {
    onJobComplete(this.state, l);
  }

  /** A board of the lab joined the cluster: its Node appears, Ready (as its kubelet would register it). */
  registerNode(node: LabNode): void {
    registerNode(this.state, node);
  }

  /** Practice faults of the add-on stages: the webhook pod crash-looping, its certificate expired. */
  setFault(fault: AdmissionFault, on: boolean): void {
    setAdmissionFault(this.state, fault, on);
  }

  /** Practice fault webhook-cert-expired (an event, not a state): the webhook's certificate has run out. */
  expireWebhookCertificates(): number {
    return expireWebhookCertificates(this.state);
  }

  /** Practice "server down": every call fails as unreachable until set back. */
  setDown(down: boolean): void {
    this.state.down = down;
  }

  /** An admin kubeconfig for the lab (a never-expiring lab admin token), like /etc/kubernetes/admin.conf. */
  adminKubeconfig(): string {
    return adminKubeconfigText(this.state, issueAdminToken(this.state));
  }

  get server(): string {
    return this.state.server;
  }

  caPem(): string {
    return this.state.ca;
  }

  async fromKubeconfig(path: string): Promise<ClusterPort> {
    return new LabCluster(this.state, { tokenHash: sha256(tokenFromKubeconfig(this.state, path)) });
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
      const applied = asStored(stripServerFields(clone(input)));
      if (ns) applied.metadata.namespace = ns;
      if (!existing) {
        this.authorize(id, what, { verb: 'create', info, namespace: ns, name: input.metadata.name });
        admit(this.state, info, applied, what);
        const created = insertObject(this.state, info, applied, what);
        out.push({ object: clone(created), outcome: 'created' });
        continue;
      }
      const merged = mergeApply(existing, applied);
      if (sameContent(merged, existing)) {
        out.push({ object: clone(existing), outcome: 'unchanged' });
        continue;
      }
      validate(info, merged, what);
      replaceObject(this.state, key, merged);
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
    const o = asStored(stripServerFields(clone(object)));
    if (ns) o.metadata.namespace = ns;
    if (!o.metadata.name && typeof o.metadata.generateName === 'string') o.metadata.name = `${o.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    admit(this.state, info, o, what);
    if (this.state.objects.has(keyOf(info.apiVersion, info.kind, ns, o.metadata.name))) {
      throw new ClusterError('conflict', `${what}: ${info.plural} "${o.metadata.name}" already exists`, 'it exists already');
    }
    if (opts.dryRun) {
      validate(info, o, what);
      checkNamespace(this.state, info, o, what);
      return o;
    }
    return clone(insertObject(this.state, info, o, what));
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
    removeObject(this.state, key, o);
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
    return pollUntil(() => this.get(apiVersion, kind, name, namespace), ok, { kind, name, namespace, server: this.state.server }, {
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      pause: (leftMs) => new Promise((r) => setTimeout(r, Math.min(20, Math.max(1, leftMs)))),
    });
  }

  async createToken(namespace: string, serviceAccount: string, seconds: number, opts: TokenOptions = {}): Promise<{ token: string; expiresAt: string }> {
    opts.signal?.throwIfAborted();
    const what = `create a token for ServiceAccount ${namespace}/${serviceAccount}`;
    const id = this.authenticate(what);
    const info = this.kind('v1', 'ServiceAccount');
    this.authorize(id, what, { verb: 'create', info, namespace, name: serviceAccount, subresource: 'token' });
    return requestToken(this.state, what, namespace, serviceAccount, seconds, opts);
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
    advanceJobs(this.state);
    advanceDeployments(this.state);
    return authenticate(this.state, this.caller, what);
  }

  private authorize(id: Identity, what: string, a: { verb: string; info: KindInfo; namespace?: string; name?: string; subresource?: string }): void {
    authorize(this.state, id, what, a);
  }

  private kind(apiVersion: string, kind: string): KindInfo {
    return resolveKind(this.state, apiVersion, kind);
  }
}

/** As the API server stores a Secret: stringData written into data (base64), so readers find values in one place. */
function asStored(o: KubeObject): KubeObject {
  if (o.kind !== 'Secret' || !o.stringData) return o;
  const written = Object.entries(o.stringData as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]);
  o.data = { ...((o.data as Record<string, string> | undefined) ?? {}), ...Object.fromEntries(written) };
  delete o.stringData;
  return o;
}
