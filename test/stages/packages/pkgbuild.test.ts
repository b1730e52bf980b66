// The PKGBUILDs and scripts the packages stage generates, checked by their real consumers: makepkg --printsrcinfo
// (as an ordinary user: makepkg refuses root) and shellcheck. Also the catalogue's rules and the cluster file's
// kubernetes.runtime.
import { beforeAll, describe, expect, it } from 'vitest';
import { artifacts, NODE_SOFTWARE, nodeSoftware, parseChecksum, pauseImage, RUNTIME_FACTS, RUNTIME_NAMES, type ContainerRuntime } from '../../../src/catalog/packages.ts';
import { RELEASES } from '../../../src/catalog/versions.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { validateCluster } from '../../../src/cluster/validate.ts';
import { planBuild } from '../../../flows/packages/components.ts';
import { CHECKSUM_AT_RUN, renderPkgbuild } from '../../../flows/packages/pkgbuild.ts';
import { dependenciesScript, enableRuntimeScript, ignoredProbe, ignorePkgScript, installScript, proofProbe, repositoryProbe, uploadedProbe } from '../../../flows/packages/scripts.ts';
import { SPACE_PROBE } from '../../../flows/packages/upload.ts';
import { ensureBuildUser, printSrcinfo, shellcheck } from '../../harness/pacman.ts';

beforeAll(ensureBuildUser);

const fakeSums = (minor: string, patch: string, runtime: ContainerRuntime) =>
  Object.fromEntries(artifacts({ minor, patch }, runtime).map((a, i) => [a.id, String(i).repeat(64).slice(0, 64)]));

describe('catalogue', () => {
  it('has node software for every release, CRI-O of the same minor, and a pause tag', () => {
    for (const r of RELEASES) {
      const sw = NODE_SOFTWARE[r.minor];
      expect(sw, r.minor).toBeDefined();
      expect(sw!.crio?.startsWith(`${r.minor}.`)).toBe(true);
      expect(pauseImage(r)).toMatch(/^registry\.k8s\.io\/pause:3\.\d+(\.\d+)?$/);
    }
    expect(RUNTIME_FACTS['cri-o'].criSocket).toBe('unix:///var/run/crio/crio.sock');
    expect(RUNTIME_FACTS.containerd.criSocket).toBe('unix:///var/run/containerd/containerd.sock');
  });

  it('refuses cri-o for a minor CRI-O has not released, naming the way out', () => {
    const v = nodeSoftware({ minor: '1.99' }, 'cri-o');
    expect(v.ok).toBe(false);
    const fake = { ...NODE_SOFTWARE['1.37']!, crio: undefined };
    const saved = NODE_SOFTWARE['1.37'];
    (NODE_SOFTWARE as Record<string, unknown>)['1.37'] = fake;
    try {
      const r = nodeSoftware({ minor: '1.37' }, 'cri-o');
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.fix).toMatch(/use containerd .* or an older minor/);
      expect(nodeSoftware({ minor: '1.37' }, 'containerd').ok).toBe(true);
    } finally {
      (NODE_SOFTWARE as Record<string, unknown>)['1.37'] = saved;
    }
  });

  it('reads both checksum formats', () => {
    const hex = 'a'.repeat(64);
    expect(parseChecksum(`${hex}\n`, 'hex', 'kubelet')).toBe(hex);
    expect(parseChecksum(`${'b'.repeat(64)}  runc.amd64\n${hex}  runc.arm64\n`, 'sha256sum', 'runc.arm64')).toBe(hex);
    expect(parseChecksum(`${hex}  cri-o.arm64.v1.37.0.tar.gz\n`, 'sha256sum', 'cri-o.arm64.v1.37.0.tar.gz')).toBe(hex);
    expect(parseChecksum('404 page not found', 'hex', 'kubelet')).toBeNull();
  });
});

describe('cluster file: kubernetes.runtime', () => {
  const raw = (extra: unknown) => ({ ...defaultCluster('/nonexistent'), kubernetes: extra });
  it('takes cri-o and containerd, cri-o when absent', () => {
    expect(validateCluster(raw({ runtime: 'containerd' }), { checkKeyFile: false }).spec?.kubernetes?.runtime).toBe('containerd');
    const { kubernetes: _, ...without } = defaultCluster('/nonexistent');
    expect(validateCluster(without, { checkKeyFile: false }).spec?.kubernetes).toBeUndefined();
  });
  it('names a wrong runtime and an unknown field', () => {
    const bad = validateCluster(raw({ runtime: 'docker' }), { checkKeyFile: false });
    expect(bad.problems.map((p) => p.field)).toContain('kubernetes.runtime');
    expect(bad.problems[0]!.fix).toMatch(/cri-o, containerd/);
    const unknown = validateCluster(raw({ runtime: 'cri-o', cgroupDriver: 'systemd' }), { checkKeyFile: false });
    expect(unknown.problems.map((p) => p.field)).toContain('kubernetes.cgroupDriver');
  });
});

