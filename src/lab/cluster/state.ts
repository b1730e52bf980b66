// The lab cluster's whole state (objects, token records, the switch for "server down") and the small
// helpers every part of the lab uses to address and copy it.
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../ports/cluster.ts';

export const RBAC = 'rbac.authorization.k8s.io/v1';
export const SA_TOKEN_TYPE = 'kubernetes.io/service-account-token';

export interface TokenRecord {
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

export interface LabState {
  server: string;
  clusterName: string;
  ca: string;
  rv: number;
  objects: Map<string, KubeObject>;
  tokens: Map<string, TokenRecord>;
  down: boolean;
  now: () => number;
}

/** The key of an object in `LabState.objects`. */
export function keyOf(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
  return `${apiVersion}|${kind}|${namespace ?? ''}|${name}`;
}

export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function fakeCaPem(): string {
  const body = Buffer.from(`boardkube practice lab CA ${randomUUID()}`).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}
