// Writing objects into the lab's store: create (uid, resourceVersion, creationTimestamp), update, delete
// (finalizers leave an object, a namespace Terminating; a deleted namespace takes its objects along), and
// the controllers that run synchronously after each write.
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../ports/cluster.ts';
import { resolveKind, type KindInfo } from './kinds.ts';
import { isoSeconds, keyOf, SA_TOKEN_TYPE, type LabState } from './state.ts';
import { newServiceAccountToken, recordToken, saIdentity } from './tokens.ts';
import { checkNamespace, validate } from './validation.ts';

/** Validates and stores a new object; returns the stored object (not a copy). */
export function insertObject(state: LabState, info: KindInfo, o: KubeObject, what: string): KubeObject {
  validate(info, o, what);
  checkNamespace(state, info, o, what);
  const created: KubeObject = {
    ...o,
    apiVersion: info.apiVersion,
    kind: info.kind,
    metadata: { ...o.metadata, uid: randomUUID(), resourceVersion: String(++state.rv), creationTimestamp: isoSeconds(state.now()) },
  };
  if (info.kind === 'Namespace') created.status = { phase: 'Active' };
  state.objects.set(keyOf(info.apiVersion, info.kind, created.metadata.namespace, created.metadata.name), created);
  runControllers(state, created);
  return created;
}

/** Stores a changed object under `key` with a new resourceVersion (the caller has validated it). */
export function replaceObject(state: LabState, key: string, o: KubeObject): void {
  o.metadata.resourceVersion = String(++state.rv);
  state.objects.set(key, o);
  runControllers(state, o);
}

/** Deletes the object, or only marks it deleted while it has finalizers. */
export function removeObject(state: LabState, key: string, o: KubeObject): void {
  const finalizers = (o.metadata.finalizers as string[] | undefined) ?? [];
  if (finalizers.length > 0) {
    if (!o.metadata.deletionTimestamp) {
      o.metadata.deletionTimestamp = isoSeconds(state.now());
      if (o.kind === 'Namespace') o.status = { phase: 'Terminating' };
      o.metadata.resourceVersion = String(++state.rv);
    }
    return;
  }
  state.objects.delete(key);
  if (o.kind === 'Namespace') {
    for (const [k, v] of [...state.objects]) if (v.metadata.namespace === o.metadata.name) state.objects.delete(k);
  }
}

/** The lab's controllers, run synchronously after a write. */
function runControllers(state: LabState, o: KubeObject): void {
  // serviceaccount controller + root-ca publisher: every namespace gets `default` and kube-root-ca.crt.
  if (o.kind === 'Namespace' && !o.metadata.deletionTimestamp) {
    const ns = o.metadata.name;
    if (!state.objects.has(keyOf('v1', 'ServiceAccount', ns, 'default'))) {
      insertObject(state, resolveKind(state, 'v1', 'ServiceAccount'), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } }, 'serviceaccount controller');
    }
    if (!state.objects.has(keyOf('v1', 'ConfigMap', ns, 'kube-root-ca.crt'))) {
      insertObject(state, resolveKind(state, 'v1', 'ConfigMap'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: ns }, data: { 'ca.crt': state.ca } }, 'root-ca-cert-publisher');
    }
  }
  // token controller: a service-account-token Secret gets a never-expiring token for its ServiceAccount.
  if (o.kind === 'Secret' && o.type === SA_TOKEN_TYPE) {
    const data = (o.data ?? {}) as Record<string, string>;
    const saName = (o.metadata.annotations as Record<string, string> | undefined)?.['kubernetes.io/service-account.name'];
    const ns = o.metadata.namespace ?? 'default';
    const sa = saName ? state.objects.get(keyOf('v1', 'ServiceAccount', ns, saName)) : undefined;
    if (sa && saName && !data.token) {
      const token = newServiceAccountToken();
      recordToken(state, token, {
        ...saIdentity(ns, saName),
        expiresAt: null,
        serviceAccount: { namespace: ns, name: saName, uid: String(sa.metadata.uid) },
        bound: { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: o.metadata.name, uid: String(o.metadata.uid) },
      });
      o.data = { ...data, token: b64(token), 'ca.crt': b64(state.ca), namespace: b64(ns) };
      o.metadata.annotations = { ...(o.metadata.annotations as Record<string, string>), 'kubernetes.io/service-account.uid': String(sa.metadata.uid) };
      o.metadata.resourceVersion = String(++state.rv);
    }
  }
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}
