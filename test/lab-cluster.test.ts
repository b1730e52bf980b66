// The practice lab's Cluster port: apply outcomes, namespaces, tokens, RBAC (incl. the built-in view role),
// snapshots; and the whole readonly stage run by the real engine against it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readonlyStage } from '../flows/readonly/index.ts';
import { readonlyManifests } from '../flows/readonly/manifests.ts';
import { defaultCluster } from '../src/cluster/spec.ts';
import { Engine } from '../src/engine/engine.ts';
import { MemorySecrets } from '../src/engine/secrets.ts';
import { StateStore } from '../src/engine/state.ts';
import type { EngineEvent, Json, Ports } from '../src/engine/types.ts';
import { LabCluster } from '../src/lab/cluster.ts';
import { ClusterError, type ClusterPort, type KubeObject } from '../src/ports/cluster.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-lab-cluster-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof ClusterError ? e.kind : `other: ${(e as Error).message}`;
  }
}

const cm = (name: string, ns: string, data: Record<string, string> = { a: '1' }): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data });

describe('LabCluster', () => {
  it('reports created / unchanged / configured like server-side apply', async () => {
    const lab = LabCluster.create();
    await lab.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } }]);
    expect((await lab.apply([cm('x', 'apps')]))[0]!.outcome).toBe('created');
    expect((await lab.apply([cm('x', 'apps')]))[0]!.outcome).toBe('unchanged');
    const r = await lab.apply([cm('x', 'apps', { a: '2' })]);
    expect(r[0]!.outcome).toBe('configured');
    expect(r[0]!.object.data).toEqual({ a: '2' });
    expect((await lab.get('v1', 'ConfigMap', 'x', 'apps'))?.metadata.resourceVersion).toBe(r[0]!.object.metadata.resourceVersion);
  });

  it('gives every new namespace its default ServiceAccount and kube-root-ca.crt', async () => {
    const lab = LabCluster.create();
    await lab.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } }]);
    expect(await lab.get('v1', 'ServiceAccount', 'default', 'apps')).not.toBeNull();
    expect((await lab.get('v1', 'ConfigMap', 'kube-root-ca.crt', 'apps'))?.data).toEqual({ 'ca.crt': lab.caPem() });
  });

  it('refuses objects in a missing or terminating namespace, and invalid names', async () => {
    const lab = LabCluster.create();
    expect(await kindOf(lab.apply([cm('x', 'nope')]))).toBe('not-found');
    await lab.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'going', finalizers: ['example.com/hold'] } }]);
    expect(await lab.delete('v1', 'Namespace', 'going')).toBe(true);
    expect((await lab.get('v1', 'Namespace', 'going'))?.metadata.deletionTimestamp).toBeTruthy();
    await expect(lab.apply([cm('x', 'going')])).rejects.toThrow(/because it is being terminated/);
    await expect(lab.apply([cm('Bad_Name', 'default')])).rejects.toThrow(/metadata.name: Invalid value: "Bad_Name"/);
    expect(await kindOf(lab.get('v1', 'Gizmo', 'x'))).toBe('not-found');
  });

  it('create: conflict on a second create; dry run stores nothing', async () => {
    const lab = LabCluster.create();
    await lab.create(cm('once', 'default'));
    expect(await kindOf(lab.create(cm('once', 'default')))).toBe('conflict');
    await lab.create(cm('dry', 'default'), { dryRun: true });
    expect(await lab.get('v1', 'ConfigMap', 'dry', 'default')).toBeNull();
  });

  it('issues service-account tokens that follow RBAC, expire, and die with their bound object', async () => {
    let now = Date.parse('2026-09-01T10:00:00Z');
    const lab = LabCluster.create({ now: () => now });
    await lab.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ro' } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: 'ro' } },
      { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'anchor', namespace: 'ro' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'reader-view' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'ro' }],
      },
    ]);
    expect(await kindOf(lab.createToken('ro', 'reader', 60))).toBe('invalid');
    const { token, expiresAt } = await lab.createToken('ro', 'reader', 600, { boundObjectRef: { kind: 'Secret', name: 'anchor' } });
    expect(expiresAt).toBe('2026-09-01T10:10:00Z');
    const ro = lab.withToken(token);
    expect(await ro.whoami()).toEqual({ username: 'system:serviceaccount:ro:reader', groups: ['system:serviceaccounts', 'system:serviceaccounts:ro', 'system:authenticated'] });
    expect(await ro.canI({ verb: 'list', resource: 'pods' })).toBe(true);
    expect(await ro.canI({ verb: 'list', resource: 'nodes' })).toBe(false); // view has no nodes
    expect(await ro.canI({ verb: 'get', resource: 'secrets', namespace: 'ro' })).toBe(false);
    expect(await ro.canI({ verb: 'get', resource: 'pods', subresource: 'log', namespace: 'ro' })).toBe(true);
    expect(await ro.canI({ verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'ro' })).toBe(false);
    expect((await ro.list('v1', 'Pod')).length).toBeGreaterThan(0);
    const denied = await ro.create(cm('nope', 'ro'), { dryRun: true }).catch((e: ClusterError) => e);
    expect(denied).toBeInstanceOf(ClusterError);
    expect((denied as ClusterError).kind).toBe('forbidden');
    expect((denied as ClusterError).message).toContain('User "system:serviceaccount:ro:reader" cannot create resource "configmaps" in API group "" in the namespace "ro"');

    now += 601_000;
    expect(await kindOf(ro.whoami())).toBe('unauthorized');

    const second = await lab.createToken('ro', 'reader', 3600, { boundObjectRef: { kind: 'Secret', name: 'anchor' } });
    expect(await kindOf(lab.withToken(second.token).whoami())).toBe('ok');
    await lab.delete('v1', 'Secret', 'anchor', 'ro');
    expect(await kindOf(lab.withToken(second.token).whoami())).toBe('unauthorized');
  });

  it('fills a service-account-token Secret with a token that never expires and dies with the Secret', async () => {
    const lab = LabCluster.create();
    await lab.apply([
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bot', namespace: 'default' } },
      { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { name: 'bot-token', namespace: 'default', annotations: { 'kubernetes.io/service-account.name': 'bot' } } },
    ]);
    const s = await lab.waitFor('v1', 'Secret', 'bot-token', 'default', (o) => Boolean((o.data as Record<string, string> | undefined)?.token), { timeoutMs: 1000 });
    const token = Buffer.from((s.data as Record<string, string>).token!, 'base64').toString();
    expect((await lab.withToken(token).whoami()).username).toBe('system:serviceaccount:default:bot');
    expect(await lab.withToken(token).canI({ verb: 'list', resource: 'pods' })).toBe(false); // no binding
    await lab.delete('v1', 'Secret', 'bot-token', 'default');
    expect(await kindOf(lab.withToken(token).whoami())).toBe('unauthorized');
  });

  it('evaluates RoleBindings only in their namespace, resourceNames, and refuses a user without rights', async () => {
    const lab = LabCluster.create();
    await lab.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'one-cm', namespace: 'team' }, rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['settings'], verbs: ['get'] }] },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'alice', namespace: 'team' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'one-cm' },
        subjects: [{ kind: 'User', name: 'alice' }],
      },
    ]);
    const alice = lab.as({ username: 'alice', groups: [] });
    expect(await alice.canI({ verb: 'get', resource: 'configmaps', namespace: 'team', name: 'settings' })).toBe(true);
    expect(await alice.canI({ verb: 'get', resource: 'configmaps', namespace: 'team', name: 'other' })).toBe(false);
    expect(await alice.canI({ verb: 'list', resource: 'configmaps', namespace: 'team' })).toBe(false);
    expect(await alice.canI({ verb: 'get', resource: 'configmaps', namespace: 'default', name: 'settings' })).toBe(false);
    await expect(alice.apply([cm('x', 'team')])).rejects.toThrow(/User "alice" cannot patch resource "configmaps" in API group "" in the namespace "team"/);
  });

  it('exports and restores its state as JSON without any token in clear', async () => {
    const lab = LabCluster.create({ server: 'https://10.0.0.1:6443' });
    await lab.apply([{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'keep', namespace: 'default' } }]);
    const { token } = await lab.createToken('default', 'keep', 3600);
    const snap = lab.snapshot();
    const text = JSON.stringify(snap);
    expect(text).not.toContain(token);
    const again = LabCluster.restore(JSON.parse(text) as Json);
    expect(again.server).toBe('https://10.0.0.1:6443');
    expect(again.caPem()).toBe(lab.caPem());
    expect(await again.get('v1', 'ServiceAccount', 'keep', 'default')).not.toBeNull();
    expect((await again.withToken(token).whoami()).username).toBe('system:serviceaccount:default:keep');
    expect(JSON.stringify(again.snapshot())).toBe(text);
    expect(() => LabCluster.restore({ version: 99 })).toThrow(/snapshot/);
  });

  it('opens an exported kubeconfig: the right server, CA and token, or a clear error', async () => {
    const lab = LabCluster.create();
    const file = path.join(tmp, 'admin.conf');
    fs.writeFileSync(file, lab.adminKubeconfig(), { mode: 0o600 });
    const admin = await lab.fromKubeconfig(file);
    expect((await admin.whoami()).username).toBe('kubernetes-admin');
    fs.writeFileSync(path.join(tmp, 'other.conf'), fs.readFileSync(file, 'utf8').replace(lab.server, 'https://10.9.9.9:6443'));
    expect(await kindOf(lab.fromKubeconfig(path.join(tmp, 'other.conf')))).toBe('unreachable');
    fs.writeFileSync(path.join(tmp, 'wrongca.conf'), fs.readFileSync(file, 'utf8').replace(/certificate-authority-data: \S+/, `certificate-authority-data: ${Buffer.from('other CA').toString('base64')}`));
    await expect(lab.fromKubeconfig(path.join(tmp, 'wrongca.conf'))).rejects.toThrow(/not signed by the CA in KUBECONFIG/);
    expect(await kindOf(lab.fromKubeconfig(path.join(tmp, 'missing.conf')))).toBe('config');
    lab.setDown(true);
    await expect(lab.list('v1', 'Pod')).rejects.toThrow(/connection refused/);
  });
});

