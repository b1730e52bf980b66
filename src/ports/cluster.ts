// The Cluster port: the Kubernetes API, through @kubernetes/client-node (real) or the practice lab.

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** The text of key `key` of a Secret as the API server returns it (it stores stringData as base64 data). */
export function secretValue(o: KubeObject | null, key: string): string | undefined {
  const d = (o?.data as Record<string, string> | undefined)?.[key];
  return d === undefined ? undefined : Buffer.from(d, 'base64').toString('utf8');
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface AccessQuestion {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  subresource?: string;
  name?: string;
}

/** Who the API server says we are (SelfSubjectReview). */
export interface Identity {
  username: string;
  groups: string[];
}

export interface TokenOptions {
  /**
   * Bind the token to an object in the service account's namespace: the API server rejects the token as
   * soon as that object is deleted (a way to revoke a time-bound token before it expires).
   */
  boundObjectRef?: { kind: 'Secret' | 'Pod'; name: string };
  audiences?: string[];
  signal?: AbortSignal;
}

export interface ClusterPort {
  /** API server URL, e.g. https://192.168.1.40:6443 */
  readonly server: string;
  /** The cluster CA, PEM ('' when the kubeconfig carries none). */
  caPem(): string;
  /** Server-side apply with field manager "boardkube" (conflicts forced). Objects are applied in order. */
  apply(objects: KubeObject[], opts?: { signal?: AbortSignal }): Promise<Array<{ object: KubeObject; outcome: ApplyOutcome }>>;
  /** POST (create). dryRun: the server authorizes, admits and validates, but stores nothing. */
  create(object: KubeObject, opts?: { dryRun?: boolean; signal?: AbortSignal }): Promise<KubeObject>;
  get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | null>;
  /** namespace undefined: all namespaces (namespaced kinds) or the cluster (cluster-scoped kinds). */
  list(apiVersion: string, kind: string, namespace?: string, opts?: { labelSelector?: string }): Promise<KubeObject[]>;
  /** false when the object did not exist. */
  delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean>;
  waitFor(apiVersion: string, kind: string, name: string, namespace: string | undefined, ok: (o: KubeObject) => boolean, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<KubeObject>;
  /** TokenRequest for a service account. */
  createToken(namespace: string, serviceAccount: string, seconds: number, opts?: TokenOptions): Promise<{ token: string; expiresAt: string }>;
  /** SelfSubjectAccessReview as the current identity. */
  canI(q: AccessQuestion): Promise<boolean>;
  /** SelfSubjectReview: the user name and groups of the current identity. */
  whoami(): Promise<Identity>;
  /**
   * The same backend seen through another kubeconfig file (another identity): the real adapter loads the
   * file; the practice lab resolves its server, CA and token against the lab. Used to prove an exported
   * kubeconfig with the kubeconfig itself.
   */
  fromKubeconfig(path: string): Promise<ClusterPort>;
  /** Releases kept-alive connections (the real adapter); a port opened with fromKubeconfig is closed after use. */
  close?(): Promise<void>;
}

export type ClusterErrorKind =
  | 'unreachable'
  | 'tls'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'invalid'
  | 'timeout'
  | 'config'
  /** 5xx and other unexpected answers. */
  | 'server';

export class ClusterError extends Error {
  constructor(readonly kind: ClusterErrorKind, message: string, readonly fix?: string) {
    super(fix ? `${message}\n  fix: ${fix}` : message);
    this.name = 'ClusterError';
  }
}

/** apiVersion "apps/v1" → group "apps"; "v1" → "" (the core group). */
export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** "Kind ns/name" or "Kind name", for messages. */
export function describeObject(o: Pick<KubeObject, 'kind' | 'metadata'>): string {
  return o.metadata.namespace ? `${o.kind} ${o.metadata.namespace}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`;
}
