// The real Cluster adapter against a real kube-apiserver (test/harness/controlplane.ts): what it does, and the
// messages its failures become — stopped server, wrong CA, wrong credentials, missing rights, 404/409/422.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCluster, type KubeCluster } from '../src/adapters/kube/cluster.ts';
import { ClusterError, type KubeObject } from '../src/ports/cluster.ts';
import { startControlPlane, type ControlPlane } from './harness/controlplane.ts';

let cp: ControlPlane;
let admin: KubeCluster;
const NS = 'kube-errors';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-kube-errors-'));
const file = (name: string, text: string) => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text, { mode: 0o600 });
  return p;
};

beforeAll(async () => {
  cp = await startControlPlane();
  admin = loadCluster(cp.kubeconfigPath);
  await admin.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }]);
}, 300_000);

afterAll(async () => {
  await admin?.close();
  await cp?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}, 60_000);

async function failure(p: Promise<unknown>): Promise<ClusterError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ClusterError) return e;
    throw new Error(`expected a ClusterError, got: ${(e as Error).stack ?? String(e)}`);
  }
  throw new Error('expected a failure, got success');
}

function failureSync(f: () => unknown): ClusterError {
  try {
    f();
  } catch (e) {
    if (e instanceof ClusterError) return e;
    throw e;
  }
  throw new Error('expected a failure, got success');
}

const cm = (name: string, data: Record<string, string> = { a: '1' }): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data });

