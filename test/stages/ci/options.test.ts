// The ci stage's options: defaults from the cluster file, and bad input named with a fix.
import { describe, expect, it } from 'vitest';
import { foreignNamespace } from '../../../flows/ci/manifests.ts';
import { ciSetup, parseCiOptions } from '../../../flows/ci/options.ts';
import { findRelease } from '../../../src/catalog/versions.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { InputError } from '../../../src/engine/types.ts';

const cluster = defaultCluster();

describe('ci options', () => {
  it("default to the master's disk and NodePorts, the password file in the state folder", () => {
    const o = parseCiOptions({ stateDir: '/tmp/state' }, cluster);
    expect(o).toMatchObject({ namespace: 'boardkube-ci', targetNamespace: 'boardkube-app', forgePort: 30300, ciPort: 30800, adminPasswordFile: `/tmp/state/${cluster.name}-forge-admin.password` });
    const s = ciSetup(o, cluster, findRelease('1.37')!, '192.168.1.40:30500');
    const master = cluster.nodes.find((n) => n.role === 'control-plane')!;
    expect(s.forgeUrl).toBe(`http://${master.address}:30300`);
    expect(s.dataNode).toBe(master.name);
  });

  it.each([
    [{ 'forge-port': '8080' }, 'forge-port'],
    [{ 'ci-port': '30300' }, 'ci-port'],
    [{ 'target-namespace': 'kube-system' }, 'target-namespace'],
    [{ 'target-namespace': 'boardkube-ci' }, 'target-namespace'],
    [{ namespace: 'Bad_Name' }, 'namespace'],
    [{ 'storage-node': 'nope' }, 'storage-node'],
    [{ 'admin-user': 'admin' }, 'admin-user'],
    [{ colour: 'blue' }, 'colour'],
  ])('refuses %j naming %s', (raw, field) => {
    const err = (() => {
      try {
        parseCiOptions(raw as Record<string, unknown>, cluster);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).field).toBe(field);
    expect((err as InputError).fix).toBeTruthy();
  });

  it('a target namespace that exists with other owners is refused; ours or a missing one is fine', () => {
    expect(foreignNamespace(null)).toBeUndefined();
    expect(foreignNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'app.kubernetes.io/managed-by': 'boardkube' } } })).toBeUndefined();
    expect(foreignNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'web' } } })).toMatch(/namespace shop exists and is not boardkube's/);
  });
});
