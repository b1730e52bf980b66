import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCluster, type ClusterSpec } from '../src/cluster/spec.ts';
import { validateCluster } from '../src/cluster/validate.ts';
import { clusterYaml, loadClusterFile } from '../src/cluster/file.ts';
import { findRelease, DEFAULT_KUBERNETES_VERSION, RELEASES } from '../src/catalog/versions.ts';

const dir = mkdtempSync(join(tmpdir(), 'bk-validate-'));
const key = join(dir, 'id_ed25519');
writeFileSync(key, 'not really a key, but a readable file', { mode: 0o600 });

function good(): ClusterSpec {
  return defaultCluster(key);
}

function problemsOf(mutate: (c: ClusterSpec & Record<string, any>) => void) {
  const c = structuredClone(good()) as ClusterSpec & Record<string, any>;
  mutate(c);
  return validateCluster(c).problems;
}

describe('cluster file validation', () => {
  it('accepts the default cluster', () => {
    const r = validateCluster(good());
    expect(r.problems).toEqual([]);
    expect(r.spec?.nodes).toHaveLength(5);
  });

  const cases: Array<[string, (c: any) => void, string, RegExp]> = [
    ['bad IPv4', (c) => (c.nodes[1].address = '192.168.1.300'), 'nodes[1].address', /not an IPv4 address/],
    ['leading zero IPv4', (c) => (c.network.gateway = '192.168.01.1'), 'network.gateway', /not an IPv4 address/],
    ['duplicate names', (c) => (c.nodes[2].name = 'n2-worker1'), 'nodes[2].name', /used twice/],
    ['duplicate addresses', (c) => (c.nodes[3].address = '192.168.1.41'), 'nodes[3].address', /used twice/],
    ['invalid hostname', (c) => (c.nodes[0].name = 'N2_Master'), 'nodes[0].name', /not a valid host name/],
    ['pod/service overlap', (c) => (c.network.serviceSubnet = '10.244.128.0/17'), 'network.serviceSubnet', /overlaps the pod subnet/],
    ['pod subnet overlaps LAN', (c) => (c.network.podSubnet = '192.168.0.0/16'), 'network.podSubnet', /overlaps the boards' LAN/],
    ['service subnet overlaps LAN', (c) => (c.network.serviceSubnet = '192.168.1.0/24'), 'network.serviceSubnet', /overlaps the boards' LAN/],
    ['no control plane', (c) => (c.nodes[0].role = 'worker'), 'nodes', /exactly one control-plane node, found 0/],
    ['two control planes', (c) => (c.nodes[1].role = 'control-plane'), 'nodes', /exactly one control-plane node, found 2/],
    ['version outside catalogue', (c) => (c.kubernetesVersion = '1.29.0'), 'kubernetesVersion', /not in the version catalogue/],
    ['patch newer than pinned', (c) => (c.kubernetesVersion = '1.37.99'), 'kubernetesVersion', /not in the version catalogue/],
    ['unknown board', (c) => (c.board = 'odroid-xu4'), 'board', /unknown board "odroid-xu4"/],
    ['missing key file', (c) => (c.ssh.keyPath = join(dir, 'nope')), 'ssh.keyPath', /does not exist/],
    ['address outside LAN', (c) => (c.nodes[4].address = '10.0.0.5'), 'nodes[4].address', /outside the LAN/],
    ['wrong apiVersion', (c) => (c.apiVersion = 'v1'), 'apiVersion', /must be boardkube.dev\/v1alpha1/],
    ['an unknown top-level field', (c) => (c.timezon = 'UTC'), 'timezon', /is not a field of the cluster file/],
    ['an unknown field in a mapping', (c) => (c.ssh.keypath = '~/.ssh/k'), 'ssh.keypath', /is not a field of ssh/],
    ['an unknown field in a node', (c) => (c.nodes[2].rol = 'worker'), 'nodes[2].rol', /is not a field of each entry of nodes/],
    ['nodes that are not a list', (c) => (c.nodes = 5), 'nodes', /must be a list, got the number 5/],
    ['a version written as a number', (c) => (c.kubernetesVersion = 1.37), 'kubernetesVersion', /must be a string, got the number 1\.37/],
    ['network that is not a mapping', (c) => (c.network = ['a']), 'network', /must be a mapping/],
    ['dns that is not a list', (c) => (c.network.dns = '192.168.1.1'), 'network.dns', /must be a list/],
    ['a port that is not a number', (c) => (c.ssh.port = 'twenty-two'), 'ssh.port', /must be a number/],
  ];
  for (const [name, mutate, field, message] of cases) {
    it(`refuses ${name}, naming ${field} and a fix`, () => {
      const problems = problemsOf(mutate);
      const p = problems.find((x) => x.field === field);
      expect(p, JSON.stringify(problems)).toBeDefined();
      expect(p!.message).toMatch(message);
      expect(p!.fix.length).toBeGreaterThan(5);
    });
  }

  it('names the closest field, lists the known ones, and says a wrong kind once', () => {
    const tz = problemsOf((c: any) => (c.timezon = 'UTC')).find((p) => p.field === 'timezon')!;
    expect(tz.fix).toMatch(/^did you mean timezone\? the fields are: apiVersion, kind, name, board, kubernetesVersion, network, ssh, timezone, nodes, kubernetes$/);
    expect(problemsOf((c: any) => (c.kubernetesVersion = 1.37)).find((p) => p.field === 'kubernetesVersion')!.fix).toMatch(/quote it, e\.g\. kubernetesVersion: "1\.37"/);
    // One problem for nodes: 5, not also "needs at least one node".
    expect(problemsOf((c: any) => (c.nodes = 5)).filter((p) => p.field === 'nodes')).toHaveLength(1);
    expect(problemsOf((c: any) => (c.network = 'x')).map((p) => p.field)).toEqual(['network']);
  });

  it('every field of the default cluster is a known field (init writes no field the validator refuses)', () => {
    expect(validateCluster(JSON.parse(JSON.stringify(good()))).problems).toEqual([]);
  });

  it('refuses an unreadable key file', () => {
    if (process.getuid?.() === 0) {
      // root reads everything; check as the "nobody" user would need another process, so use a directory instead
      const problems = problemsOf((c) => (c.ssh.keyPath = dir));
      expect(problems.find((p) => p.field === 'ssh.keyPath')?.message).toMatch(/is not a file/);
      return;
    }
    const locked = join(dir, 'locked');
    writeFileSync(locked, 'x');
    chmodSync(locked, 0o000);
    const problems = problemsOf((c) => (c.ssh.keyPath = locked));
    expect(problems.find((p) => p.field === 'ssh.keyPath')?.message).toMatch(/cannot be read/);
  });

  it('round-trips through the commented YAML the inventory writes', () => {
    const file = join(dir, 'cluster.yaml');
    writeFileSync(file, clusterYaml(good()));
    expect(loadClusterFile(file)).toEqual(good());
  });

  it('names the line of broken YAML', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'name: [unclosed\n');
    expect(() => loadClusterFile(file)).toThrow(/not valid YAML/);
  });
});

describe('version catalogue', () => {
  it('defaults to the newest pinned patch of 1.37', () => {
    expect(DEFAULT_KUBERNETES_VERSION).toMatch(/^1\.37\.\d+$/);
    expect(RELEASES.map((r) => r.minor)).toEqual(['1.35', '1.36', '1.37']);
  });

  it('matches CRI-O to the Kubernetes minor', () => {
    for (const r of RELEASES) expect(r.crio).toBe(r.minor);
  });
});
