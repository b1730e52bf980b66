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
import { ClusterError, type ClusterPort, type KubeObject } from '../../../src/ports/cluster.ts';
import { deployAccountStep } from '../../../flows/ci/deploy-account.ts';
import { namespaceCheckStep } from '../../../flows/ci/namespace-check.ts';
import { parseCiOptions } from '../../../flows/ci/options.ts';
import { findRelease } from '../../../src/catalog/versions.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { MemorySecrets } from '../../../src/engine/secrets.ts';
import { InputError, type Ports, type StepContext } from '../../../src/engine/types.ts';
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

describe("the stage's own steps on the real kube-apiserver", () => {
  const REGISTRY_PASSWORD = 'KNOWN-registry-Passw0rd-ci-real';
  function ctxFor(set: Record<string, string>): StepContext {
    const cluster = defaultCluster('/nonexistent');
    const pw = path.join(tmp, 'registry.password');
    fs.writeFileSync(pw, `${REGISTRY_PASSWORD}\n`, { mode: 0o600 });
    const outputs: Record<string, Record<string, string>> = { 'registry/credentials': { passwordFile: pw, user: 'boardkube' }, 'registry/deploy': { hostPort: '192.168.1.40:30500' } };
    return {
      cluster,
      release: findRelease('1.37')!,
      node: null,
      ports: { mode: 'real', cluster: async () => admin, local: { stateDir: () => tmp } } as unknown as Ports,
      signal: AbortSignal.timeout(60_000),
      log: () => undefined,
      progress: () => undefined,
      outputOf: (stage: string, step: string) => outputs[`${stage}/${step}`],
      options: { ...parseCiOptions(set, cluster, { stateDir: tmp }) },
      secrets: new MemorySecrets(),
    } as unknown as StepContext;
  }

  it('namespace-check refuses a namespace that exists with other owners (bad input), and takes a free one', async () => {
    await admin.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ci-real-theirs', labels: { team: 'web' } } }]);
    const err = await namespaceCheckStep.run!(ctxFor({ 'target-namespace': 'ci-real-theirs' }), []).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).field).toBe('target-namespace');
    expect((err as Error).message).toMatch(/namespace ci-real-theirs exists and is not boardkube's/);
    const ok = ctxFor({ namespace: 'ci-real-step-ci', 'target-namespace': 'ci-real-step-app' });
    await namespaceCheckStep.run!(ok, []);
    expect(await namespaceCheckStep.verify(ok)).toBe(true);
  }, 60_000);

  it('deploy-account makes the account, its Role, the app and the pull Secret; a second run keeps the image the pipeline set', async () => {
    const ctx = ctxFor({ namespace: 'ci-real-step-ci', 'target-namespace': 'ci-real-step-app' });
    await admin.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ci-real-step-ci', labels: { 'app.kubernetes.io/managed-by': 'boardkube' } } }]);
    await deployAccountStep.run!(ctx, []);
    expect(await deployAccountStep.verify(ctx)).toBe(true);
    const pull = await admin.get('v1', 'Secret', 'boardkube-registry', 'ci-real-step-app');
    const config = JSON.parse(Buffer.from((pull!.data as Record<string, string>)['.dockerconfigjson']!, 'base64').toString('utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(config.auths['192.168.1.40:30500']!.auth, 'base64').toString('utf8')).toBe(`boardkube:${REGISTRY_PASSWORD}`);
    // What the pipeline's deploy step does, then the stage again: the app keeps the pipeline's image.
    const d = (await admin.get('apps/v1', 'Deployment', 'app', 'ci-real-step-app')) as unknown as { spec: { template: { spec: { containers: Array<{ image: string }> } } } } & KubeObject;
    d.spec.template.spec.containers[0]!.image = '192.168.1.40:30500/app:feedbeef';
    await admin.apply([{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app', namespace: 'ci-real-step-app' }, spec: d.spec }]);
    await deployAccountStep.run!(ctxFor({ namespace: 'ci-real-step-ci', 'target-namespace': 'ci-real-step-app' }), []);
    const after = (await admin.get('apps/v1', 'Deployment', 'app', 'ci-real-step-app')) as unknown as { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
    expect(after.spec.template.spec.containers[0]!.image).toBe('192.168.1.40:30500/app:feedbeef');
  }, 60_000);
});
