// The read-only stage's options: what the user may choose, their defaults, and the checks on them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterSpec } from '../../src/cluster/spec.ts';
import { InputError, type StageOption, type StageWhere } from '../../src/engine/types.ts';
import { expandHome } from '../../src/util/paths.ts';
import { formatDuration, parseDuration } from '../../src/util/duration.ts';

export { formatDuration, parseDuration };

export type Scope =
  /** ClusterRole boardkube-readonly: read every built-in resource cluster-wide, except Secrets. */
  | { kind: 'cluster-read' }
  /** The built-in `view` ClusterRole, bound cluster-wide. */
  | { kind: 'view' }
  /** The built-in `view` ClusterRole in one namespace only (a RoleBinding there). */
  | { kind: 'namespace'; namespace: string };

export type TokenKind = 'timebound' | 'long-lived';

export interface ReadonlyOptions {
  /** ServiceAccount name. */
  account: string;
  /** Namespace the ServiceAccount lives in (created when missing). */
  namespace: string;
  scope: Scope;
  token: TokenKind;
  /** Lifetime of a time-bound token (TokenRequest), seconds. */
  durationSeconds: number;
  /** Absolute path of the kubeconfig to write (mode 0600). */
  kubeconfigOut: string;
  /** Name of the cluster in the kubeconfig (cluster entry and context `ACCOUNT@CLUSTER`). */
  clusterName: string;
}

export const DEFAULTS = {
  account: 'readonly',
  namespace: 'boardkube-readonly',
  scope: 'cluster-read',
  token: 'timebound',
  duration: '24h',
} as const;

/** Where the kubeconfig goes when no kubeconfig-out is given: beside the progress, never into the current folder. */
export function defaultKubeconfigOut(cluster: Pick<ClusterSpec, 'name'>, where: StageWhere = {}): string {
  return where.stateDir ? path.join(where.stateDir, cluster.name, 'readonly.kubeconfig') : path.resolve('readonly.kubeconfig');
}

/** The API server refuses TokenRequests shorter than 10 minutes. */
export const MIN_TOKEN_SECONDS = 600;
/** A cap of our own: a year. Longer-lived access is what token=long-lived is for (and why it warns). */
export const MAX_TOKEN_SECONDS = 365 * 24 * 3600;

export const READONLY_OPTIONS: StageOption[] = [
  { name: 'account', description: 'Name of the ServiceAccount (a DNS-1123 label)', default: DEFAULTS.account },
  { name: 'namespace', description: 'Namespace of the ServiceAccount (created when missing)', default: DEFAULTS.namespace },
  {
    name: 'scope',
    description: 'cluster-read: read everything cluster-wide except Secrets; view: the built-in view role cluster-wide; namespace:NAME: the view role in one namespace',
    default: DEFAULTS.scope,
    choices: ['cluster-read', 'view', 'namespace:'],
  },
  { name: 'token', description: 'timebound: TokenRequest, expires by itself; long-lived: a token Secret that never expires (warned about)', default: DEFAULTS.token, choices: ['timebound', 'long-lived'] },
  { name: 'duration', description: 'Lifetime of a time-bound token, e.g. 10m, 8h, 24h, 7d (at least 10m)', default: DEFAULTS.duration },
  { name: 'kubeconfig-out', description: 'Where to write the read-only kubeconfig (mode 0600; the token is never printed); default STATE_DIR/CLUSTER/readonly.kubeconfig' },
];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function checkDnsLabel(field: string, value: string, what: string): void {
  if (value.length === 0) throw new InputError(field, `${what} is empty`, 'give a name such as "readonly"');
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    const hint = value.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'readonly';
    throw new InputError(
      field,
      `"${value}" is not a valid ${what}: use at most 63 characters, lower-case letters, digits and "-", starting and ending with a letter or digit (DNS-1123 label)`,
      `e.g. --set ${field}=${hint}`,
    );
  }
}

export function parseScope(raw: string): Scope {
  const v = raw.trim();
  if (v === 'cluster-read') return { kind: 'cluster-read' };
  if (v === 'view') return { kind: 'view' };
  if (v.startsWith('namespace:')) {
    const ns = v.slice('namespace:'.length);
    checkDnsLabel('scope', ns, 'namespace name');
    return { kind: 'namespace', namespace: ns };
  }
  throw new InputError('scope', `"${raw}" is not a scope`, 'use cluster-read (default), view, or namespace:NAME');
}

export function scopeText(s: Scope): string {
  return s.kind === 'namespace' ? `namespace:${s.namespace}` : s.kind;
}

/** A mark in every kubeconfig this stage writes, so it never overwrites a file it did not write. */
export const KUBECONFIG_MARK = '# Written by boardkube (stage readonly).';

