// The real Cluster port: the Kubernetes API through @kubernetes/client-node.
//
// The library loads the kubeconfig and authenticates each request (client certificates, tokens, exec plugins,
// proxies) and its own undici fetch sends it; the requests themselves are plain REST calls built here, so that
// every failure can be turned into a ClusterError that names the server, the verb and the object, with a fix.
import * as fs from 'node:fs';
import { IsomorphicFetchHttpLibrary, KubeConfig, RequestContext, type HttpMethod } from '@kubernetes/client-node';
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

export const FIELD_MANAGER = 'boardkube';

export interface LoadClusterOptions {
  /** Context to use instead of the kubeconfig's current-context. */
  context?: string;
  /** Per-request timeout (ms). Default 15 s. */
  requestTimeoutMs?: number;
  /** Poll interval of waitFor (ms). Default 500. */
  pollMs?: number;
}

interface ResourceInfo {
  /** Plural resource name, e.g. "configmaps". */
  name: string;
  namespaced: boolean;
}

interface KubeStatus {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: Array<{ field?: string; message?: string; reason?: string }> };
}

const ADMIN_KUBECONFIG_HINT = 'on a kubeadm master the admin kubeconfig is /etc/kubernetes/admin.conf';

/**
 * Loads a kubeconfig and returns a ClusterPort for its current context (or opts.context).
 * Throws ClusterError('config') when the file is missing, unreadable or not a usable kubeconfig.
 * Nothing is sent to the server until the first call.
 */
export function loadCluster(kubeconfigPath: string, opts: LoadClusterOptions = {}): KubeCluster {
  return new KubeCluster(kubeconfigPath, opts);
}

/**
 * Whether our apply changed the object. A resourceVersion that moved is not enough: a controller may have written
 * meanwhile (a Deployment's revision, its status). So: did our managedFields entry change, or did any part we sent
 * (everything but status, and our own labels and annotations) read differently afterwards?
 */
function applyChanged(sent: KubeObject, before: KubeObject, after: KubeObject): boolean {
  if (before.metadata.resourceVersion === after.metadata.resourceVersion) return false;
  const entry = (o: KubeObject) =>
    JSON.stringify(((o.metadata.managedFields ?? []) as Array<{ manager?: string; operation?: string; subresource?: string }>).find((e) => e.manager === FIELD_MANAGER && e.operation === 'Apply' && !e.subresource) ?? null);
  if (entry(before) !== entry(after)) return true;
  const mine = (map: unknown, keys: unknown) => Object.keys((keys as Record<string, unknown>) ?? {}).map((k) => ((map as Record<string, unknown>) ?? {})[k] ?? null);
  const parts = (o: KubeObject) =>
    JSON.stringify([
      ...Object.keys(sent).filter((k) => !['apiVersion', 'kind', 'metadata', 'status'].includes(k)).map((k) => o[k]),
      mine(o.metadata.labels, sent.metadata.labels),
      mine(o.metadata.annotations, sent.metadata.annotations),
    ]);
  return parts(before) !== parts(after);
}

export class KubeCluster implements ClusterPort {
  readonly server: string;
  readonly kubeconfigPath: string;
  /** Context in use, e.g. "kubernetes-admin@kubernetes". */
  readonly context: string;
  /** Namespace of the context (default "default"), used for namespaced objects that name none. */
  readonly defaultNamespace: string;
  private readonly kc: KubeConfig;
  private readonly ca: string;
  private readonly http = new IsomorphicFetchHttpLibrary();
  private readonly requestTimeoutMs: number;
  private readonly pollMs: number;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();
  private dispatcher: unknown;

