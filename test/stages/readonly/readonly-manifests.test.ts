// The read-only stage's pure parts: option parsing, the manifest generator, the kubeconfig builder, the proof
// expectations per scope. No cluster needed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/engine/types.ts';
import { buildKubeconfig, TOKEN_PLACEHOLDER, tokenOf } from '../../../flows/readonly/kubeconfig.ts';
import { bindingName, CORE_READ_RESOURCES, readonlyManifests, READ_GROUPS, toYaml } from '../../../flows/readonly/manifests.ts';
import { KUBECONFIG_MARK, parseDuration, parseReadonlyOptions, type ReadonlyOptions } from '../../../flows/readonly/options.ts';
import { formatProofTable, proofChecks } from '../../../flows/readonly/proof.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-ro-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cluster = { name: 'homelab' };
const out = (name: string) => path.join(tmp, name);

function opts(over: Partial<ReadonlyOptions> = {}): ReadonlyOptions {
  return { account: 'readonly', namespace: 'boardkube-readonly', scope: { kind: 'cluster-read' }, token: 'timebound', durationSeconds: 86400, kubeconfigOut: out('k'), clusterName: 'homelab', ...over };
}

describe('parseReadonlyOptions', () => {
  it('fills the defaults', () => {
    const o = parseReadonlyOptions({ 'kubeconfig-out': out('a.kubeconfig') }, cluster);
    expect(o).toEqual({
      account: 'readonly',
      namespace: 'boardkube-readonly',
      scope: { kind: 'cluster-read' },
      token: 'timebound',
      durationSeconds: 86400,
      kubeconfigOut: out('a.kubeconfig'),
      clusterName: 'homelab',
    });
  });

  it('ignores options meant for other stages (--set goes to every stage)', () => {
    expect(() => parseReadonlyOptions({ 'kubeconfig-out': out('b'), stateDir: '/x', yes: true, device: '/dev/sdz' }, cluster)).not.toThrow();
  });

  it.each([
    ['account', 'Read_Only'],
    ['account', 'a'.repeat(64)],
    ['account', '-ro'],
    ['account', 'default'],
    ['namespace', 'My NS'],
    ['namespace', 'ns.with.dots'],
    ['scope', 'everything'],
    ['scope', 'namespace:Bad_NS'],
    ['token', 'forever'],
    ['duration', '5m'],
    ['duration', 'tomorrow'],
    ['duration', '400d'],
  ])('refuses %s=%s with an InputError naming the option', (field, value) => {
    let caught: unknown;
    try {
      parseReadonlyOptions({ 'kubeconfig-out': out('c'), [field]: value }, cluster);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).field).toBe(field);
    expect((caught as InputError).message).toMatch(/fix:/);
  });

  it('parses scopes and durations', () => {
    expect(parseReadonlyOptions({ 'kubeconfig-out': out('d'), scope: 'namespace:team-a', duration: '1h30m' }, cluster)).toMatchObject({
      scope: { kind: 'namespace', namespace: 'team-a' },
      durationSeconds: 5400,
    });
    expect(parseDuration('7d')).toBe(604800);
    expect(parseDuration('10m')).toBe(600);
    expect(parseDuration('')).toBeNull();
  });

  it('refuses to overwrite a file it did not write, a directory, or a missing folder', () => {
    fs.writeFileSync(out('kubeconfig-of-someone'), 'apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-key-data: AAAA\n');
    expect(() => parseReadonlyOptions({ 'kubeconfig-out': out('kubeconfig-of-someone') }, cluster)).toThrow(/not a read-only kubeconfig written by boardkube/);
    expect(() => parseReadonlyOptions({ 'kubeconfig-out': tmp }, cluster)).toThrow(/is a directory/);
    expect(() => parseReadonlyOptions({ 'kubeconfig-out': path.join(tmp, 'nope', 'k') }, cluster)).toThrow(/does not exist/);
    fs.writeFileSync(out('ours'), `${KUBECONFIG_MARK}\napiVersion: v1\n`);
    expect(() => parseReadonlyOptions({ 'kubeconfig-out': out('ours') }, cluster)).not.toThrow();
  });
});