describe.each(RELEASES.flatMap((r) => RUNTIME_NAMES.map((rt) => [r.patch, rt] as const)))('PKGBUILDs for Kubernetes %s with %s', (patch, runtime) => {
  const minor = patch.split('.').slice(0, 2).join('.');
  const sw = NODE_SOFTWARE[minor]!;
  const want: Record<string, string> = { kubeadm: patch, kubelet: patch, kubectl: patch, 'cri-tools': sw.criTools, 'cri-o': sw.crio!, containerd: sw.containerd, runc: sw.runc };

  it('pass makepkg --printsrcinfo with the pinned version, aarch64 and a real checksum for every source', async () => {
    const build = planBuild({ minor, patch }, runtime, fakeSums(minor, patch, runtime));
    expect(build.packages.map((p) => p.name)).toEqual(runtime === 'cri-o' ? ['kubeadm', 'kubelet', 'kubectl', 'cri-tools', 'cri-o'] : ['kubeadm', 'kubelet', 'kubectl', 'cri-tools', 'containerd', 'runc']);
    for (const p of build.packages) {
      const text = renderPkgbuild(p);
      const { fields } = await printSrcinfo(text);
      expect(fields.pkgname, p.name).toEqual([p.name]);
      expect(fields.pkgver, p.name).toEqual([want[p.name]]);
      expect(fields.arch).toEqual(['aarch64']);
      expect(fields.sha256sums!.length).toBe(fields.source!.length);
      for (const s of fields.sha256sums!) expect(s).toMatch(/^[0-9a-f]{64}$/);
      expect(await shellcheck(text, 'bash'), p.name).toBe('');
    }
  });

  it('say where a checksum comes from while it is not fetched yet, and never SKIP', async () => {
    const build = planBuild({ minor, patch }, runtime);
    const kubelet = renderPkgbuild(build.packages.find((p) => p.name === 'kubelet')!);
    expect(kubelet).toContain(`# kubelet: sha256 from https://dl.k8s.io/release/v${patch}/bin/linux/arm64/kubelet.sha256, fetched at run`);
    expect(kubelet).toContain(CHECKSUM_AT_RUN);
    for (const p of build.packages) expect(renderPkgbuild(p)).not.toMatch(/SKIP/);
    // The units boardkube writes are sources with their own sha256, and pacman backup files.
    expect(kubelet).toMatch(/backup=\('usr\/lib\/systemd\/system\/kubelet\.service' 'usr\/lib\/systemd\/system\/kubelet\.service\.d\/10-kubeadm\.conf' 'etc\/kubernetes\/kubelet\.env'\)/);
  });

  it("carry the runtime's drop-in with the catalogue's pause image and the systemd cgroup driver", () => {
    const build = planBuild({ minor, patch }, runtime);
    const files = build.localFiles[runtime]!;
    const config = runtime === 'cri-o' ? files['20-boardkube.conf']! : files['config.toml']!;
    expect(config).toContain(pauseImage({ minor }));
    expect(config).toMatch(runtime === 'cri-o' ? /cgroup_manager = "systemd"/ : /SystemdCgroup = true/);
    if (runtime === 'cri-o') expect(config).toContain('plugin_dirs = ["/opt/cni/bin/", "/usr/lib/cni/"]');
    expect(build.localFiles['cri-tools']!['crictl.yaml']).toContain(RUNTIME_FACTS[runtime].criSocket);
  });
});

describe('board scripts', () => {
  const names = ['kubeadm', 'kubelet', 'kubectl', 'cri-tools', 'cri-o'];
  const files = names.map((n) => `${n}-1.37.2-1-aarch64.pkg.tar.zst`);
  const scripts: Record<string, string> = {
    dependencies: dependenciesScript(['conntrack-tools', 'ethtool', 'iptables-nft', 'socat', 'cni-plugins']),
    install: installScript('/var/cache/boardkube/packages', files, ['conmon', 'crun']),
    ignorePkg: ignorePkgScript(names),
    ignored: ignoredProbe(),
    runtime: enableRuntimeScript('crio.service', '/var/run/crio/crio.sock'),
    proof: proofProbe(names, 'crio.service', 'unix:///var/run/crio/crio.sock'),
    uploaded: uploadedProbe('/var/cache/boardkube/packages', files),
    repository: repositoryProbe(names),
    space: SPACE_PROBE,
  };
  it.each(Object.keys(scripts))('%s passes shellcheck as sh and bash', async (name) => {
    expect(await shellcheck(scripts[name]!, 'sh')).toBe('');
    expect(await shellcheck(scripts[name]!, 'bash')).toBe('');
  });
});
