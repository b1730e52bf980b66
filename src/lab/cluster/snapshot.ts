// The whole lab state as JSON and back: objects and token hashes, so a snapshot never holds a usable secret.
// Secrets that hold passwords (Opaque, dockerconfigjson) keep only a hash of each value in a snapshot; the lab's
// simulations compare with sameSecret(), which accepts a value or its hash.
import { createHash } from 'node:crypto';
import type { Json } from '../../engine/types.ts';
import type { KubeObject } from '../../ports/cluster.ts';
import { clone, fakeCaPem, keyOf, type LabState, type TokenRecord } from './state.ts';

const SNAPSHOT_VERSION = 1;

const HASHED = 'lab-sha256:';
const PASSWORD_SECRETS = new Set(['Opaque', 'kubernetes.io/dockerconfigjson']);

export function labSecretHash(value: string): string {
  return value.startsWith(HASHED) ? value : `${HASHED}${createHash('sha256').update(value).digest('hex')}`;
}

/** Whether two secret values are the same, either of them perhaps only a snapshot's hash. */
export function sameSecret(a: string, b: string): boolean {
  return a === b || labSecretHash(a) === labSecretHash(b);
}

function hashValues(values: unknown, decode: boolean): unknown {
  if (!values || typeof values !== 'object') return values;
  return Object.fromEntries(Object.entries(values as Record<string, string>).map(([k, v]) => [k, decode ? Buffer.from(labSecretHash(Buffer.from(v, 'base64').toString('utf8'))).toString('base64') : labSecretHash(v)]));
}

function forSnapshot(o: KubeObject): KubeObject {
  const c = clone(o);
  if (c.kind !== 'Secret' || c.apiVersion !== 'v1' || !PASSWORD_SECRETS.has(String(c.type ?? 'Opaque'))) return c;
  if (c.stringData) c.stringData = hashValues(c.stringData, false);
  if (c.data) c.data = hashValues(c.data, true);
  return c;
}

export function snapshotOf(state: LabState): Json {
  const objects = [...state.objects.values()].map(forSnapshot);
  const tokens = [...state.tokens.values()].map((t) => clone(t));
  return clone({ version: SNAPSHOT_VERSION, server: state.server, clusterName: state.clusterName, ca: state.ca, rv: state.rv, objects, tokens }) as unknown as Json;
}

/** The state a snapshot holds; throws when `json` is no lab snapshot of this version. */
export function stateFromSnapshot(json: Json, now: () => number): LabState {
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
    now,
  };
  for (const o of j.objects) state.objects.set(keyOf(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name), clone(o));
  for (const t of j.tokens ?? []) state.tokens.set(t.hash, clone(t));
  return state;
}
