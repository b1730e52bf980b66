// The whole lab state as JSON and back: objects and token hashes, so a snapshot never holds a usable secret.
import type { Json } from '../../engine/types.ts';
import type { KubeObject } from '../../ports/cluster.ts';
import { clone, fakeCaPem, keyOf, type LabState, type TokenRecord } from './state.ts';

const SNAPSHOT_VERSION = 1;

export function snapshotOf(state: LabState): Json {
  const objects = [...state.objects.values()].map((o) => clone(o));
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
