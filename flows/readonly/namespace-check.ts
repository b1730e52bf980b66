// Step namespace-check: before anything changes, the namespaces are usable and the admin kubeconfig may create
// everything the stage applies (asked with SelfSubjectAccessReview).
import type { Check, Step } from '../../src/engine/types.ts';
import { ClusterError, groupOf, type ClusterPort, type KubeObject } from '../../src/ports/cluster.ts';
import { whoamiOr } from './common.ts';
import { readonlyManifests } from './manifests.ts';
import { readonlyOptions, type ReadonlyOptions } from './options.ts';

const USE_ADMIN = 'use the cluster admin kubeconfig (--kubeconfig; on a kubeadm master /etc/kubernetes/admin.conf)';

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
      return { ok: false, what: `your kubeconfig may not read namespace ${s.name} (${s.forbidden})`, fix: USE_ADMIN };
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
      fix: denied.length === 0 ? '' : `${USE_ADMIN}, or ask a cluster admin to run this stage`,
    });
  }
  return checks;
}

export const namespaceCheckStep: Step = {
  id: 'namespace-check',
  title: 'Check the namespaces and your rights',
  explain:
    'Before anything changes: the namespace must not be in the middle of being deleted, and your kubeconfig must be allowed to create the service account, role, binding and token (asked with SelfSubjectAccessReview). If not, nothing is touched.',
  async needs(ctx) {
    const o = readonlyOptions(ctx.options);
    const c = await ctx.ports.cluster();
    return [...namespaceChecks(o, await namespaceStates(c, o)), ...(await rightsChecks(c, o))];
  },
  plan(ctx) {
    const o = readonlyOptions(ctx.options);
    const names = [o.namespace, ...(o.scope.kind === 'namespace' ? [o.scope.namespace] : [])];
    return [
      { type: 'api', description: `read namespace ${[...new Set(names)].join(' and ')}: refuse one that is being deleted${o.scope.kind === 'namespace' ? ' or missing' : ''}` },
      { type: 'api', description: 'ask the API server (SelfSubjectAccessReview) whether this kubeconfig may create the ServiceAccount, role, binding, Secret and token' },
    ];
  },
  async run(ctx) {
    const o = readonlyOptions(ctx.options);
    const c = await ctx.ports.cluster();
    const me = await whoamiOr(c);
    ctx.log(`acting as ${me.username}${me.groups.length ? ` (groups ${me.groups.join(', ')})` : ''} on ${c.server}`);
    const bad = namespaceChecks(o, await namespaceStates(c, o)).filter((x) => !x.ok);
    if (bad.length) throw new Error(bad.map((b) => `${b.what}\n  fix: ${b.fix}`).join('\n'));
    return { server: c.server, user: me.username };
  },
  async verify(ctx) {
    const o = readonlyOptions(ctx.options);
    const c = await ctx.ports.cluster();
    return namespaceChecks(o, await namespaceStates(c, o)).every((x) => x.ok);
  },
};
