// The packages stage's download and build steps for real, then the packages in real pacman:
// - a local HTTP server stands in for dl.k8s.io and the release hosts (the boards' internet); it serves the real
//   kubeadm, kubelet and kubectl built from source by test/testbin/build.sh, and cuts one download off half-way;
// - CRI-O's static bundle, crictl, containerd and runc cannot be built on this machine: they are stand-ins shaped
//   like the real archives (same names, same layout, small shell scripts instead of the programs);
// - real makepkg, as an ordinary user, builds every package; real pacman installs them into a scratch root
//   (Architecture aarch64), the stage's own scripts pin them, and `pacman -Syu` against a local repository (repo-add)
//   holding a newer kubelet leaves ours at the pin.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, type ContainerRuntime } from '../../../src/catalog/packages.ts';
import { DEFAULT_RELEASE } from '../../../src/catalog/versions.ts';
import { findBoard } from '../../../src/boards/index.ts';
import { defaultCluster, type ClusterSpec } from '../../../src/cluster/spec.ts';
import { MemorySecrets } from '../../../src/engine/secrets.ts';
import type { Ports, StepContext } from '../../../src/engine/types.ts';
import { LocalMachine } from '../../../src/adapters/local/local.ts';
import { LocalWorkbench } from '../../../src/adapters/local/workbench.ts';
import type { OpOptions } from '../../../src/ports/disks.ts';
import { buildStep, builtPackages } from '../../../flows/packages/build.ts';
import { planBuild, KUBELET_DEPENDS } from '../../../flows/packages/components.ts';
import { downloadStep } from '../../../flows/packages/download.ts';
import { boardSet } from '../../../flows/packages/onboard.ts';
import { parsePackagesOptions, buildDir } from '../../../flows/packages/options.ts';
import { renderPkgbuild } from '../../../flows/packages/pkgbuild.ts';
import { dependenciesScript, ignoredProbe, ignorePkgScript, installScript } from '../../../flows/packages/scripts.ts';
import { testbinDir } from '../../harness/controlplane.ts';
import { artifactServer, BUILD_USER, standIns, ensureBuildUser, localRepository, makepkg, scratchRoot, stubPkgbuild, type ArtifactServer, type ScratchRoot } from '../../harness/pacman.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'packages-build-'));
// The build user must reach the folders the harness's makepkg builds in.
fs.chmodSync(work, 0o755);
const sh = (script: string) => execFileSync('sh', ['-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The real workbench, with the upstream hosts' URLs pointed at the local server (https://HOST/P -> BASE/HOST/P). */
class LocalServerWorkbench extends LocalWorkbench {
  constructor(dir: string, private readonly base: () => string) {
    super(dir, new LocalMachine());
  }
  #map = (url: string) => url.replace(/^https:\/\//, `${this.base()}/`);
  override fetch(url: string, dest: string, opts?: OpOptions) {
    return super.fetch(this.#map(url), dest, opts);
  }
  override fetchText(url: string, signal?: AbortSignal) {
    return super.fetchText(this.#map(url), signal);
  }
}

let server: ArtifactServer;
const served: Record<string, string> = {};
const wb = new LocalServerWorkbench(path.join(work, 'state', 'packages', 'homelab'), () => server.base);
const logs: string[] = [];

function ctxFor(runtime: ContainerRuntime): StepContext {
  const cluster: ClusterSpec = { ...defaultCluster('/nonexistent'), kubernetes: { runtime } };
  const ports = { mode: 'real', workbench: wb, local: new LocalMachine(), disks: {} as Ports['disks'], host: () => { throw new Error('no boards in this test'); }, cluster: async () => { throw new Error('no cluster'); }, close: async () => {} } as unknown as Ports;
  return {
    cluster,
    board: findBoard(cluster.board)!,
    release: DEFAULT_RELEASE,
    node: null,
    ports,
    signal: new AbortController().signal,
    log: (l) => logs.push(l),
    progress: () => {},
    outputOf: () => undefined,
    options: parsePackagesOptions({ 'build-user': BUILD_USER }, cluster) as unknown as Record<string, unknown>,
    secrets: new MemorySecrets(),
  };
}

beforeAll(async () => {
  await ensureBuildUser();
  const bin = await testbinDir();
  const files: Record<string, string> = { kubeadm: path.join(bin, 'kubeadm'), kubelet: path.join(bin, 'kubelet'), kubectl: path.join(bin, 'kubectl'), ...standIns(path.join(work, 'upstream')) };
  const sums = path.join(work, 'sums');
  fs.mkdirSync(sums);
  for (const runtime of ['cri-o', 'containerd'] as const) {
    for (const a of artifacts(DEFAULT_RELEASE, runtime)) {
      const urlPath = (u: string) => `/${u.replace(/^https:\/\//, '')}`;
      served[urlPath(a.url)] = files[a.id]!;
      const sumFile = path.join(sums, `${a.id}.sum`);
      fs.writeFileSync(sumFile, a.checksumFormat === 'hex' ? `${sha(files[a.id]!)}\n` : `${'0'.repeat(64)}  ${a.file.replace('arm64', 'amd64')}\n${sha(files[a.id]!)}  ${a.file}\n`);
      served[urlPath(a.checksumUrl)] = sumFile;
    }
  }
  server = await artifactServer(served, { cutOnce: [`/dl.k8s.io/release/v${DEFAULT_RELEASE.patch}/bin/linux/arm64/kubelet`] });
}, 600_000);

afterAll(async () => {
  await server?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('download and build, for real', () => {
  it('downloads every file once, resuming a cut connection with HTTP Range, each checked against its published sha256', async () => {
    const ctx = ctxFor('cri-o');
    const out = (await downloadStep.run!(ctx, await downloadStep.plan(ctx))) as { sha256: Record<string, string> };
    expect(Object.keys(out.sha256)).toEqual(['kubeadm', 'kubelet', 'kubectl', 'cri-tools', 'cri-o']);
    const kubelet = `/dl.k8s.io/release/v${DEFAULT_RELEASE.patch}/bin/linux/arm64/kubelet`;
    expect(server.requests.filter((r) => r.path === kubelet).map((r) => /^bytes=\d+-$/.test(r.range ?? ''))).toEqual([false, true]);
    expect(await downloadStep.verify(ctx)).toBe(true);
    // A second run downloads nothing.
    const before = server.requests.filter((r) => !r.path.endsWith('sum') && !r.path.endsWith('.sha256')).length;
    await downloadStep.run!(ctx, []);
    expect(server.requests.filter((r) => !r.path.endsWith('sum') && !r.path.endsWith('.sha256')).length).toBe(before);
    expect(logs.join('\n')).toMatch(/kubelet: sha256 [0-9a-f]{64} matches .*kubelet\.sha256/);
  });

  it('refuses a download whose published checksum does not match, and deletes it', async () => {
    const ctx = ctxFor('cri-o');
    const sumPath = served[`/dl.k8s.io/release/v${DEFAULT_RELEASE.patch}/bin/linux/arm64/kubectl.sha256`]!;
    const good = fs.readFileSync(sumPath, 'utf8');
    const cached = path.join(wb.dir, 'downloads', `k8s-v${DEFAULT_RELEASE.patch}-cri-o`, 'kubectl');
    try {
      fs.writeFileSync(sumPath, `${'e'.repeat(64)}\n`);
      fs.rmSync(cached);
      await expect(downloadStep.run!(ctx, [])).rejects.toThrow(/checksum mismatch: kubectl has sha256 [0-9a-f]{64}, https:\/\/dl\.k8s\.io\/.*kubectl\.sha256 says e{64}\. The download was deleted and no board was touched/);
      expect(fs.existsSync(cached)).toBe(false);
    } finally {
      fs.writeFileSync(sumPath, good);
    }
    await downloadStep.run!(ctx, []);
    expect(await downloadStep.verify(ctx)).toBe(true);
  });

  it('builds every package with the real makepkg as an ordinary user: pinned version, aarch64, backup files', async () => {
    for (const runtime of ['cri-o', 'containerd'] as const) {
      const ctx = ctxFor(runtime);
      if (runtime === 'containerd') await downloadStep.run!(ctx, []);
      await buildStep.run!(ctx, await buildStep.plan(ctx));
      expect(await buildStep.verify(ctx)).toBe(true);
    }
    const built = (await builtPackages(ctxFor('cri-o')))!;
    const kubelet = built.find((b) => b.name === 'kubelet')!;
    const info = sh(`pacman -Qip ${kubelet.path}`);
    expect(info).toMatch(new RegExp(`^Version\\s+: ${DEFAULT_RELEASE.patch.replace(/\./g, '\\.')}-1$`, 'm'));
    expect(info).toMatch(/^Architecture\s+: aarch64$/m);
    expect(info).toMatch(/^Depends On\s+: conntrack-tools\s+ethtool\s+iptables-nft\s+socat\s+cni-plugins$/m);
    expect(sh(`bsdtar -xOf ${kubelet.path} .PKGINFO`)).toMatch(/backup = usr\/lib\/systemd\/system\/kubelet\.service\.d\/10-kubeadm\.conf/);
    const crio = built.find((b) => b.name === 'cri-o')!;
    const unit = sh(`bsdtar -xOf ${crio.path} usr/lib/systemd/system/crio.service`);
    expect(unit).toContain('ExecStart=/usr/bin/crio');
    expect(sh(`bsdtar -tf ${crio.path}`)).toMatch(/etc\/crio\/crio\.conf\.d\/20-boardkube\.conf/);
    const ctd = (await builtPackages(ctxFor('containerd')))!;
    expect(ctd.map((b) => b.name)).toEqual(['kubeadm', 'kubelet', 'kubectl', 'cri-tools', 'containerd', 'runc']);
  }, 900_000);

  it('makepkg refuses a source that does not match the PKGBUILD\'s sha256', async () => {
    const ctx = ctxFor('cri-o');
    const dir = path.join(work, 'tampered');
    fs.cpSync(buildDir(ctx, 'kubectl'), dir, { recursive: true });
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.pkg.tar.zst')) fs.rmSync(path.join(dir, f));
    fs.appendFileSync(path.join(dir, 'kubectl'), 'changed after the download');
    const r = await makepkg(dir);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/kubectl \.\.\. FAILED[\s\S]*One or more files did not pass the validity check/);
    expect(fs.readdirSync(dir).some((f) => f.endsWith('.pkg.tar.zst'))).toBe(false);
  });
});

describe('the packages in real pacman (scratch root, aarch64)', () => {
  let root: ScratchRoot;
  afterAll(() => root?.remove());

  it('installs them with the stage\'s scripts, pins them, and pacman -Syu leaves the kubelet at the pin', async () => {
    const ctx = ctxFor('cri-o');
    const set = boardSet(ctx);
    const built = (await builtPackages(ctx))!;
    // The repository: stand-ins for the distribution's dependencies, and a kubelet newer than the pin.
    const repoSrc = path.join(work, 'repo-src');
    const packages: string[] = [];
    for (const dep of set.deps) {
      const d = path.join(repoSrc, dep);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'PKGBUILD'), stubPkgbuild(dep, '1.0'));
      const r = await makepkg(d);
      expect(r.code, r.output).toBe(0);
      packages.push(path.join(d, fs.readdirSync(d).find((f) => f.endsWith('.pkg.tar.zst'))!));
    }
    expect(set.deps).toEqual(expect.arrayContaining(KUBELET_DEPENDS));
    const newer = path.join(repoSrc, 'kubelet-newer');
    fs.cpSync(buildDir(ctx, 'kubelet'), newer, { recursive: true });
    const spec = planBuild(DEFAULT_RELEASE, 'cri-o', { kubelet: sha(path.join(newer, 'kubelet')) }).packages.find((p) => p.name === 'kubelet')!;
    fs.writeFileSync(path.join(newer, 'PKGBUILD'), renderPkgbuild({ ...spec, version: '1.37.99' }));
    expect((await makepkg(newer)).code).toBe(0);
    packages.push(path.join(newer, 'kubelet-1.37.99-1-aarch64.pkg.tar.zst'));
    const repo = path.join(work, 'repo');
    await localRepository(repo, 'boardkube-test', packages);

    root = scratchRoot({ 'boardkube-test': repo });
    const o = { pacman: root.pacman, root: root.root };
    const board = path.join(root.root, 'var/cache/boardkube/packages');
    fs.mkdirSync(board, { recursive: true });
    for (const b of built) fs.copyFileSync(b.path, path.join(board, b.file));
    sh(`${root.pacman} -Sy`);
    sh(dependenciesScript(set.deps, o));
    sh(installScript(board, set.files, set.replaces, o));
    const pinned = sh(ignorePkgScript(set.names, o));
    expect(pinned).toMatch(/^pinned kubeadm kubelet kubectl cri-tools cri-o in /m);
    expect(sh(ignorePkgScript(set.names, o))).toBe('');
    const conf = fs.readFileSync(root.conf, 'utf8');
    expect(conf).toContain('IgnorePkg = someones-own-package');
    expect(sh(ignoredProbe(o)).split('\n').filter(Boolean)).toEqual([...set.names, 'someones-own-package']);

    for (const n of set.names) expect(sh(`${root.pacman} -Qi ${n}`)).toMatch(/^Version\s+: \S+-1$/m);
    expect(sh(`${root.pacman} -Qi kubelet`)).toMatch(new RegExp(`^Version\\s+: ${DEFAULT_RELEASE.patch.replace(/\./g, '\\.')}-1$`, 'm'));
    // The packaged programs are the pinned ones: the real kubeadm and kubelet, run from the scratch root.
    expect(sh(`${root.root}/usr/bin/kubeadm version -o short`).trim()).toBe(`v${DEFAULT_RELEASE.patch}`);
    expect(sh(`${root.root}/usr/bin/kubelet --version`).trim()).toBe(`Kubernetes v${DEFAULT_RELEASE.patch}`);

    // The repository offers a newer kubelet; real pacman, reading our IgnorePkg, does not take it.
    const upgrade = sh(`${root.pacman} -Syu --noconfirm 2>&1`);
    expect(upgrade).toMatch(new RegExp(`kubelet: ignoring package upgrade \\(${DEFAULT_RELEASE.patch.replace(/\./g, '\\.')}-1 => 1\\.37\\.99-1\\)`));
    expect(sh(`${root.pacman} -Qi kubelet`)).toMatch(new RegExp(`^Version\\s+: ${DEFAULT_RELEASE.patch.replace(/\./g, '\\.')}-1$`, 'm'));
    // Without the pin the same command would have moved it: the test can fail.
    const unpinned = conf.replace(/^IgnorePkg = kubeadm.*$/m, '');
    fs.writeFileSync(root.conf, unpinned);
    expect(sh(`${root.pacman} -Sup 2>&1`)).toMatch(/kubelet-1\.37\.99-1-aarch64\.pkg\.tar\.zst/);
  }, 600_000);
});
