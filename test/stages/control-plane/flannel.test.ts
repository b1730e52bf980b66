// The pod network's objects (flannel, generated from the cluster file) accepted by the REAL kube-apiserver
// (test/harness/controlplane.ts) through the real Cluster adapter's server-side apply; applied again: unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flannelObjects } from '../../../flows/control-plane/flannel.ts';
import { loadCluster, type KubeCluster } from '../../../src/adapters/kube/cluster.ts';
import { flannelImages } from '../../../src/catalog/images.ts';
import { DEFAULT_RELEASE } from '../../../src/catalog/versions.ts';
import { startControlPlane, type ControlPlane } from '../../harness/controlplane.ts';

let cp: ControlPlane;
let c: KubeCluster;

beforeAll(async () => {
  cp = await startControlPlane();
  c = loadCluster(cp.kubeconfigPath);
}, 600_000);

afterAll(async () => {
  await c?.close();
  await cp?.stop();
}, 60_000);

describe('flannel objects on the real API server', () => {
  it('are accepted by server-side apply, hold the file\'s subnet and backend, and apply again unchanged', async () => {
    const objects = flannelObjects({ podSubnet: '10.32.0.0/16', backend: 'host-gw', images: flannelImages(DEFAULT_RELEASE) });
    const first = await c.apply(objects);
    expect(first.map((r) => r.outcome)).toEqual(objects.map(() => 'created'));
    const cm = await c.get('v1', 'ConfigMap', 'kube-flannel-cfg', 'kube-flannel');
    expect(JSON.parse((cm?.data as Record<string, string>)['net-conf.json']!)).toMatchObject({ Network: '10.32.0.0/16', Backend: { Type: 'host-gw' } });
    const ds = await c.get('apps/v1', 'DaemonSet', 'kube-flannel-ds', 'kube-flannel');
    const spec = (ds?.spec as { template: { spec: { containers: Array<{ image: string }>; initContainers: Array<{ image: string }> } } }).template.spec;
    expect(spec.containers[0]!.image).toBe(flannelImages(DEFAULT_RELEASE).flannel);
    expect(spec.initContainers[0]!.image).toBe(flannelImages(DEFAULT_RELEASE).cniPlugin);
    const again = await c.apply(objects);
    expect(again.map((r) => r.outcome)).toEqual(objects.map(() => 'unchanged'));
    // The vxlan choice is a change the server records.
    const vxlan = await c.apply(flannelObjects({ podSubnet: '10.32.0.0/16', backend: 'vxlan', images: flannelImages(DEFAULT_RELEASE) }));
    expect(vxlan.find((r) => r.object.kind === 'ConfigMap')?.outcome).toBe('configured');
  }, 120_000);
});
