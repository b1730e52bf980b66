// What ships (bin/boardkube.js, built by `npm run build`): the packages stage's plan holds a PKGBUILD per package
// that real makepkg reads with the pinned version, every command in it passes shellcheck, nothing is written by
// the plan; a whole practice-lab run includes the stage and `status` shows it done.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NODE_SOFTWARE } from '../../../src/catalog/packages.ts';
import { DEFAULT_RELEASE } from '../../../src/catalog/versions.ts';
import type { Action } from '../../../src/engine/types.ts';
import { ensureBuildUser, printSrcinfo, shellcheck } from '../../harness/pacman.ts';

const BIN = path.resolve('bin/boardkube.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packages-cli-'));
const file = path.join(dir, 'cluster.yaml');

function boardkube(args: string[], env: Record<string, string> = {}) {
  // In its own folder: the journey's readonly stage writes ./readonly.kubeconfig.
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, BOARDKUBE_LAB_SPEED: '0', ...env }, timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  if (!fs.existsSync(BIN)) throw new Error('bin/boardkube.js is missing: run `npm run build` first (npm test does)');
  await ensureBuildUser();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
  expect(boardkube(['init', '-f', file]).code).toBe(0);
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^(\s+)keyPath: .*$/m, `$1keyPath: ${path.join(dir, 'key')}`));
});

describe('boardkube plan --stage packages --json', () => {
  it('holds a PKGBUILD per package that makepkg reads with the pinned version, and shellcheck-clean commands', async () => {
    const stateDir = path.join(dir, 'plan-state');
    const r = boardkube(['plan', '-f', file, '--stage', 'packages', '--json', '--state-dir', stateDir]);
    expect(r.code, r.stderr).toBe(0);
    const actions = JSON.parse(r.stdout) as Action[];
    expect(fs.existsSync(stateDir)).toBe(false);
    const pkgbuilds = actions.filter((a) => a.type === 'file' && a.path?.endsWith('/PKGBUILD'));
    const sw = NODE_SOFTWARE[DEFAULT_RELEASE.minor]!;
    const want: Record<string, string> = { kubeadm: DEFAULT_RELEASE.patch, kubelet: DEFAULT_RELEASE.patch, kubectl: DEFAULT_RELEASE.patch, 'cri-tools': sw.criTools, 'cri-o': sw.crio! };
    expect(pkgbuilds.map((a) => path.basename(path.dirname(a.path!)))).toEqual(Object.keys(want));
    for (const a of pkgbuilds) {
      const { fields } = await printSrcinfo(a.content!);
      const name = fields.pkgname![0]!;
      expect(fields.pkgver).toEqual([want[name]]);
      expect(fields.arch).toEqual(['aarch64']);
      expect(a.content).not.toMatch(/\bSKIP\b/);
    }
    const scripts = actions.filter((a) => (a.type === 'command' || a.type === 'local') && a.content);
    expect(scripts.length).toBeGreaterThan(10);
    for (const a of scripts) expect(await shellcheck(a.content!, 'sh'), `${a.step}: ${a.description}`).toBe('');
    // Every board gets the same steps; the stage names the boards it installs on.
    expect(new Set(actions.filter((a) => a.step === 'install').map((a) => a.node)).size).toBe(5);
  });

  it('plans containerd + runc for kubernetes.runtime: containerd', () => {
    const other = path.join(dir, 'containerd.yaml');
    fs.writeFileSync(other, `${fs.readFileSync(file, 'utf8')}kubernetes:\n  runtime: containerd\n`);
    const r = boardkube(['plan', '-f', other, '--stage', 'packages', '--json', '--state-dir', path.join(dir, 'c-state')]);
    expect(r.code, r.stderr).toBe(0);
    const names = (JSON.parse(r.stdout) as Action[]).filter((a) => a.path?.endsWith('/PKGBUILD')).map((a) => path.basename(path.dirname(a.path!)));
    expect(names).toEqual(['kubeadm', 'kubelet', 'kubectl', 'cri-tools', 'containerd', 'runc']);
  });

  it('refuses bad input with exit 2 and the fix', () => {
    const bad = boardkube(['plan', '-f', file, '--stage', 'packages', '--set', 'source=ftp', '--state-dir', path.join(dir, 'b-state')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/source.*"ftp" is not a source.*upstream, arch, bundle=DIR or installed/);
    const missing = boardkube(['plan', '-f', file, '--stage', 'packages', '--set', `source=bundle=${path.join(dir, 'nope')}`, '--state-dir', path.join(dir, 'b-state')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/is not a folder/);
    const runtime = path.join(dir, 'docker.yaml');
    fs.writeFileSync(runtime, `${fs.readFileSync(file, 'utf8')}kubernetes:\n  runtime: docker\n`);
    const r = boardkube(['plan', '-f', runtime, '--stage', 'packages', '--state-dir', path.join(dir, 'b-state')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/kubernetes\.runtime: "docker" is not a container runtime boardkube offers \(fix: use one of: cri-o, containerd\)/);
  });
});

describe('boardkube apply --lab --yes', () => {
  it('runs the whole journey with packages, and status shows packages done', () => {
    const stateDir = path.join(dir, 'lab-state');
    const r = boardkube(['apply', '-f', file, '--lab', '--yes', '--state-dir', stateDir]);
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/\[packages\] prove n2-worker4: done/);
    const status = boardkube(['status', '-f', file, '--lab', '--state-dir', stateDir]);
    expect(status.stdout).toMatch(/packages\s+done/);
  });
});
