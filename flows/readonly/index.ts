// The readonly stage (seed: "Kubernetes Read-Only API Zugriff"): a service account that may only read the API,
// a kubeconfig for it, and the proof — made with that kubeconfig itself — of what it may and may not do.
//
// Works on the cluster the control-plane stage built, or on any cluster named with --kubeconfig.
import * as fs from 'node:fs';
import type { Check, Json, Outputs, Stage, Step, StepContext } from '../../src/engine/types.ts';
import { ClusterError, describeObject, groupOf, type ClusterPort, type KubeObject } from '../../src/ports/cluster.ts';
import { buildKubeconfig, contextName, tokenOf, TOKEN_PLACEHOLDER, writePrivateFile } from './kubeconfig.ts';
import {
  accountSelector,
  bindingName,
  describeScope,
  readonlyManifests,
  serviceAccountUser,
  tokenSecretName,
  toYaml,
} from './manifests.ts';
import { formatDuration, parseReadonlyOptions, READONLY_OPTIONS, readonlyOptions, type ReadonlyOptions } from './options.ts';
import { formatProofTable, inClusterExample, runProof, type ProofRow } from './proof.ts';

export { readonlyManifests } from './manifests.ts';
export { parseReadonlyOptions } from './options.ts';
export type { ProofRow } from './proof.ts';

const STAGE = 'readonly';

function opts(ctx: StepContext): ReadonlyOptions {
  return readonlyOptions(ctx.options);
}

/** Where the token lives between issue-token and write-kubeconfig: in memory only (and redacted from logs). */
function tokenSecretKey(o: ReadonlyOptions): string {
  return `readonly-token:${o.namespace}/${o.account}`;
}

function revokeCommand(o: ReadonlyOptions): string {
  return `kubectl delete secret ${tokenSecretName(o.account, o.token)} -n ${o.namespace}`;
}

// ------------------------------------------------------------------------------------------ namespace-check

interface NamespaceState {
  name: string;
  role: string;
  exists: boolean;
  terminatingSince?: string;
  /** Set when we may not even read it. */
  forbidden?: string;
}

async function namespaceStates(c: ClusterPort, o: ReadonlyOptions): Promise<NamespaceState[]> {
  const list: Array<{ name: string; role: string }> = [{ name: o.namespace, role: 'namespace of the service account' }];
  if (o.scope.kind === 'namespace' && o.scope.namespace !== o.namespace) list.push({ name: o.scope.namespace, role: 'namespace the account may read' });
  const out: NamespaceState[] = [];
  for (const n of list) {
    let ns: KubeObject | null;
    try {
      ns = await c.get('v1', 'Namespace', n.name);
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'forbidden') {
        out.push({ ...n, exists: false, forbidden: err.message.split('\n')[0] ?? '' });
        continue;
      }
      throw err;
    }
    const since = ns?.metadata.deletionTimestamp;
    out.push({ ...n, exists: ns !== null, terminatingSince: since ? String(since) : undefined });
  }
  return out;
}

function namespaceChecks(o: ReadonlyOptions, states: NamespaceState[]): Check[] {
  return states.map((s) => {
    if (s.forbidden) {
      return { ok: false, what: `your kubeconfig may not read namespace ${s.name} (${s.forbidden})`, fix: 'use the cluster admin kubeconfig (--kubeconfig; on a kubeadm master /etc/kubernetes/admin.conf)' };
    }
    if (s.terminatingSince) {
      return {
        ok: false,
        what: `namespace ${s.name} (${s.role}) is being deleted (since ${s.terminatingSince}); nothing can be created in it`,
        fix: `wait until \`kubectl get namespace ${s.name}\` says NotFound and run again, or choose another with ${s.name === o.namespace ? '--set namespace=NAME' : '--set scope=namespace:NAME'}`,
      };
    }
    if (!s.exists && s.role !== 'namespace of the service account') {
      return { ok: false, what: `namespace ${s.name} (${s.role}) does not exist`, fix: `create it (kubectl create namespace ${s.name}) or choose another with --set scope=namespace:NAME` };
    }
    return { ok: true, what: `namespace ${s.name} (${s.role}) ${s.exists ? 'is usable' : 'will be created'}`, fix: '' };
  });
}