/**
 * May we write the kubeconfig there? Refuses a directory, a missing parent folder, and an existing file that is
 * not a kubeconfig this stage wrote (e.g. ~/.kube/config).
 */
export function checkKubeconfigOut(file: string, account: string, clusterName: string, folderMayBeMissing = false): void {
  const field = 'kubeconfig-out';
  const dir = path.dirname(file);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new InputError(field, `${file} is a directory`, `name a file, e.g. --set kubeconfig-out=${path.join(file, 'readonly.kubeconfig')}`);
  if (!st) {
    let dst: fs.Stats | undefined;
    try {
      dst = fs.statSync(dir);
    } catch {
      dst = undefined;
    }
    if (!dst?.isDirectory() && !(folderMayBeMissing && !dst)) throw new InputError(field, `folder ${dir} does not exist`, `create it (mkdir -p ${dir}) or choose another path`);
    return;
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(field, `${file} exists and cannot be read (${(err as Error).message})`, 'choose another path');
  }
  if (!isOurKubeconfig(text, account, clusterName)) {
    throw new InputError(field, `${file} exists and is not a read-only kubeconfig written by boardkube; it is left alone`, 'choose another path, or move that file away');
  }
}

/** True for a kubeconfig this stage wrote (its mark, or — after `kubectl config` dropped comments — our context). */
export function isOurKubeconfig(text: string, account: string, clusterName: string): boolean {
  if (text.includes(KUBECONFIG_MARK)) return true;
  return new RegExp(`^current-context:\\s*["']?${escapeRe(`${account}@${clusterName}`)}["']?\\s*$`, 'm').test(text) && !/client-key-data:/.test(text);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function str(raw: Record<string, unknown>, name: keyof typeof DEFAULTS): string {
  const v = raw[name];
  if (v === undefined || v === null || v === '') return DEFAULTS[name];
  if (typeof v !== 'string') throw new InputError(name, `must be text, got ${typeof v}`);
  return v.trim();
}

/** Checks and normalises the raw answers (CLI --set, wizard). Throws InputError naming the option. */
export function parseReadonlyOptions(raw: Record<string, unknown>, cluster: Pick<ClusterSpec, 'name'>, where: StageWhere = {}): ReadonlyOptions {
  const account = str(raw, 'account');
  checkDnsLabel('account', account, 'service account name');
  if (account === 'default') {
    throw new InputError('account', 'the "default" service account is used by every pod of its namespace that names no other', 'choose a name of its own, e.g. --set account=readonly');
  }
  const namespace = str(raw, 'namespace');
  checkDnsLabel('namespace', namespace, 'namespace name');
  const scope = parseScope(str(raw, 'scope'));
  const token = str(raw, 'token');
  if (token !== 'timebound' && token !== 'long-lived') {
    throw new InputError('token', `"${token}" is not a token kind`, 'use timebound (default: expires by itself) or long-lived (never expires)');
  }
  const durationText = str(raw, 'duration');
  const durationSeconds = parseDuration(durationText);
  if (durationSeconds === null) throw new InputError('duration', `"${durationText}" is not a duration`, 'use e.g. 10m, 8h, 24h or 7d');
  if (durationSeconds < MIN_TOKEN_SECONDS) {
    throw new InputError('duration', `${durationText} is shorter than the 10 minutes the API server accepts for a token`, 'use at least --set duration=10m');
  }
  if (durationSeconds > MAX_TOKEN_SECONDS) {
    throw new InputError('duration', `${durationText} is longer than a year`, 'use a shorter duration, or --set token=long-lived for a token that never expires');
  }
  const given = typeof raw['kubeconfig-out'] === 'string' && raw['kubeconfig-out'].trim() !== '' ? raw['kubeconfig-out'].trim() : undefined;
  if (raw['kubeconfig-out'] !== undefined && raw['kubeconfig-out'] !== null && typeof raw['kubeconfig-out'] !== 'string') throw new InputError('kubeconfig-out', `must be text, got ${typeof raw['kubeconfig-out']}`);
  const kubeconfigOut = given ? path.resolve(expandHome(given)) : defaultKubeconfigOut(cluster, where);
  // The default folder (in the state directory) is made when the file is written.
  checkKubeconfigOut(kubeconfigOut, account, cluster.name, !given);
  return { account, namespace, scope, token, durationSeconds, kubeconfigOut, clusterName: cluster.name };
}

/** The parsed options back from StepContext.options. */
export function readonlyOptions(options: Record<string, unknown>): ReadonlyOptions {
  const o = options as Partial<ReadonlyOptions>;
  if (!o.account || !o.namespace || !o.scope || !o.token || !o.kubeconfigOut || !o.clusterName || typeof o.durationSeconds !== 'number') {
    throw new Error('readonly: the stage options were not parsed (parseOptions did not run)');
  }
  return o as ReadonlyOptions;
}