describe('readonlyManifests', () => {
  it('cluster-read: namespace, service account, ClusterRole without secrets, binding, anchor secret', () => {
    const objs = readonlyManifests(opts());
    expect(objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual([
      'Namespace//boardkube-readonly',
      'ServiceAccount/boardkube-readonly/readonly',
      'ClusterRole//boardkube-readonly',
      'ClusterRoleBinding//boardkube-readonly:boardkube-readonly:readonly',
      'Secret/boardkube-readonly/readonly-token-anchor',
    ]);
    const role = objs[2]!;
    const rules = role.rules as Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
    for (const r of rules) expect(r.verbs).toEqual(['get', 'list', 'watch']);
    const core = rules.find((r) => r.apiGroups.includes(''))!;
    expect(core.apiGroups).toEqual(['']); // never '*' with core resources: '*' would reach secrets
    expect(core.resources).toContain('pods');
    expect(core.resources).toContain('nodes');
    expect(core.resources).toContain('pods/log');
    for (const bad of ['secrets', 'pods/exec', 'pods/attach', 'pods/portforward', 'pods/proxy', 'nodes/proxy', 'services/proxy', 'serviceaccounts/token', '*']) {
      expect(core.resources).not.toContain(bad);
    }
    const groups = rules.find((r) => !r.apiGroups.includes(''))!;
    expect(groups.apiGroups).not.toContain('*');
    expect(groups.apiGroups).not.toContain('');
    expect(groups.apiGroups).toEqual([...READ_GROUPS]);
    expect(CORE_READ_RESOURCES.length).toBeGreaterThan(20);
    expect(objs[3]).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'boardkube-readonly' },
      subjects: [{ kind: 'ServiceAccount', name: 'readonly', namespace: 'boardkube-readonly' }],
    });
    expect(objs[4]).toMatchObject({ type: 'Opaque' });
  });

  it('view: the built-in view ClusterRole, cluster-wide, no role of our own', () => {
    const objs = readonlyManifests(opts({ scope: { kind: 'view' } }));
    expect(objs.some((o) => o.kind === 'ClusterRole')).toBe(false);
    const b = objs.find((o) => o.kind === 'ClusterRoleBinding')!;
    expect(b.metadata.name).toBe('boardkube-view:boardkube-readonly:readonly');
    expect(b.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' });
  });

  it('namespace:NAME: a RoleBinding to view in that namespace only', () => {
    const objs = readonlyManifests(opts({ scope: { kind: 'namespace', namespace: 'team-a' } }));
    expect(objs.some((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'ClusterRole')).toBe(false);
    const b = objs.find((o) => o.kind === 'RoleBinding')!;
    expect(b.metadata.namespace).toBe('team-a');
    expect(b.roleRef).toMatchObject({ kind: 'ClusterRole', name: 'view' });
    expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'readonly', namespace: 'boardkube-readonly' }]);
  });

  it('long-lived: a service-account-token Secret annotated with the account', () => {
    const s = readonlyManifests(opts({ token: 'long-lived' })).find((o) => o.kind === 'Secret')!;
    expect(s).toMatchObject({
      type: 'kubernetes.io/service-account-token',
      metadata: { name: 'readonly-token', annotations: { 'kubernetes.io/service-account.name': 'readonly' } },
    });
  });

  it('is deterministic, labels what it owns, and binding names differ per scope (roleRef is immutable)', () => {
    expect(toYaml(readonlyManifests(opts()))).toBe(toYaml(readonlyManifests(opts())));
    for (const o of readonlyManifests(opts())) {
      if (o.kind === 'Namespace') {
        expect(o.metadata.labels).toBeUndefined();
        continue;
      }
      expect((o.metadata.labels as Record<string, string>)['app.kubernetes.io/managed-by']).toBe('boardkube');
    }
    const names = new Set([opts(), opts({ scope: { kind: 'view' } })].map((o) => bindingName(o)));
    expect(names.size).toBe(2);
  });

  it('renders YAML that parses back to the same objects', () => {
    const objs = readonlyManifests(opts());
    const docs = parseAllDocuments(toYaml(objs)).map((d) => d.toJSON());
    expect(docs).toEqual(objs);
  });
});

describe('kubeconfig', () => {
  it('carries server, CA, token and a context ACCOUNT@CLUSTER; the plan shows a placeholder', () => {
    const text = buildKubeconfig({ opts: opts(), server: 'https://192.168.1.40:6443', caPem: 'PEM', token: 'eyJhbGciOi.secret', expiresAt: '2030-01-01T00:00:00Z' });
    const doc = parse(text);
    expect(doc['current-context']).toBe('readonly@homelab');
    expect(doc.clusters[0].cluster).toEqual({ server: 'https://192.168.1.40:6443', 'certificate-authority-data': Buffer.from('PEM').toString('base64') });
    expect(doc.users[0].user.token).toBe('eyJhbGciOi.secret');
    expect(tokenOf(text)).toBe('eyJhbGciOi.secret');
    expect(text.startsWith(KUBECONFIG_MARK)).toBe(true);
    expect(text).toContain('kubectl delete secret readonly-token-anchor -n boardkube-readonly');
    const planned = buildKubeconfig({ opts: opts(), server: 's', caPem: 'c', token: TOKEN_PLACEHOLDER, expiresAt: null });
    expect(parse(planned).users[0].user.token).toBe(TOKEN_PLACEHOLDER);
    expect(planned).toContain('never expires');
  });

  it('sets the context namespace for a namespace scope', () => {
    const doc = parse(buildKubeconfig({ opts: opts({ scope: { kind: 'namespace', namespace: 'team-a' } }), server: 's', caPem: 'c', token: 't', expiresAt: null }));
    expect(doc.contexts[0].context.namespace).toBe('team-a');
  });
});

describe('proof expectations', () => {
  const expectOf = (o: ReadonlyOptions) => Object.fromEntries(proofChecks(o).map((c) => [c.check, c.expected]));
  it('cluster-read may list pods everywhere and nodes; never write or read secrets', () => {
    const e = expectOf(opts());
    expect(e['list pods in all namespaces']).toBe('allowed');
    expect(e['list nodes']).toBe('allowed');
    expect(e['create configmaps in boardkube-readonly']).toBe('denied');
    expect(e['read secrets in boardkube-readonly']).toBe('denied');
    expect(e['exec into pods in boardkube-readonly']).toBe('denied');
  });
  it('view has no nodes; namespace scope reads only its namespace', () => {
    expect(expectOf(opts({ scope: { kind: 'view' } }))['list nodes']).toBe('denied');
    const n = expectOf(opts({ scope: { kind: 'namespace', namespace: 'team-a' } }));
    expect(n['list pods in namespace team-a']).toBe('allowed');
    expect(n['list pods in all namespaces']).toBe('denied');
    expect(n['create configmaps in team-a']).toBe('denied');
  });
  it('formats a table', () => {
    const t = formatProofTable([{ check: 'list nodes', how: 'can-i', expected: 'allowed', actual: 'allowed', ok: true, detail: '' }]);
    expect(t.split('\n')[1]).toMatch(/^list nodes\s+can-i\s+allowed\s+allowed\s+ok$/);
  });
});
