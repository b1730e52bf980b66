// The ci stage's objects on the REAL kube-apiserver (test/harness/controlplane.ts), and the deploy account's
// limits proven with a kubeconfig of its own (the readonly stage's proof runner): it may change Deployments in
// the target namespace and is refused everywhere else.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminScript } from '../../../flows/ci/forge.ts';
import { proveDeployAccount, serviceAccountUser } from '../../../flows/ci/deploy-proof.ts';
import { adminJob, appManifests, ciManifests, secretObjects } from '../../../flows/ci/manifests.ts';
import { formatProofTable } from '../../../flows/readonly/proof.ts';
import { tokenKubeconfig, writePrivateFile } from '../../../flows/readonly/kubeconfig.ts';
import { loadCluster, type KubeCluster } from '../../../src/adapters/kube/cluster.ts';
import { ClusterError, type ClusterPort } from '../../../src/ports/cluster.ts';
import { startControlPlane, type ControlPlane } from '../../harness/controlplane.ts';
import { testSetup } from './setup.ts';

const s = testSetup({ namespace: 'ci-real-ci', targetNamespace: 'ci-real-app' });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-ci-real-'));
let cp: ControlPlane;
let admin: KubeCluster;

beforeAll(async () => {
  cp = await startControlPlane();
  admin = loadCluster(cp.kubeconfigPath);
}, 600_000);

afterAll(async () => {
  await admin?.close();
  await cp?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}, 60_000);

async function asDeployAccount<T>(use: (p: ClusterPort) => Promise<T>): Promise<T> {
  const { token } = await admin.createToken(s.namespace, s.deployAccount, 600);
  const file = path.join(tmp, 'deployer.kubeconfig');
  writePrivateFile(file, tokenKubeconfig({ clusterName: 'test', context: `${s.deployAccount}@test`, server: admin.server, caPem: admin.caPem(), token }));
  const port = await admin.fromKubeconfig(file);
  try {
    return await use(port);
  } finally {
    await port.close?.();
  }
}

describe('the ci objects on the real kube-apiserver', () => {
  it('are accepted by server-side apply, Secrets and the admin Job included; a second apply changes nothing', async () => {
    const objects = [
      ...ciManifests(s),
      ...secretObjects(s, { adminPassword: 'a'.repeat(24), agentSecret: 'b'.repeat(32), oauthClient: 'client', oauthSecret: 'c'.repeat(24) }),
      adminJob(s, adminScript(), 1),
      ...appManifests(s, `${s.registry}/${s.app}:initial`, 'boardkube-registry'),
    ];
    const first = await admin.apply(objects);
    expect(first.map((r) => r.outcome).every((o) => o === 'created')).toBe(true);
    const again = await admin.apply(objects.filter((o) => o.kind !== 'Job'));
    expect(again.map((r) => `${r.object.kind}/${r.object.metadata.name}:${r.outcome}`).filter((x) => !x.endsWith(':unchanged'))).toEqual([]);
    const svc = await admin.get('v1', 'Service', 'forgejo', s.namespace);
    expect((svc?.spec as { ports: Array<{ nodePort: number }> }).ports[0]!.nodePort).toBe(30300);
  }, 120_000);
});

describe("the deploy account's limits, proven with its own kubeconfig", () => {
  it('authenticates as the deploy account and every check comes out as expected', async () => {
    const { who, rows } = await asDeployAccount(async (p) => ({ who: await p.whoami(), rows: await proveDeployAccount(p, s) }));
    expect(who.username).toBe(serviceAccountUser(s));
    console.log(formatProofTable(rows));
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    // The proof has teeth: allowed and denied rows, asked and really tried.
    expect(rows.some((r) => r.expected === 'allowed' && r.how === 'request')).toBe(true);
    expect(rows.filter((r) => r.expected === 'denied' && r.how === 'request').length).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('really rolls the Deployment in the target namespace (what the pipeline does), and is refused in another', async () => {
    await asDeployAccount(async (p) => {
      const d = await p.get('apps/v1', 'Deployment', s.app, s.targetNamespace);
      expect(d).not.toBeNull();
      const [rolled] = appManifests(s, `${s.registry}/${s.app}:0123abc`, 'boardkube-registry');
      await p.apply([rolled!]);
      const other = { ...rolled!, metadata: { ...rolled!.metadata, namespace: s.namespace } };
      const err = await p.apply([other]).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterError);
      expect((err as ClusterError).kind).toBe('forbidden');
    });
    const now = (await admin.get('apps/v1', 'Deployment', s.app, s.targetNamespace)) as unknown as { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
    expect(now.spec.template.spec.containers[0]!.image).toBe('192.168.1.40:30500/app:0123abc');
    expect(await admin.get('apps/v1', 'Deployment', s.app, s.namespace)).toBeNull();
  }, 120_000);
});
