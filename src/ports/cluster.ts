// The Cluster port: the Kubernetes API, through @kubernetes/client-node (real) or the practice lab.

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface AccessQuestion {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  subresource?: string;
}

export interface ClusterPort {
  /** API server URL, e.g. https://192.168.1.40:6443 */
  readonly server: string;
  /** The cluster CA, PEM. */
  caPem(): string;
  /** Server-side apply with field manager "boardkube". */
  apply(objects: KubeObject[], opts?: { signal?: AbortSignal }): Promise<Array<{ object: KubeObject; outcome: ApplyOutcome }>>;
  get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | null>;
  list(apiVersion: string, kind: string, namespace?: string): Promise<KubeObject[]>;
  delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean>;
  waitFor(apiVersion: string, kind: string, name: string, namespace: string | undefined, ok: (o: KubeObject) => boolean, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<KubeObject>;
  /** TokenRequest for a service account. */
  createToken(namespace: string, serviceAccount: string, seconds: number): Promise<{ token: string; expiresAt: string }>;
  /** SelfSubjectAccessReview as the current identity. */
  canI(q: AccessQuestion): Promise<boolean>;
}

export type ClusterErrorKind = 'unreachable' | 'tls' | 'unauthorized' | 'forbidden' | 'not-found' | 'conflict' | 'invalid' | 'timeout' | 'config';

export class ClusterError extends Error {
  constructor(readonly kind: ClusterErrorKind, message: string, readonly fix?: string) {
    super(fix ? `${message}\n  fix: ${fix}` : message);
    this.name = 'ClusterError';
  }
}