/** The rights the admin kubeconfig needs, asked with SelfSubjectAccessReview before anything is changed. */
async function rightsChecks(c: ClusterPort, o: ReadonlyOptions): Promise<Check[]> {
  const wants: Array<{ verbs: string[]; resource: string; group: string; namespace?: string; subresource?: string; why: string }> = [];
  const seen = new Set<string>();
  for (const obj of readonlyManifests(o)) {
    const resource = `${obj.kind.toLowerCase()}s`;
    const key = `${obj.kind}|${obj.metadata.namespace ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    wants.push({ verbs: ['create', 'patch'], resource, group: groupOf(obj.apiVersion), namespace: obj.metadata.namespace, why: `apply ${obj.kind}` });
  }
  if (o.token === 'timebound') wants.push({ verbs: ['create'], resource: 'serviceaccounts', subresource: 'token', group: '', namespace: o.namespace, why: 'issue the token' });
  const checks: Check[] = [];
  for (const w of wants) {
    const denied: string[] = [];
    for (const verb of w.verbs) {
      if (!(await c.canI({ verb, resource: w.resource, group: w.group, namespace: w.namespace, subresource: w.subresource }))) denied.push(verb);
    }
    const res = `${w.resource}${w.subresource ? `/${w.subresource}` : ''}${w.group ? `.${w.group}` : ''}`;
    const where = w.namespace ? ` in namespace ${w.namespace}` : ' (cluster-wide)';
    checks.push({
      ok: denied.length === 0,
      what: denied.length === 0 ? `may ${w.verbs.join(' and ')} ${res}${where}` : `your kubeconfig may not ${denied.join(' or ')} ${res}${where} (needed to ${w.why})`,
      fix: denied.length === 0 ? '' : 'use the cluster admin kubeconfig (--kubeconfig; on a kubeadm master /etc/kubernetes/admin.conf), or ask a cluster admin to run this stage',
    });
  }
  return checks;
}

const namespaceCheck: Step = {
  id: 'namespace-check',
  title: 'Check the namespaces and your rights',
  explain:
    'Before anything changes: the namespace must not be in the middle of being deleted, and your kubeconfig must be allowed to create the service account, role, binding and token (asked with SelfSubjectAccessReview). If not, nothing is touched.',
  async needs(ctx) {
    const o = opts(ctx);
    const c = await ctx.ports.cluster();
    return [...namespaceChecks(o, await namespaceStates(c, o)), ...(await rightsChecks(c, o))];
  },
  plan(ctx) {
    const o = opts(ctx);
    const names = [o.namespace, ...(o.scope.kind === 'namespace' ? [o.scope.namespace] : [])];
    return [
      { type: 'api', description: `read namespace ${[...new Set(names)].join(' and ')}: refuse one that is being deleted${o.scope.kind === 'namespace' ? ' or missing' : ''}` },
      { type: 'api', description: 'ask the API server (SelfSubjectAccessReview) whether this kubeconfig may create the ServiceAccount, role, binding, Secret and token' },
    ];
  },
  async run(ctx) {
    const o = opts(ctx);
    const c = await ctx.ports.cluster();
    const me = await whoamiOr(c);
    ctx.log(`acting as ${me.username}${me.groups.length ? ` (groups ${me.groups.join(', ')})` : ''} on ${c.server}`);
    const bad = namespaceChecks(o, await namespaceStates(c, o)).filter((x) => !x.ok);
    if (bad.length) throw new Error(bad.map((b) => `${b.what}\n  fix: ${b.fix}`).join('\n'));
    return { server: c.server, user: me.username };
  },
  async verify(ctx) {
    const o = opts(ctx);
    const c = await ctx.ports.cluster();
    return namespaceChecks(o, await namespaceStates(c, o)).every((x) => x.ok);
  },
};

async function whoamiOr(c: ClusterPort): Promise<{ username: string; groups: string[] }> {
  try {
    return await c.whoami();
  } catch (err) {
    // SelfSubjectReview is GA since 1.28; an older API server lacks it. Anything else is a real failure.
    if (err instanceof ClusterError && err.kind === 'not-found') return { username: '(unknown: SelfSubjectReview not served)', groups: [] };
    throw err;
  }
}

// ------------------------------------------------------------------------------------------ apply-rbac

/** Subset match: every field of `want` is in `got` with the same value (lists: same length, element-wise). */
export function contains(got: unknown, want: unknown): boolean {
  if (Array.isArray(want)) return Array.isArray(got) && got.length === want.length && want.every((w, i) => contains(got[i], w));
  if (want && typeof want === 'object') {
    if (!got || typeof got !== 'object' || Array.isArray(got)) return false;
    return Object.entries(want as Record<string, unknown>).every(([k, v]) => contains((got as Record<string, unknown>)[k], v));
  }
  return got === want;
}

/** Objects of this account that boardkube applied earlier with other options (another scope or token kind). */
async function staleObjects(c: ClusterPort, o: ReadonlyOptions, ctx: StepContext): Promise<KubeObject[]> {
  const wanted = new Set(readonlyManifests(o).map((m) => `${m.kind}|${m.metadata.namespace ?? ''}|${m.metadata.name}`));
  const selector = accountSelector(o);
  const found: KubeObject[] = [];
  const kinds: Array<[string, string, string | undefined]> = [
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', undefined],
    ['rbac.authorization.k8s.io/v1', 'RoleBinding', undefined],
    ['v1', 'Secret', o.namespace],
  ];
  for (const [apiVersion, kind, ns] of kinds) {
    try {
      for (const obj of await c.list(apiVersion, kind, ns, { labelSelector: selector })) {
        if (!wanted.has(`${kind}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`)) found.push({ ...obj, apiVersion, kind });
      }
    } catch (err) {
      if (!(err instanceof ClusterError) || err.kind !== 'forbidden') throw err;
      ctx.log(`could not look for ${kind}s left from earlier runs: ${err.message.split('\n')[0]}`);
    }
  }
  return found;
}

const applyRbac: Step = {
  id: 'apply-rbac',
  title: 'Create the service account, role and binding',
  explain:
    "RBAC can only add rights, never take one away, so 'read everything except Secrets' (scope cluster-read) is a ClusterRole that lists what may be read: get, list and watch on every core resource except Secrets and the exec, attach, port-forward and proxy doors into pods, nodes and services, plus every resource of the built-in API groups. Custom resources (CRDs) are not in it; scope=view uses the built-in view role instead, which CRDs can extend. Server-side apply: running it again changes nothing, and bindings or token Secrets this account got from earlier runs with other options are removed.",
  plan(ctx) {
    const o = opts(ctx);
    const objects = readonlyManifests(o);
    return [
      { type: 'manifest', description: `apply (server-side, field manager boardkube) ${objects.map((m) => describeObject(m)).join(', ')} — ${describeScope(o.scope)}`, content: toYaml(objects) },
      {
        type: 'api',
        description: `delete bindings and token Secrets labelled ${accountSelector(o)} that are not listed above (left from an earlier run with another scope or token kind)`,
      },
    ];
  },
  async run(ctx) {
    const o = opts(ctx);
    const c = await ctx.ports.cluster();
    const objects = readonlyManifests(o);
    const done: Array<{ object: KubeObject; outcome: string }> = [];
    for (const [i, obj] of objects.entries()) {
      ctx.signal.throwIfAborted();
      try {
        // An existing namespace may be the user's own: leave it as it is (and an empty apply on it would
        // still change its managedFields once, so a second run would not be 'unchanged').
        if (obj.kind === 'Namespace' && (await c.get('v1', 'Namespace', obj.metadata.name))) {
          done.push({ object: obj, outcome: 'unchanged' });
          ctx.log(`${describeObject(obj)} exists, left as it is`);
          continue;
        }
        const [r] = await c.apply([obj], { signal: ctx.signal });
        if (r) {
          done.push({ object: obj, outcome: r.outcome });
          ctx.log(`${describeObject(obj)} ${r.outcome}`);
        }
      } catch (err) {
        throw partialFailure(err, obj, done, objects.slice(i + 1));
      }
    }
    const removed: string[] = [];
    for (const s of await staleObjects(c, o, ctx)) {
      await c.delete(s.apiVersion, s.kind, s.metadata.name, s.metadata.namespace);
      removed.push(describeObject(s));
      ctx.log(`${describeObject(s)} deleted (left from an earlier run with other options${s.kind === 'Secret' ? '; tokens bound to it stop working' : ''})`);
    }
    return {
      applied: done.map((d) => ({ kind: d.object.kind, name: d.object.metadata.name, namespace: d.object.metadata.namespace ?? null, outcome: d.outcome })),
      removed,
      binding: bindingName(o),
    };
  },
  async verify(ctx) {
    const o = opts(ctx);
    const c = await ctx.ports.cluster();
    for (const want of readonlyManifests(o)) {
      const got = await c.get(want.apiVersion, want.kind, want.metadata.name, want.metadata.namespace);
      if (!got) return false;
      const { metadata, apiVersion: _a, kind: _k, ...rest } = want;
      if (!contains(got, rest) || !contains(got.metadata.labels ?? {}, metadata.labels ?? {}) || !contains(got.metadata.annotations ?? {}, metadata.annotations ?? {})) return false;
    }
    return true;
  },
};

function partialFailure(err: unknown, failed: KubeObject, done: Array<{ object: KubeObject; outcome: string }>, rest: KubeObject[]): Error {
  const message = err instanceof Error ? err.message : String(err);
  const lines = [`applying ${describeObject(failed)} failed: ${message}`];
  if (done.length) {
    lines.push(`already in the cluster: ${done.map((d) => `${describeObject(d.object)} (${d.outcome})`).join(', ')}`);
    const created = done.filter((d) => d.outcome === 'created' && d.object.kind !== 'Namespace');
    if (created.length) {
      lines.push(`created by this run; run the stage again once the cause is fixed, or remove them: ${created.map((d) => `kubectl delete ${d.object.kind.toLowerCase()} ${d.object.metadata.name}${d.object.metadata.namespace ? ` -n ${d.object.metadata.namespace}` : ''}`).join('; ')}`);
    }
  } else {
    lines.push('nothing was changed');
  }
  lines.push(`not applied: ${[failed, ...rest].map((r) => describeObject(r)).join(', ')}`);
  const e = err instanceof ClusterError ? new ClusterError(err.kind, lines.join('\n')) : new Error(lines.join('\n'));
  return e;
}

// ------------------------------------------------------------------------------------------ issue-token

async function issueToken(ctx: StepContext, c: ClusterPort, o: ReadonlyOptions): Promise<{ token: string; expiresAt: string | null }> {
  if (o.token === 'long-lived') {
    const name = tokenSecretName(o.account, o.token);
    ctx.log(`WARNING: a long-lived token never expires. Anyone holding the kubeconfig can read the cluster until you run: ${revokeCommand(o)}`);
    const secret = await c.waitFor('v1', 'Secret', name, o.namespace, (s) => typeof (s.data as Record<string, unknown> | undefined)?.token === 'string', {
      timeoutMs: 60_000,
      signal: ctx.signal,
    });
    const token = Buffer.from(String((secret.data as Record<string, string>).token), 'base64').toString('utf8');
    ctx.secrets.set(tokenSecretKey(o), token);
    return { token, expiresAt: null };
  }
  const anchor = tokenSecretName(o.account, o.token);
  const r = await c.createToken(o.namespace, o.account, o.durationSeconds, { boundObjectRef: { kind: 'Secret', name: anchor }, signal: ctx.signal });
  ctx.secrets.set(tokenSecretKey(o), r.token);
  const got = Math.round((Date.parse(r.expiresAt) - Date.now()) / 1000);
  if (Number.isFinite(got) && got < o.durationSeconds - 120) {
    ctx.log(`the API server shortened the token to ${formatDuration(Math.max(got, 0))} (its --service-account-max-token-expiration)`);
  }
  return { token: r.token, expiresAt: r.expiresAt };
}

function fileToken(o: ReadonlyOptions): string | undefined {
  try {
    return tokenOf(fs.readFileSync(o.kubeconfigOut, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Does the kubeconfig file's token still authenticate as this service account? */
async function kubeconfigWorks(ctx: StepContext, o: ReadonlyOptions): Promise<boolean> {
  let st: fs.Stats;
  try {
    st = fs.statSync(o.kubeconfigOut);
  } catch {
    return false;
  }
  if (!st.isFile() || (st.mode & 0o777) !== 0o600) return false;
  const c = await ctx.ports.cluster();
  let port: ClusterPort | undefined;
  try {
    port = await c.fromKubeconfig(o.kubeconfigOut);
    const me = await port.whoami();
    return me.username === serviceAccountUser(o);
  } catch (err) {
    if (err instanceof ClusterError && (err.kind === 'unauthorized' || err.kind === 'config' || err.kind === 'tls')) return false;
    throw err;
  } finally {
    await port?.close?.();
  }
}

const issueTokenStep: Step = {
  id: 'issue-token',
  title: 'Issue the token',
  explain:
    'A time-bound token comes from the TokenRequest API (what `kubectl create token` does) and expires by itself; it is also bound to a Secret, so deleting that Secret revokes it early. A long-lived token sits in a kubernetes.io/service-account-token Secret and NEVER expires: anyone who holds it can read the cluster until that Secret is deleted. The token stays in memory: it is never logged or saved with the progress.',
  plan(ctx) {
    const o = opts(ctx);
    if (o.token === 'long-lived') {
      return [
        {
          type: 'api',
          description: `WARNING: long-lived token (never expires): read the token the token controller puts into Secret ${o.namespace}/${tokenSecretName(o.account, o.token)}; revoke with: ${revokeCommand(o)}`,
        },
      ];
    }
    return [
      {
        type: 'api',
        description: `TokenRequest for ServiceAccount ${o.namespace}/${o.account}, valid ${formatDuration(o.durationSeconds)}, bound to Secret ${tokenSecretName(o.account, o.token)} (revoke early with: ${revokeCommand(o)})`,
        content: JSON.stringify({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: o.durationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name: tokenSecretName(o.account, o.token) } },
        }),
      },
    ];
  },
  async run(ctx) {
    const o = opts(ctx);
    const c = await ctx.ports.cluster();
    const { expiresAt } = await issueToken(ctx, c, o);
    ctx.log(expiresAt ? `token issued, valid until ${expiresAt}` : 'long-lived token read from its Secret');
    return { token: o.token, expiresAt, boundTo: `Secret ${o.namespace}/${tokenSecretName(o.account, o.token)}`, revoke: revokeCommand(o) };
  },
  async verify(ctx) {
    const o = opts(ctx);
    // Right after the run the new token is in memory, not yet in the file. Otherwise (resume, re-run) the token
    // in the kubeconfig must still work: expired or revoked means issue a new one.
    const mem = ctx.secrets.get(tokenSecretKey(o));
    if (mem && mem !== fileToken(o)) return true;
    return kubeconfigWorks(ctx, o);
  },
};

// ------------------------------------------------------------------------------------------ write-kubeconfig

async function serverAndCa(ctx: StepContext, o: ReadonlyOptions, c: ClusterPort): Promise<{ server: string; caPem: string }> {
  let caPem = c.caPem();
  if (!caPem.trim()) {
    // An admin kubeconfig without a CA (insecure-skip-tls-verify): take the CA every namespace publishes.
    const cm = await c.get('v1', 'ConfigMap', 'kube-root-ca.crt', o.namespace);
    caPem = String((cm?.data as Record<string, string> | undefined)?.['ca.crt'] ?? '');
    if (!caPem) throw new ClusterError('config', `the admin kubeconfig carries no cluster CA and ConfigMap ${o.namespace}/kube-root-ca.crt has none`, 'use a kubeconfig with certificate-authority-data');
    ctx.log(`the admin kubeconfig has no CA: using the one from ConfigMap ${o.namespace}/kube-root-ca.crt`);
  }
  return { server: c.server, caPem };
}

const writeKubeconfig: Step = {
  id: 'write-kubeconfig',
  title: 'Write the read-only kubeconfig',
  explain:
    'The kubeconfig holds the API server URL, the cluster CA and the token, with a context named ACCOUNT@CLUSTER. It is written with mode 0600 (only you can read it); the token is never shown, logged or saved with the progress.',
  async plan(ctx) {
    const o = opts(ctx);
    let server = '<server URL of the cluster>';
    let caPem = '<CA of the cluster>';
    try {
      // Reading the admin kubeconfig is local; nothing is sent, so `plan` works without the cluster.
      const c = await ctx.ports.cluster();
      server = c.server;
      caPem = c.caPem() || caPem;
    } catch {
      // plan shows placeholders; the run reports the real problem.
    }
    const expiresAt = o.token === 'long-lived' ? null : `<issued time + ${formatDuration(o.durationSeconds)}>`;
    return [
      {
        type: 'file',
        description: `write ${o.kubeconfigOut} (context ${contextName(o)}, mode 0600)`,
        path: o.kubeconfigOut,
        mode: 0o600,
        content: buildKubeconfig({ opts: o, server, caPem, token: TOKEN_PLACEHOLDER, expiresAt }),
      },
    ];
  },
  async run(ctx) {
    const o = opts(ctx);
    const c = await ctx.ports.cluster();
    let token = ctx.secrets.get(tokenSecretKey(o));
    let expiresAt: string | null = null;
    const issued = ctx.outputOf(STAGE, 'issue-token');
    if (token) {
      expiresAt = typeof issued?.expiresAt === 'string' ? issued.expiresAt : null;
    } else {
      ctx.log('the token is not in memory (tokens are never saved): issuing a fresh one');
      ({ token, expiresAt } = await issueToken(ctx, c, o));
    }
    const { server, caPem } = await serverAndCa(ctx, o, c);
    writePrivateFile(o.kubeconfigOut, buildKubeconfig({ opts: o, server, caPem, token, expiresAt }));
    if (!(await kubeconfigWorks(ctx, o))) {
      // The token in memory was revoked or expired since it was issued (e.g. its Secret was deleted).
      ctx.log('the token in memory is no longer accepted: issuing a fresh one');
      ({ token, expiresAt } = await issueToken(ctx, c, o));
      writePrivateFile(o.kubeconfigOut, buildKubeconfig({ opts: o, server, caPem, token, expiresAt }));
    }
    ctx.log(`wrote ${o.kubeconfigOut} (mode 0600, context ${contextName(o)}); try it: kubectl --kubeconfig ${o.kubeconfigOut} get pods${o.scope.kind === 'namespace' ? '' : ' -A'}`);
    return { path: o.kubeconfigOut, context: contextName(o), server, expiresAt, revoke: revokeCommand(o) };
  },
  async verify(ctx) {
    const o = opts(ctx);
    let text: string;
    try {
      text = fs.readFileSync(o.kubeconfigOut, 'utf8');
    } catch {
      return false;
    }
    const token = tokenOf(text);
    if (!token) return false;
    // When it was just written, this token is the one in memory.
    const mem = ctx.secrets.get(tokenSecretKey(o));
    if (mem && mem !== token) return false;
    return kubeconfigWorks(ctx, o);
  },
};

// ------------------------------------------------------------------------------------------ prove

const prove: Step = {
  id: 'prove',
  title: 'Prove it with the exported kubeconfig',
  explain:
    "The exported kubeconfig itself asks the API server what it may do (SelfSubjectAccessReview, like `kubectl auth can-i`) and really tries: list pods and nodes, create a ConfigMap (dry run), delete one, read Secrets. Inside the cluster a pod with `serviceAccountName: ACCOUNT` has the same rights: `curl --cacert /var/run/secrets/kubernetes.io/serviceaccount/ca.crt --oauth2-bearer \"$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)\" https://kubernetes.default.svc/api/v1/pods` (--oauth2-bearer sends the token as the bearer authorization header).",
  plan(ctx) {
    const o = opts(ctx);
    return [
      {
        type: 'api',
        description: `as ${serviceAccountUser(o)} through ${o.kubeconfigOut}: SelfSubjectAccessReviews and real requests — list pods and nodes; create, update, delete ConfigMaps, create pods, exec, delete namespaces, read Secrets (must be refused)`,
      },
    ];
  },
  async run(ctx) {
    const o = opts(ctx);
    const admin = await ctx.ports.cluster();
    const port = await admin.fromKubeconfig(o.kubeconfigOut);
    let me: { username: string };
    let rows: ProofRow[];
    try {
      me = await whoamiOr(port);
      ctx.log(`${o.kubeconfigOut} authenticates as ${me.username}`);
      rows = await runProof(port, o, true);
    } finally {
      await port.close?.();
    }
    for (const line of formatProofTable(rows).split('\n')) ctx.log(line);
    const example = inClusterExample(o);
    const failed = rows.filter((r) => !r.ok);
    if (failed.length) {
      throw new Error(`the exported kubeconfig does not behave as a read-only one:\n${formatProofTable(failed)}\n${failed.map((r) => `${r.check}: ${r.detail}`).join('\n')}`);
    }
    ctx.log('in-cluster, as the seed article does it:');
    for (const line of example.split('\n')) ctx.log(line);
    const outputs: Outputs = { identity: me.username, rows: rows as unknown as Json, allOk: true, inCluster: example, kubeconfig: o.kubeconfigOut };
    return outputs;
  },
  async verify(ctx) {
    const o = opts(ctx);
    if (!(await kubeconfigWorks(ctx, o))) return false;
    const port = await (await ctx.ports.cluster()).fromKubeconfig(o.kubeconfigOut);
    try {
      return (await runProof(port, o, false)).every((r) => r.ok);
    } finally {
      await port.close?.();
    }
  },
};

export const readonlyStage: Stage = {
  id: 'readonly',
  title: 'Read-only access',
  summary: 'A service account that may only read the cluster, a kubeconfig for it, and the proof of what it may and may not do.',
  requires: ['control-plane'],
  options: READONLY_OPTIONS,
  parseOptions: (raw, cluster) => ({ ...parseReadonlyOptions(raw, cluster) }),
  steps: [namespaceCheck, applyRbac, issueTokenStep, writeKubeconfig, prove],
};

export type { ReadonlyOptions };
