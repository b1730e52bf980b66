// The packages stage's upload step on five real OpenSSH test boards at once (test/harness/pacman-boards.ts: each
// board its own namespace, logged in as an ordinary user with sudo), through the real ssh2 adapter: the room check
// on the board, SFTP into root's /var/cache (staged as the user, installed by root), the sha256 read back on every
// board, and a connection cut mid-upload that the re-run completes without sending again what arrived.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { artifacts } from '../../../src/catalog/packages.ts';
import { DEFAULT_RELEASE } from '../../../src/catalog/versions.ts';
import { buildStep, builtPackages } from '../../../flows/packages/build.ts';
import { BOARD_PACKAGE_DIR, downloadDir } from '../../../flows/packages/options.ts';
import { uploadStep } from '../../../flows/packages/upload.ts';
import { uploadRig, type UploadRig } from '../../harness/pacman-boards.ts';
import { standIns } from '../../harness/pacman.ts';

let rig: UploadRig;
beforeAll(async () => {
  rig = await uploadRig(5, 4);
}, 600_000);
afterAll(async () => rig?.stop());

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('upload on five real SSH boards at once', () => {
  it('checks the room, sends every package to every board in parallel, and reads the sha256 back', async () => {
    const checks = await Promise.all(rig.nodes.map((n) => uploadStep.needs!(rig.ctx(n))));
    for (const c of checks) expect(c[0]).toMatchObject({ ok: true, what: expect.stringMatching(/^room on n2-\S+ for the packages \(\d+ MiB under \/var\/cache, \d+ MiB free\)$/) });
    const out = await Promise.all(rig.nodes.map(async (n) => uploadStep.run!(rig.ctx(n), await uploadStep.plan(rig.ctx(n)))));
    for (const o of out) expect(o).toMatchObject({ sent: rig.files.length });
    expect(await Promise.all(rig.nodes.map((n) => uploadStep.verify(rig.ctx(n))))).toEqual(rig.nodes.map(() => true));
    for (const b of rig.boards) {
      for (const f of rig.files) {
        const there = b.path(`${BOARD_PACKAGE_DIR}/${f.file}`);
        expect(sha(there)).toBe(sha(f.path));
        expect(fs.statSync(there).uid).toBe(0);
      }
    }
  }, 300_000);

  it('after a connection cut during the upload, the re-run sends only what is missing', async () => {
    const node = rig.nodes[2]!;
    const board = rig.boards[2]!;
    fs.rmSync(board.path(BOARD_PACKAGE_DIR), { recursive: true, force: true });
    expect(await uploadStep.verify(rig.ctx(node))).toBe(false);
    // The first file gets through; the connection is cut while the next ones go.
    const first = rig.files[0]!;
    const host = rig.hosts.get(node.name)!;
    expect((await host.exec(`mkdir -p ${BOARD_PACKAGE_DIR}`, { sudo: true })).code).toBe(0);
    await host.upload(first.path, `${BOARD_PACKAGE_DIR}/${first.file}`, { sudo: true });
    const run = uploadStep.run!(rig.ctx(node), []);
    setTimeout(() => void board.killConnections(), 150);
    await run.catch(() => undefined);
    const again = (await uploadStep.run!(rig.ctx(node), [])) as { sent: number };
    expect(again.sent).toBeLessThan(rig.files.length);
    expect(await uploadStep.verify(rig.ctx(node))).toBe(true);
  }, 300_000);

  it('without makepkg on this computer, the master builds the packages and they come back here', async () => {
    const master = rig.nodes[0]!;
    const ctx = { ...rig.ctx(null), options: { source: { kind: 'upstream' }, buildUser: rig.boards[0]!.user } };
    // Stand-ins for the downloads (the master's makepkg checks them against the same sha256 as here).
    const dl = downloadDir(ctx);
    fs.mkdirSync(dl, { recursive: true });
    const made = standIns(path.join(path.dirname(dl), 'stand-ins'));
    for (const a of artifacts(DEFAULT_RELEASE, 'cri-o')) {
      const src = made[a.id] ?? path.join(path.dirname(dl), 'stand-ins', a.id);
      if (!made[a.id]) fs.writeFileSync(src, `#!/bin/sh\necho 'Kubernetes v${DEFAULT_RELEASE.patch} (stand-in)'\n`, { mode: 0o755 });
      fs.copyFileSync(src, path.join(dl, a.file));
      fs.writeFileSync(path.join(dl, `${a.file}.sha256`), `${sha(src)}  ${a.file}\n`);
    }
    for (const f of rig.files) fs.rmSync(f.path);
    rig.workbench.makepkg = async () => null;
    const plan = await buildStep.plan(ctx);
    expect(plan.filter((a) => a.type === 'command').map((a) => a.description)[0]).toMatch(new RegExp(`makepkg is not on this computer: send these files and the downloads to ${master.name}`));
    await buildStep.run!(ctx, plan);
    const built = (await builtPackages(ctx))!;
    expect(built.map((b) => b.name)).toEqual(['kubeadm', 'kubelet', 'kubectl', 'cri-tools', 'cri-o']);
    const info = execFileSync('pacman', ['-Qip', built.find((b) => b.name === 'kubelet')!.path], { encoding: 'utf8' });
    expect(info).toMatch(new RegExp(`^Version\\s+: ${DEFAULT_RELEASE.patch.replace(/\./g, '\\.')}-1$`, 'm'));
    expect(info).toMatch(/^Architecture\s+: aarch64$/m);
  }, 300_000);
});