  constructor(kubeconfigPath: string, opts: LoadClusterOptions = {}) {
    this.kubeconfigPath = kubeconfigPath;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.pollMs = opts.pollMs ?? 500;
    readKubeconfigText(kubeconfigPath);
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(kubeconfigPath);
    } catch (err) {
      throw new ClusterError(
        'config',
        `${kubeconfigPath} is not a valid kubeconfig: ${firstLine(errorMessage(err))}`,
        `pass the kubeconfig of your cluster (${ADMIN_KUBECONFIG_HINT})`,
      );
    }
    const context = opts.context ?? kc.getCurrentContext();
    if (!context) {
      throw new ClusterError('config', `${kubeconfigPath} has no current-context`, 'set one with `kubectl config use-context NAME --kubeconfig FILE`');
    }
    if (!kc.getContextObject(context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new ClusterError('config', `${kubeconfigPath} has no context "${context}"${known.length ? ` (it has: ${known.join(', ')})` : ''}`, 'choose one of the contexts in the file');
    }
    kc.setCurrentContext(context);
    const cluster = kc.getCurrentCluster();
    if (!cluster?.server) {
      throw new ClusterError('config', `${kubeconfigPath}: context "${context}" names no cluster with a server URL`, 'use a complete kubeconfig');
    }
    if (!kc.getCurrentUser()) {
      throw new ClusterError('config', `${kubeconfigPath}: context "${context}" names no user`, 'use a complete kubeconfig');
    }
    this.kc = kc;
    this.context = context;
    this.server = cluster.server.replace(/\/+$/, '');
    this.defaultNamespace = kc.getContextObject(context)?.namespace || 'default';
    let ca = '';
    if (cluster.caData) ca = Buffer.from(cluster.caData, 'base64').toString('utf8');
    else if (cluster.caFile) {
      try {
        ca = fs.readFileSync(cluster.caFile, 'utf8');
      } catch (err) {
        throw new ClusterError('config', `${kubeconfigPath}: cannot read certificate-authority ${cluster.caFile}: ${errorMessage(err)}`, 'embed the CA (certificate-authority-data) or fix the path');
      }
    }
    this.ca = ca;
  }

  caPem(): string {
    return this.ca;
  }

  /** Closes the kept-alive connection (optional: idle connections close after a few seconds anyway). */
  async close(): Promise<void> {
    const d = this.dispatcher as { close?: () => Promise<void> } | undefined;
    this.dispatcher = undefined;
    await d?.close?.().catch(() => undefined);
  }

  async fromKubeconfig(path: string): Promise<ClusterPort> {
    return loadCluster(path, { requestTimeoutMs: this.requestTimeoutMs, pollMs: this.pollMs });
  }

  // ------------------------------------------------------------------------------------ API

  async apply(objects: KubeObject[], opts: { signal?: AbortSignal } = {}): Promise<Array<{ object: KubeObject; outcome: ApplyOutcome }>> {
    const results: Array<{ object: KubeObject; outcome: ApplyOutcome }> = [];
    for (const obj of objects) {
      const path = await this.objectPath(obj.apiVersion, obj.kind, obj.metadata.name, obj.metadata.namespace, opts.signal);
      const what = `apply ${describeObject(obj)}`;
      const before = await this.request<KubeObject>('GET', path, { what, signal: opts.signal, allow404: true });
      const after = await this.request<KubeObject>('PATCH', path, {
        what,
        signal: opts.signal,
        query: { fieldManager: FIELD_MANAGER, force: 'true' },
        contentType: 'application/apply-patch+yaml',
        body: obj,
      });
      if (!after) throw new ClusterError('server', `${what}: the API server answered without the object`);
      const outcome: ApplyOutcome = !before ? 'created' : applyChanged(obj, before, after) ? 'configured' : 'unchanged';
      results.push({ object: after, outcome });
    }
    return results;
  }

