// Merging the cluster's admin kubeconfig into the user's own kubeconfig as one context named after the
// cluster. Entries boardkube wrote carry an extension that says so; a context, cluster or user of that name
// without it belongs to someone else and is never overwritten.
import { parse, stringify } from 'yaml';

export const BOARDKUBE_EXTENSION = 'boardkube.dev/cluster';

type Entry = { name: string } & Record<string, unknown>;
interface Doc {
  apiVersion?: string;
  kind?: string;
  clusters?: Entry[];
  users?: Entry[];
  contexts?: Entry[];
  'current-context'?: string;
  preferences?: unknown;
  [key: string]: unknown;
}

export class KubeconfigConflictError extends Error {
  constructor(message: string, readonly fix: string) {
    super(`${message}\n  fix: ${fix}`);
    this.name = 'KubeconfigConflictError';
  }
}

function parseDoc(text: string | undefined, what: string): Doc {
  if (!text || !text.trim()) return { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] };
  const doc = parse(text) as unknown;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${what} is not a kubeconfig (no YAML mapping)`);
  return doc as Doc;
}

/** The body of a kubeconfig entry: its `cluster`, `user` or `context` mapping. */
function bodyOf(e: Entry): { extensions?: Array<{ name?: string; extension?: { cluster?: string } }> } | undefined {
  return (e.context ?? e.cluster ?? e.user) as ReturnType<typeof bodyOf>;
}

/** Did boardkube write this entry, for this cluster? */
function ours(e: Entry | undefined, name: string): boolean {
  const body = e && bodyOf(e);
  return !!body?.extensions?.some((x) => x.name === BOARDKUBE_EXTENSION && x.extension?.cluster === name);
}

function mark<T extends Record<string, unknown>>(body: T, name: string): T {
  const extensions = [...((body.extensions as unknown[] | undefined) ?? []).filter((x) => (x as { name?: string }).name !== BOARDKUBE_EXTENSION), { name: BOARDKUBE_EXTENSION, extension: { cluster: name } }];
  return { ...body, extensions };
}

/** The names boardkube uses in the user's kubeconfig for a cluster. */
export function entryNames(cluster: string): { context: string; cluster: string; user: string } {
  return { context: cluster, cluster, user: `${cluster}-admin` };
}

export interface MergeResult {
  text: string;
  changed: boolean;
  /** Whether current-context now points at the cluster (only set when there was none). */
  current: boolean;
}

/**
 * The user's kubeconfig with the admin kubeconfig's cluster and user added (or replaced, when boardkube put them
 * there before) under the cluster's name. Throws KubeconfigConflictError when that name is taken by another entry.
 */
export function mergeKubeconfig(userText: string | undefined, adminText: string, cluster: string): MergeResult {
  const user = parseDoc(userText, 'your kubeconfig');
  const admin = parseDoc(adminText, 'the admin kubeconfig');
  const names = entryNames(cluster);
  const srcCluster = admin.clusters?.[0]?.cluster as Record<string, unknown> | undefined;
  const srcUser = admin.users?.[0]?.user as Record<string, unknown> | undefined;
  if (!srcCluster || !srcUser) throw new Error('the admin kubeconfig has no cluster or user entry');
  const want = {
    cluster: { name: names.cluster, cluster: mark(srcCluster, cluster) },
    user: { name: names.user, user: mark(srcUser, cluster) },
    context: { name: names.context, context: mark({ cluster: names.cluster, user: names.user }, cluster) },
  };
  const lists = { cluster: 'clusters', user: 'users', context: 'contexts' } as const;
  const out: Doc = { ...user, apiVersion: user.apiVersion ?? 'v1', kind: user.kind ?? 'Config' };
  for (const kind of ['cluster', 'user', 'context'] as const) {
    const list = [...((user[lists[kind]] as Entry[] | undefined) ?? [])];
    const i = list.findIndex((e) => e.name === want[kind].name);
    if (i >= 0 && !ours(list[i], cluster)) {
      throw new KubeconfigConflictError(
        `your kubeconfig already has a ${kind} named "${want[kind].name}" that boardkube did not write (another cluster's?)`,
        `rename the cluster in the cluster file (name: ...), or remove that entry: kubectl config delete-${kind === 'user' ? 'user' : kind} ${want[kind].name}`,
      );
    }
    if (i >= 0) list[i] = want[kind] as Entry;
    else list.push(want[kind] as Entry);
    out[lists[kind]] = list;
  }
  const current = !out['current-context'];
  if (current) out['current-context'] = names.context;
  const text = stringify(out, { lineWidth: 0 });
  return { text, changed: text !== (userText ?? ''), current: out['current-context'] === names.context };
}

/** The user's kubeconfig without boardkube's entries for this cluster (board reset); others' entries stay. */
export function removeFromKubeconfig(userText: string, cluster: string): { text: string; changed: boolean } {
  const doc = parseDoc(userText, 'your kubeconfig');
  const names = entryNames(cluster);
  let changed = false;
  for (const [kind, list] of [['cluster', 'clusters'], ['user', 'users'], ['context', 'contexts']] as const) {
    const entries = (doc[list] as Entry[] | undefined) ?? [];
    const kept = entries.filter((e) => !(e.name === names[kind] && ours(e, cluster)));
    if (kept.length !== entries.length) changed = true;
    doc[list] = kept;
  }
  if (changed && doc['current-context'] === names.context) delete doc['current-context'];
  return { text: changed ? stringify(doc, { lineWidth: 0 }) : userText, changed };
}

/** Does the user's kubeconfig hold boardkube's context for this cluster, with this server? */
export function hasContext(userText: string | undefined, cluster: string, server: string): boolean {
  if (!userText) return false;
  const doc = parseDoc(userText, 'your kubeconfig');
  const names = entryNames(cluster);
  const ctx = doc.contexts?.find((e) => e.name === names.context);
  const cl = doc.clusters?.find((e) => e.name === names.cluster);
  return ours(ctx, cluster) && ours(cl, cluster) && (cl?.cluster as { server?: string } | undefined)?.server === server;
}