/** A kubeconfig for the test apiserver with a bearer token instead of the admin client certificate. */
function tokenKubeconfig(name: string, token: string, caPem = fs.readFileSync(cp.caFile, 'utf8')): string {
  return file(
    name,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: test',
      '  cluster:',
      `    server: ${cp.server}`,
      `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
      'users:',
      '- name: someone',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: someone@test',
      '  context: {cluster: test, user: someone}',
      'current-context: someone@test',
      '',
    ].join('\n'),
  );
}

describe('real adapter: what works', () => {
  it('applies server-side as field manager boardkube: created, unchanged, configured', async () => {
    expect((await admin.apply([cm('apply-me')]))[0]!.outcome).toBe('created');
    expect((await admin.apply([cm('apply-me')]))[0]!.outcome).toBe('unchanged');
    const r = await admin.apply([cm('apply-me', { a: '2' })]);
    expect(r[0]!.outcome).toBe('configured');
    const got = await admin.get('v1', 'ConfigMap', 'apply-me', NS);
    expect(got?.data).toEqual({ a: '2' });
    const managers = (got?.metadata.managedFields as Array<{ manager: string; operation: string }>).map((m) => `${m.manager}/${m.operation}`);
    expect(managers).toContain('boardkube/Apply');
  });

  it('gets, lists (with label selectors, all namespaces), deletes; 404 is null/false', async () => {
    await admin.apply([{ ...cm('labelled'), metadata: { name: 'labelled', namespace: NS, labels: { pick: 'me' } } }]);
    expect((await admin.list('v1', 'ConfigMap', NS, { labelSelector: 'pick=me' })).map((o) => o.metadata.name)).toEqual(['labelled']);
    const all = await admin.list('v1', 'ConfigMap');
    expect(all.some((o) => o.metadata.namespace === 'kube-system')).toBe(true);
    expect(all[0]!.kind).toBe('ConfigMap');
    expect(await admin.get('v1', 'ConfigMap', 'no-such', NS)).toBeNull();
    expect(await admin.delete('v1', 'ConfigMap', 'labelled', NS)).toBe(true);
    expect(await admin.delete('v1', 'ConfigMap', 'labelled', NS)).toBe(false);
  });

  it('waits for a condition, with a timeout and an AbortSignal', async () => {
    const wait = admin.waitFor('v1', 'ConfigMap', 'later', NS, (o) => (o.data as Record<string, string> | undefined)?.ready === 'yes', { timeoutMs: 10_000 });
    setTimeout(() => void admin.apply([cm('later', { ready: 'yes' })]), 700);
    expect(((await wait).data as Record<string, string>).ready).toBe('yes');
    const t = await failure(admin.waitFor('v1', 'ConfigMap', 'never', NS, () => true, { timeoutMs: 1200 }));
    expect(t.kind).toBe('timeout');
    expect(t.message).toMatch(/timed out after 1 s waiting for ConfigMap kube-errors\/never .*\(it does not exist\)/);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('user pressed Ctrl-C')), 300);
    await expect(admin.waitFor('v1', 'ConfigMap', 'never', NS, () => true, { timeoutMs: 10_000, signal: ac.signal })).rejects.toThrow('user pressed Ctrl-C');
  });

  it('issues TokenRequests and answers SelfSubjectAccessReview / SelfSubjectReview', async () => {
    await admin.apply([{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody', namespace: NS } }]);
    const { token, expiresAt } = await admin.createToken(NS, 'nobody', 600);
    expect(token.split('.')).toHaveLength(3);
    expect(Math.abs(Date.parse(expiresAt) - Date.now() - 600_000)).toBeLessThan(60_000);
    expect(await admin.canI({ verb: 'create', resource: 'clusterroles', group: 'rbac.authorization.k8s.io' })).toBe(true);
    expect((await admin.whoami()).username).toBe('kubernetes-admin');
    const nobody = loadCluster(tokenKubeconfig('nobody.conf', token));
    expect((await nobody.whoami()).username).toBe(`system:serviceaccount:${NS}:nobody`);
    expect(await nobody.canI({ verb: 'list', resource: 'pods' })).toBe(false);
    await nobody.close();
  });
});

describe('real adapter: failures become clear messages', () => {
  it('kubeconfig missing, a directory, not YAML, or without a context', () => {
    const missing = failureSync(() => loadCluster(path.join(tmp, 'nope.conf')));
    expect(missing.kind).toBe('config');
    expect(missing.message).toMatch(/kubeconfig .*nope\.conf does not exist\n {2}fix: .*--kubeconfig/);
    expect(failureSync(() => loadCluster(tmp)).message).toMatch(/is a directory/);
    expect(failureSync(() => loadCluster(file('garbage.conf', 'clusters: [unclosed\n'))).message).toMatch(/is not a valid kubeconfig/);
    expect(failureSync(() => loadCluster(file('empty-ctx.conf', 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n'))).message).toMatch(/has no current-context/);
    expect(failureSync(() => loadCluster(cp.kubeconfigPath, { context: 'nope' })).message).toMatch(/has no context "nope" \(it has: kubernetes-admin@kubernetes\)/);
  });

  it('kubeconfig unreadable (permission denied) when not root', () => {
    // root reads any file; a real user gets EACCES. Simulate with a path through a file (ENOTDIR) when root.
    if (process.getuid?.() === 0) {
      const e = failureSync(() => loadCluster(path.join(cp.kubeconfigPath, 'inside')));
      expect(e.kind).toBe('config');
      expect(e.message).toMatch(/cannot read kubeconfig/);
    } else {
      const p = file('locked.conf', fs.readFileSync(cp.kubeconfigPath, 'utf8'));
      fs.chmodSync(p, 0);
      expect(failureSync(() => loadCluster(p)).message).toMatch(/permission denied/);
    }
  });

  it('wrong CA: the server certificate is not signed by the CA in KUBECONFIG', async () => {
    // front-proxy-ca is a real CA of the same cluster, just not the one that signed the apiserver certificate.
    const other = fs.readFileSync(path.join(cp.pkiDir, 'front-proxy-ca.crt'), 'utf8');
    const text = fs.readFileSync(cp.kubeconfigPath, 'utf8').replace(/certificate-authority-data: \S+/, `certificate-authority-data: ${Buffer.from(other).toString('base64')}`);
    const port = loadCluster(file('wrong-ca.conf', text));
    const e = await failure(port.list('v1', 'Namespace'));
    expect(e.kind).toBe('tls');
    expect(e.message).toContain(`${cp.server}: the server's certificate is not signed by the CA in KUBECONFIG (${path.join(tmp, 'wrong-ca.conf')})`);
    expect(e.fix).toMatch(/kubeadm reset/);
  });

  it('wrong credentials: a bogus token, and a client certificate signed by another CA, are 401', async () => {
    const bogus = loadCluster(tokenKubeconfig('bogus.conf', 'not-a-real-token'));
    const e = await failure(bogus.list('v1', 'Pod'));
    expect(e.kind).toBe('unauthorized');
    expect(e.message).toMatch(/rejected the credentials of user "someone" in .*bogus\.conf \(401 Unauthorized\)/);
    // etcd's healthcheck client certificate: a valid certificate, signed by the etcd CA, not the cluster CA.
    const b64 = (f: string) => fs.readFileSync(path.join(cp.pkiDir, f)).toString('base64');
    const text = fs
      .readFileSync(cp.kubeconfigPath, 'utf8')
      .replace(/client-certificate-data: \S+/, `client-certificate-data: ${b64('etcd/healthcheck-client.crt')}`)
      .replace(/client-key-data: \S+/, `client-key-data: ${b64('etcd/healthcheck-client.key')}`);
    const foreign = loadCluster(file('foreign-cert.conf', text));
    const f = await failure(foreign.get('v1', 'Namespace', 'default'));
    expect(f.kind).toBe('unauthorized');
    expect(f.fix).toMatch(/another cluster's CA/);
    await Promise.all([bogus.close(), foreign.close()]);
  });

  it('missing rights: 403 names the user, verb, resource, group and namespace', async () => {
    await admin.apply([{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'powerless', namespace: NS } }]);
    const { token } = await admin.createToken(NS, 'powerless', 600);
    const weak = loadCluster(tokenKubeconfig('powerless.conf', token));
    const e = await failure(weak.list('v1', 'Secret', NS));
    expect(e.kind).toBe('forbidden');
    expect(e.message).toContain(`list Secret in namespace ${NS}: secrets is forbidden: User "system:serviceaccount:${NS}:powerless" cannot list resource "secrets" in API group "" in the namespace "${NS}"`);
    const a = await failure(weak.apply([{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'x' }, rules: [] }]));
    expect(a.kind).toBe('forbidden');
    expect(a.message).toMatch(/cannot (get|patch) resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope/);
    await weak.close();
  });

  it('404, 409 and 422 (with the field)', async () => {
    const nf = await failure(admin.createToken(NS, 'no-such-account', 600));
    expect(nf.kind).toBe('not-found');
    expect(nf.message).toContain('serviceaccounts "no-such-account" not found');
    expect((await failure(admin.get('v9', 'Gizmo', 'x'))).kind).toBe('not-found');
    await admin.create(cm('twice'));
    const c = await failure(admin.create(cm('twice')));
    expect(c.kind).toBe('conflict');
    expect(c.message).toContain('configmaps "twice" already exists');
    const inv = await failure(admin.apply([cm('Bad_Name')]));
    expect(inv.kind).toBe('invalid');
    expect(inv.message).toMatch(/metadata.name: Invalid value: "Bad_Name"/);
    const short = await failure(admin.createToken(NS, 'nobody', 60));
    expect(short.kind).toBe('invalid');
    expect(short.message).toMatch(/expirationSeconds.*10 minutes/);
  });

  it('a namespace being deleted: creating in it is refused with a fix that says to wait', async () => {
    await admin.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ke-leaving' } }, { ...cm('held'), metadata: { name: 'held', namespace: 'ke-leaving', finalizers: ['boardkube.dev/test-hold'] } }]);
    await admin.delete('v1', 'Namespace', 'ke-leaving');
    await admin.waitFor('v1', 'Namespace', 'ke-leaving', undefined, (o) => Boolean(o.metadata.deletionTimestamp), { timeoutMs: 10_000 });
    const e = await failure(admin.create({ ...cm('new'), metadata: { name: 'new', namespace: 'ke-leaving' } }));
    expect(e.kind).toBe('forbidden');
    expect(e.message).toMatch(/because it is being terminated/);
    expect(e.fix).toMatch(/wait until the namespace is gone/);
  });

  it('stopped server: unreachable, naming the server URL; works again once it is back', async () => {
    await cp.stopApiserver();
    try {
      const port = loadCluster(cp.kubeconfigPath, { requestTimeoutMs: 5000 });
      const started = Date.now();
      const e = await failure(port.list('v1', 'Pod'));
      expect(e.kind).toBe('unreachable');
      expect(e.message).toContain(`cannot connect to the API server at ${cp.server}: connection refused`);
      expect(e.fix).toMatch(/kube-apiserver running/);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await cp.startApiserver();
    }
    expect((await loadCluster(cp.kubeconfigPath).get('v1', 'Namespace', 'default'))?.metadata.name).toBe('default');
  }, 120_000);
});