// ------------------------------------------------------------------------------------------ the stage in the lab

function labPorts(lab: ClusterPort): Ports {
  return {
    mode: 'lab',
    host: () => {
      throw new Error('no boards here');
    },
    local: {} as Ports['local'],
    disks: {} as Ports['disks'],
    cluster: async () => lab,
    close: async () => undefined,
  };
}

async function runReadonly(lab: ClusterPort, raw: Record<string, unknown>, store = StateStore.open(fs.mkdtempSync(path.join(tmp, 'state-')), 'homelab', { mode: 'lab' }), secrets = new MemorySecrets()) {
  const events: EngineEvent[] = [];
  const engine = new Engine({ cluster: defaultCluster(), stages: [readonlyStage], store, ports: labPorts(lab), secrets, options: { readonly: raw }, assumeDone: ['control-plane'] });
  engine.on((e) => events.push(e));
  const outcome = await engine.run(['readonly']);
  const errors = events.flatMap((e) => (e.type === 'step-end' && e.error ? [e.error] : []));
  return { outcome, events, store, secrets, errors, engine };
}

describe('readonly stage in the practice lab', () => {
  it('runs end to end, proves the table, and a second run with fresh progress changes nothing', async () => {
    const lab = LabCluster.create();
    const out = path.join(tmp, 'lab-readonly.kubeconfig');
    const r = await runReadonly(lab, { 'kubeconfig-out': out });
    expect(r.errors).toEqual([]);
    expect(r.outcome).toBe('done');
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const rows = r.store.step('readonly/prove@-')?.outputs?.rows as Array<{ check: string; ok: boolean }>;
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.every((x) => x.ok)).toBe(true);
    const again = await runReadonly(lab, { 'kubeconfig-out': out });
    expect(again.outcome).toBe('done');
    const applied = again.store.step('readonly/apply-rbac@-')?.outputs?.applied as Array<{ outcome: string }>;
    expect(applied.map((a) => a.outcome)).toEqual(readonlyManifests({ account: 'readonly', namespace: 'boardkube-readonly', scope: { kind: 'cluster-read' }, token: 'timebound' }).map(() => 'unchanged'));
  });

  it('refuses a namespace being deleted before touching anything', async () => {
    const lab = LabCluster.create();
    await lab.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'leaving', finalizers: ['example.com/hold'] } }]);
    await lab.delete('v1', 'Namespace', 'leaving');
    const r = await runReadonly(lab, { namespace: 'leaving', 'kubeconfig-out': path.join(tmp, 'leaving.kubeconfig') });
    expect(r.outcome).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/namespace leaving .* is being deleted/);
    expect(await lab.get('v1', 'ServiceAccount', 'readonly', 'leaving')).toBeNull();
  });

  it('refuses an admin without RBAC rights, listing what is missing, and changes nothing', async () => {
    const lab = LabCluster.create();
    const weak = lab.as({ username: 'intern', groups: [] });
    const r = await runReadonly(weak, { 'kubeconfig-out': path.join(tmp, 'weak.kubeconfig') });
    expect(r.outcome).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/may not create or patch serviceaccounts in namespace boardkube-readonly/);
    expect(await lab.get('v1', 'Namespace', 'boardkube-readonly')).toBeNull();
  });
});
