// The kubeadm config the control-plane stage generates, checked by the real `kubeadm config validate` of every
// minor in the catalogue (kubeadm alone is built for the minors other than the test control plane's), taken from
// what the BUILT `boardkube plan --stage control-plane --json` prints; the workers' JoinConfiguration too. A
// config with a field kubeadm does not know is refused by the same binaries (the check can fail).
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { joinConfig } from '../../../flows/control-plane/kubeadm-config.ts';
import { masterInitConfig, nodeRegistrationOf } from '../../../flows/control-plane/settings.ts';
import { RELEASES, type KubernetesRelease } from '../../../src/catalog/versions.ts';
import { defaultCluster, workerNodes, type ClusterSpec } from '../../../src/cluster/spec.ts';

const execFileP = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');
const BIN = path.join(ROOT, 'bin/boardkube.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-kubeadm-config-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** kubeadm of a release: `test/testbin/build.sh vX.Y.Z` with only kubeadm asked for (cached by version). */
function kubeadmOf(release: KubernetesRelease): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(ROOT, 'test/testbin/build.sh'), `v${release.patch}`], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BOARDKUBE_TESTBIN_BINS: 'kubeadm' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(path.join(out.trim().split('\n').pop()!.trim(), 'kubeadm')) : reject(new Error(`test/testbin/build.sh v${release.patch} exited ${code}`))));
  });
}

async function validate(kubeadm: string, text: string): Promise<{ code: number; output: string }> {
  const file = path.join(tmp, `config-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, text);
  try {
    const r = await execFileP(kubeadm, ['config', 'validate', '--config', file], { timeout: 60_000 });
    return { code: 0, output: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

/** A cluster file using every kubeadm setting: containerd, a DNS endpoint, host-gw, nftables, patches, ignores. */
function fullClusterFile(release: KubernetesRelease): { file: string; spec: ClusterSpec } {
  const dir = fs.mkdtempSync(path.join(tmp, `c-${release.minor}-`));
  fs.mkdirSync(path.join(dir, 'patches'));
  fs.writeFileSync(path.join(dir, 'patches/kubeletconfiguration+merge.yaml'), 'cgroupDriver: cgroupfs\nfailCgroupV1: false\n');
  fs.writeFileSync(path.join(dir, 'key'), 'not used by plan\n', { mode: 0o600 });
  const base = defaultCluster(path.join(dir, 'key'));
  const raw = {
    ...base,
    kubernetesVersion: release.patch,
    kubernetes: { runtime: 'containerd', controlPlaneEndpoint: 'k8s.home.lan', podNetwork: 'host-gw', proxyMode: 'nftables', kubeadm: { ignorePreflightErrors: ['SystemVerification'], patches: './patches' } },
    nodes: base.nodes.map((n, i) => (i === 0 ? { ...n, kubeadm: { ignorePreflightErrors: ['Swap'] } } : n)),
  };
  const file = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(file, stringify(raw));
  return { file, spec: raw as unknown as ClusterSpec };
}

async function plannedInitConfig(file: string): Promise<string> {
  const r = await execFileP(process.execPath, [BIN, 'plan', '-f', file, '--stage', 'control-plane', '--json'], { env: { ...process.env, BOARDKUBE_STATE_DIR: path.join(tmp, 'state') }, timeout: 60_000 });
  const actions = JSON.parse(r.stdout) as Array<{ step: string; type: string; path?: string; content?: string }>;
  const config = actions.find((a) => a.step === 'write-config' && a.type === 'file' && a.path?.endsWith('/init.yaml'));
  expect(config?.content).toBeTruthy();
  return config!.content!;
}

describe.each(RELEASES.map((r) => [r.minor, r] as const))('kubeadm %s', (_minor, release) => {
  it('accepts the config in `boardkube plan --stage control-plane --json` (default file and every setting)', async () => {
    const kubeadm = await kubeadmOf(release);
    const full = fullClusterFile(release);
    const text = await plannedInitConfig(full.file);
    expect(text).toContain(`kubernetesVersion: v${release.patch}`);
    expect(text).toContain('controlPlaneEndpoint: k8s.home.lan:6443');
    expect(text).toContain('criSocket: unix:///var/run/containerd/containerd.sock');
    expect(text).toContain('mode: nftables');
    expect(text).toMatch(/ignorePreflightErrors:\n\s+- SystemVerification\n\s+- Swap/);
    expect(await validate(kubeadm, text)).toMatchObject({ code: 0 });

    const plain = { ...defaultCluster('/nonexistent'), kubernetesVersion: release.patch };
    expect(await validate(kubeadm, masterInitConfig(plain, release))).toMatchObject({ code: 0 });
  }, 1_800_000);

  it('accepts the workers\' JoinConfiguration, and refuses a field it does not know', async () => {
    const kubeadm = await kubeadmOf(release);
    const { spec } = fullClusterFile(release);
    const worker = workerNodes(spec)[0]!;
    const join = joinConfig({ release, node: nodeRegistrationOf(spec, worker), apiServerEndpoint: 'k8s.home.lan:6443', token: 'abcdef.0123456789abcdef', caCertHash: `sha256:${'ab'.repeat(32)}`, patchesDir: '/var/lib/boardkube/kubeadm/patches' });
    expect(await validate(kubeadm, join)).toMatchObject({ code: 0 });
    const bad = await validate(kubeadm, join.replace('kind: JoinConfiguration', 'kind: JoinConfiguration\nbogusField: 1'));
    expect(bad.code).not.toBe(0);
    expect(bad.output).toMatch(/unknown field "bogusField"/);
  }, 1_800_000);
});
