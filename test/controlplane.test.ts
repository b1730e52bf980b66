// The harness itself: a real etcd + kube-apiserver + kube-controller-manager (built by test/testbin/build.sh,
// `npm run testbin` once; a cold build takes 15-30 min) answers with kubeadm's admin.conf credentials.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRequest, startControlPlane, type ControlPlane } from './harness/controlplane.ts';

const execFileP = promisify(execFile);

describe('real control plane', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane();
  }, 180_000);

  afterAll(async () => {
    await cp?.stop();
  }, 60_000);

  it('writes a kubeadm admin kubeconfig with a client cert, mode 0600, pointing at the apiserver', () => {
    const st = fs.statSync(cp.kubeconfigPath);
    expect(st.mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(cp.kubeconfigPath, 'utf8');
    expect(text).toContain(`server: ${cp.server}`);
    expect(text).toMatch(/client-certificate-data: \S+/);
    expect(fs.existsSync(path.join(cp.pkiDir, 'ca.crt'))).toBe(true);
    expect(cp.version).toBe(process.env.BOARDKUBE_K8S_VERSION ?? 'v1.37.2');
  });

  it('serves GET /api/v1/namespaces/default to admin.conf', async () => {
    const r = await apiRequest(cp, 'GET', '/api/v1/namespaces/default');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ kind: 'Namespace', metadata: { name: 'default' } });
  });

  it('runs the serviceaccount controller: default/default exists', async () => {
    const r = await apiRequest(cp, 'GET', '/api/v1/namespaces/default/serviceaccounts');
    expect(r.status).toBe(200);
    const items = (r.json as { items: Array<{ metadata: { name: string } }> }).items;
    expect(items.map((i) => i.metadata.name)).toContain('default');
  });

  it('answers kubectl auth can-i with the real RBAC', async () => {
    const kubectl = path.join(cp.binDir, 'kubectl');
    const env = { ...process.env, KUBECONFIG: cp.kubeconfigPath };
    const yes = await execFileP(kubectl, ['auth', 'can-i', 'create', 'deployments', '-n', 'kube-system'], { env });
    expect(yes.stdout.trim()).toBe('yes');
    // A service account without bindings may not list secrets.
    const no = await execFileP(
      kubectl,
      ['auth', 'can-i', 'list', 'secrets', '-n', 'default', '--as', 'system:serviceaccount:default:default'],
      { env },
    ).catch((e: { stdout: string; code: number }) => e);
    expect(no.stdout.trim()).toBe('no');
  });

  it('survives an apiserver restart (stopApiserver / startApiserver)', async () => {
    await cp.stopApiserver();
    await expect(apiRequest(cp, 'GET', '/readyz', undefined, 2000)).rejects.toThrow();
    await cp.startApiserver();
    const r = await apiRequest(cp, 'GET', '/api/v1/namespaces/default');
    expect(r.status).toBe(200);
  }, 120_000);
});
