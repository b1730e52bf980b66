// Step apply-rbac: the service account, its role and binding (and the token's anchor Secret) applied server-side,
// and what earlier runs with other options left behind removed.
import type { Step, StepContext } from '../../src/engine/types.ts';
import { ClusterError, describeObject, type ClusterPort, type KubeObject } from '../../src/ports/cluster.ts';
import { accountSelector, bindingName, describeScope, readonlyManifests, toYaml } from './manifests.ts';
import { readonlyOptions, type ReadonlyOptions } from './options.ts';

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

/** The error of a failed apply: what failed, what is already in the cluster (and how to remove it), what is not. */
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

export const applyRbacStep: Step = {
  id: 'apply-rbac',
  title: 'Create the service account, role and binding',
  explain:
    "RBAC can only add rights, never take one away, so 'read everything except Secrets' (scope cluster-read) is a ClusterRole that lists what may be read: get, list and watch on every core resource except Secrets and the exec, attach, port-forward and proxy doors into pods, nodes and services, plus every resource of the built-in API groups. Custom resources (CRDs) are not in it; scope=view uses the built-in view role instead, which CRDs can extend. Server-side apply: running it again changes nothing, and bindings or token Secrets this account got from earlier runs with other options are removed.",
  plan(ctx) {
    const o = readonlyOptions(ctx.options);
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
    const o = readonlyOptions(ctx.options);
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
    const o = readonlyOptions(ctx.options);
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