  async create(object: KubeObject, opts: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<KubeObject> {
    const path = await this.collectionPath(object.apiVersion, object.kind, object.metadata.namespace, opts.signal, true);
    const query: Record<string, string> = { fieldManager: FIELD_MANAGER };
    if (opts.dryRun) query.dryRun = 'All';
    const created = await this.request<KubeObject>('POST', path, { what: `create ${describeObject(object)}`, signal: opts.signal, query, body: object });
    if (!created) throw new ClusterError('server', `create ${describeObject(object)}: the API server answered without the object`);
    return created;
  }

  async get(apiVersion: string, kind: string, name: string, namespace?: string, signal?: AbortSignal): Promise<KubeObject | null> {
    const path = await this.objectPath(apiVersion, kind, name, namespace, signal);
    return this.request<KubeObject>('GET', path, { what: `get ${kind} ${namespace ? `${namespace}/` : ''}${name}`, signal, allow404: true });
  }

  async list(apiVersion: string, kind: string, namespace?: string, opts: { labelSelector?: string; signal?: AbortSignal } = {}): Promise<KubeObject[]> {
    const path = await this.collectionPath(apiVersion, kind, namespace, opts.signal, false);
    const query: Record<string, string> = {};
    if (opts.labelSelector) query.labelSelector = opts.labelSelector;
    const where = namespace ? ` in namespace ${namespace}` : (await this.resource(apiVersion, kind, opts.signal)).namespaced ? ' in all namespaces' : '';
    const list = await this.request<{ items?: KubeObject[] }>('GET', path, { what: `list ${kind}${where}`, signal: opts.signal, query });
    // List items carry no apiVersion/kind; put them back so callers can apply or describe them.
    return (list?.items ?? []).map((i) => ({ ...i, apiVersion, kind }));
  }

  async delete(apiVersion: string, kind: string, name: string, namespace?: string, signal?: AbortSignal): Promise<boolean> {
    const path = await this.objectPath(apiVersion, kind, name, namespace, signal);
    const r = await this.request<unknown>('DELETE', path, {
      what: `delete ${kind} ${namespace ? `${namespace}/` : ''}${name}`,
      signal,
      allow404: true,
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
    });
    return r !== null;
  }

  async waitFor(
    apiVersion: string,
    kind: string,
    name: string,
    namespace: string | undefined,
    ok: (o: KubeObject) => boolean,
    opts: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<KubeObject> {
    const fix = `look at it: kubectl get ${kind.toLowerCase()} ${name}${namespace ? ` -n ${namespace}` : ''} -o yaml`;
    return pollUntil(() => this.get(apiVersion, kind, name, namespace, opts.signal), ok, { kind, name, namespace, server: this.server, fix }, {
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      pause: (leftMs) => sleep(Math.min(this.pollMs, leftMs), opts.signal),
    });
  }

  async createToken(namespace: string, serviceAccount: string, seconds: number, opts: TokenOptions = {}): Promise<{ token: string; expiresAt: string }> {
    const spec: Record<string, unknown> = { expirationSeconds: seconds };
    if (opts.audiences) spec.audiences = opts.audiences;
    if (opts.boundObjectRef) spec.boundObjectRef = { apiVersion: 'v1', kind: opts.boundObjectRef.kind, name: opts.boundObjectRef.name };
    const r = await this.request<{ status?: { token?: string; expirationTimestamp?: string } }>(
      'POST',
      `/api/v1/namespaces/${enc(namespace)}/serviceaccounts/${enc(serviceAccount)}/token`,
      {
        what: `create a token for ServiceAccount ${namespace}/${serviceAccount}`,
        signal: opts.signal,
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec },
      },
    );
    const token = r?.status?.token;
    if (!token) throw new ClusterError('server', `TokenRequest for ${namespace}/${serviceAccount}: the API server returned no token`);
    return { token, expiresAt: r?.status?.expirationTimestamp ?? '' };
  }

  async canI(q: AccessQuestion): Promise<boolean> {
    const attrs: Record<string, string> = { verb: q.verb, resource: q.resource, group: q.group ?? '' };
    if (q.namespace) attrs.namespace = q.namespace;
    if (q.subresource) attrs.subresource = q.subresource;
    if (q.name) attrs.name = q.name;
    const r = await this.request<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      what: `ask whether we may ${q.verb} ${q.subresource ? `${q.resource}/${q.subresource}` : q.resource}`,
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } },
    });
    return r?.status?.allowed === true;
  }

  async whoami(): Promise<Identity> {
    const r = await this.request<{ status?: { userInfo?: { username?: string; groups?: string[] } } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { what: 'ask who we are', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
    );
    return { username: r?.status?.userInfo?.username ?? '', groups: r?.status?.userInfo?.groups ?? [] };
  }

  // ------------------------------------------------------------------------------------ discovery and paths

  private async resource(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ResourceInfo> {
    let found = (await this.discover(apiVersion, signal)).get(kind);
    if (!found) {
      // A CRD may have been installed since: look once more.
      this.discovery.delete(apiVersion);
      found = (await this.discover(apiVersion, signal)).get(kind);
    }
    if (!found) {
      throw new ClusterError('not-found', `the API server at ${this.server} has no kind ${kind} in ${apiVersion}`, 'check apiVersion and kind; for a custom resource, install its CRD first');
    }
    return found;
  }

  private discover(apiVersion: string, signal?: AbortSignal): Promise<Map<string, ResourceInfo>> {
    let p = this.discovery.get(apiVersion);
    if (!p) {
      p = (async () => {
        const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        const list = await this.request<{ resources?: Array<{ name: string; kind: string; namespaced: boolean }> }>('GET', path, {
          what: `discover the resources of ${apiVersion}`,
          signal,
          allow404: true,
        });
        if (!list) {
          throw new ClusterError('not-found', `the API server at ${this.server} does not serve ${apiVersion}`, 'check the apiVersion; for a custom resource, install its CRD first');
        }
        const m = new Map<string, ResourceInfo>();
        for (const r of list.resources ?? []) {
          if (r.name.includes('/')) continue; // subresources
          m.set(r.kind, { name: r.name, namespaced: r.namespaced });
        }
        return m;
      })();
      this.discovery.set(apiVersion, p);
      p.catch(() => this.discovery.delete(apiVersion));
    }
    return p;
  }

  private async collectionPath(apiVersion: string, kind: string, namespace: string | undefined, signal: AbortSignal | undefined, forCreate: boolean): Promise<string> {
    const r = await this.resource(apiVersion, kind, signal);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (!r.namespaced) return `${base}/${r.name}`;
    const ns = namespace ?? (forCreate ? this.defaultNamespace : undefined);
    return ns ? `${base}/namespaces/${enc(ns)}/${r.name}` : `${base}/${r.name}`;
  }

  private async objectPath(apiVersion: string, kind: string, name: string, namespace: string | undefined, signal?: AbortSignal): Promise<string> {
    if (!name) throw new ClusterError('invalid', `${kind}: metadata.name is empty`);
    const r = await this.resource(apiVersion, kind, signal);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (!r.namespaced) return `${base}/${r.name}/${enc(name)}`;
    return `${base}/namespaces/${enc(namespace ?? this.defaultNamespace)}/${r.name}/${enc(name)}`;
  }

  // ------------------------------------------------------------------------------------ transport

  /** One REST call. 2xx → parsed body; 404 with allow404 → null; anything else → ClusterError. */
  private async request<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    path: string,
    o: { what: string; signal?: AbortSignal; query?: Record<string, string>; body?: unknown; contentType?: string; allow404?: boolean },
  ): Promise<T | null> {
    o.signal?.throwIfAborted();
    const ctx = new RequestContext(this.server + path, method as HttpMethod);
    for (const [k, v] of Object.entries(o.query ?? {})) ctx.setQueryParam(k, v);
    try {
      await this.kc.applySecurityAuthentication(ctx);
    } catch (err) {
      throw new ClusterError('config', `${this.kubeconfigPath}: cannot prepare the credentials of context "${this.context}": ${firstLine(errorMessage(err))}`, 'check the user entry of the kubeconfig (certificate files, exec plugin)');
    }
    // Keep one connection pool per port instead of one per request.
    if (this.dispatcher) ctx.setDispatcher(this.dispatcher as never);
    else this.dispatcher = ctx.getDispatcher();
    ctx.setHeaderParam('Accept', 'application/json');
    if (o.body !== undefined) {
      ctx.setHeaderParam('Content-Type', o.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(o.body));
    }
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    ctx.setSignal(o.signal ? AbortSignal.any([o.signal, timeout]) : timeout);

    let status: number;
    let text: string;
    try {
      const res = await this.http.send(ctx).toPromise();
      status = res.httpStatusCode;
      text = await res.body.text();
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason;
      if (timeout.aborted) {
        throw new ClusterError(
          'unreachable',
          `the API server at ${this.server} did not answer within ${Math.round(this.requestTimeoutMs / 1000)} s (${o.what})`,
          'check that the control plane is up and that this computer can reach that address',
        );
      }
      throw this.transportError(err, o.what);
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (status >= 200 && status < 300) return (json ?? {}) as T;
    if (status === 404 && o.allow404) return null;
    throw this.statusError(status, (json ?? {}) as KubeStatus, text, o.what);
  }

  private transportError(err: unknown, what: string): ClusterError {
    const codes: string[] = [];
    const messages: string[] = [];
    for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string') codes.push(code);
      if (e instanceof Error && e.message) messages.push(e.message);
      // AggregateError (happy eyeballs: several addresses)
      for (const inner of (e as { errors?: unknown[] }).errors ?? []) {
        const c = (inner as { code?: unknown }).code;
        if (typeof c === 'string') codes.push(c);
      }
    }
    const has = (...c: string[]) => codes.some((x) => c.includes(x));
    const server = this.server;
    const cfg = this.kubeconfigPath;
    if (has('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE')) {
      return new ClusterError(
        'tls',
        `${server}: the server's certificate is not signed by the CA in KUBECONFIG (${cfg})`,
        'use the kubeconfig of this very cluster (a master that was re-initialised with kubeadm reset/init has a new CA); ' + ADMIN_KUBECONFIG_HINT,
      );
    }
    if (has('ERR_TLS_CERT_ALTNAME_INVALID')) {
      return new ClusterError('tls', `${server}: the server's certificate is not valid for this address`, 'use the address the certificate was issued for, or add it to apiServer.certSANs and renew the apiserver certificate');
    }
    if (has('CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID')) {
      return new ClusterError(
        'tls',
        `${server}: the server's certificate is ${has('CERT_HAS_EXPIRED') ? 'expired' : 'not valid yet'} (by this computer's clock)`,
        "check the clocks (boards without a battery lose the time at boot: timedatectl), then `kubeadm certs check-expiration` on the master",
      );
    }
    if (has('ECONNREFUSED')) {
      return new ClusterError('unreachable', `cannot connect to the API server at ${server}: connection refused (${what})`, 'is kube-apiserver running? On the master: `crictl ps | grep kube-apiserver`, `journalctl -u kubelet`; check the server URL in ' + cfg);
    }
    if (has('ENOTFOUND', 'EAI_AGAIN')) {
      return new ClusterError('unreachable', `cannot resolve the host of ${server} (${what})`, `check the server URL in ${cfg}, or use the master's IP address`);
    }
    if (has('ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT')) {
      return new ClusterError('unreachable', `cannot reach the API server at ${server}: no route or no answer (${what})`, 'is the master powered on and on the network? Check the address and any firewall on port 6443');
    }
    if (has('ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED')) {
      return new ClusterError('unreachable', `the connection to ${server} was dropped (${what})`, 'the API server may be restarting; try again in a minute');
    }
    const detail = messages.filter((m) => m !== 'fetch failed').pop() ?? messages[0] ?? String(err);
    return new ClusterError('unreachable', `cannot talk to the API server at ${server}: ${detail}${codes.length ? ` (${codes[codes.length - 1]})` : ''} (${what})`, `check the server URL and certificates in ${cfg}`);
  }

  private statusError(code: number, st: KubeStatus, text: string, what: string): ClusterError {
    const msg = st.message || firstLine(text) || `HTTP ${code}`;
    const user = this.kc.getCurrentUser()?.name ?? '?';
    switch (code) {
      case 401:
        return new ClusterError(
          'unauthorized',
          `${what}: the API server at ${this.server} rejected the credentials of user "${user}" in ${this.kubeconfigPath} (401 Unauthorized)`,
          'the token may have expired or been revoked, or the client certificate was signed by another cluster\'s CA; get a fresh kubeconfig (' + ADMIN_KUBECONFIG_HINT + ')',
        );
      case 403:
        // The Status message names the user, verb, resource, group and namespace, e.g.
        // 'configmaps is forbidden: User "x" cannot create resource "configmaps" in API group "" in the namespace "y"'.
        if (/attempting to grant RBAC permissions not currently held/.test(msg)) {
          // The API server lists every missing rule, one per line: keep the sentence, count the rules.
          const [head = '', ...rest] = msg.split('\n');
          const rules = rest.filter((l) => l.startsWith('{'));
          return new ClusterError(
            'forbidden',
            `${what}: ${head.replace(/:\s*$/, '')} (${rules.length} rule${rules.length === 1 ? '' : 's'}${rules[0] ? `, e.g. ${rules[0]}` : ''})`,
            'an account may only grant rights it holds itself (or with the RBAC verbs bind/escalate): use the cluster admin kubeconfig',
          );
        }
        if (/because it is being terminated/.test(msg)) {
          return new ClusterError('forbidden', `${what}: ${msg}`, 'wait until the namespace is gone (kubectl get namespace NAME), or use another namespace');
        }
        return new ClusterError('forbidden', `${what}: ${msg}`, 'use a kubeconfig with the right (e.g. the admin kubeconfig), or ask a cluster admin to grant it');
      case 404:
        return new ClusterError('not-found', `${what}: ${msg}`);
      case 409:
        return new ClusterError('conflict', `${what}: ${msg}`, st.reason === 'AlreadyExists' ? 'it exists already' : 'someone changed it at the same time; try again');
      case 400:
      case 422: {
        const causes = (st.details?.causes ?? []).map((c) => `  - ${c.field ? `${c.field}: ` : ''}${c.message ?? c.reason ?? ''}`);
        const extra = causes.length && !causes.every((c) => msg.includes(c.replace(/^ {2}- /, ''))) ? `\n${causes.join('\n')}` : '';
        return new ClusterError('invalid', `${what}: ${msg}${extra}`);
      }
      case 408:
      case 504:
        return new ClusterError('timeout', `${what}: the API server at ${this.server} timed out: ${msg}`, 'try again; if it persists, check the control plane (etcd) health');
      default:
        return new ClusterError('server', `${what}: the API server at ${this.server} answered ${code}: ${msg}`, code >= 500 ? 'the control plane may be starting or unhealthy; try again in a minute' : undefined);
    }
  }
}

/** Reads the kubeconfig text, mapping the usual failures to ClusterError('config'). */
function readKubeconfigText(p: string): string {
  try {
    const st = fs.statSync(p);
    if (st.isDirectory()) throw new ClusterError('config', `${p} is a directory, not a kubeconfig file`, `pass the file itself (${ADMIN_KUBECONFIG_HINT})`);
    return fs.readFileSync(p, 'utf8');
  } catch (err) {
    if (err instanceof ClusterError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') {
      throw new ClusterError('config', `kubeconfig ${p} does not exist`, `pass the path of your cluster's kubeconfig with --kubeconfig (${ADMIN_KUBECONFIG_HINT}; copy it with: scp root@MASTER:/etc/kubernetes/admin.conf ~/.kube/config)`);
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new ClusterError('config', `cannot read kubeconfig ${p}: permission denied`, 'run as a user who may read it, or copy it: sudo cat FILE > ~/.kube/config && chmod 600 ~/.kube/config');
    }
    throw new ClusterError('config', `cannot read kubeconfig ${p}: ${errorMessage(err)}`);
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}


