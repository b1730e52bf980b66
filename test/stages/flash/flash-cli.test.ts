// The flash stage through the built command with the real ports (RealDisks): `boardkube apply --stage flash
// --device LOOP` writes a card on a loop device; and a loop device that plays this computer's system disk (its
// partition mounted at / in the command's own mount namespace, as a root filesystem is) is refused with exit 2,
// its bytes the same before and after.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClusterFile } from '../../../src/cluster/file.ts';
import { boardkubeCommand, runAsync } from '../../e2e/common.ts';
import { buildFakeAlarm, type FakeAlarm } from '../../harness/fake-alarm-tarball.ts';
import { testCluster } from '../../harness/flash-session.ts';
import { attachLoop, detachAll } from '../../harness/loopdev.ts';

const MiB = 1024 * 1024;

let dir: string;
let fake: FakeAlarm;
let file: string;

function sha256OfFile(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bk-flash-cli-'));
  fake = await buildFakeAlarm({ dir: join(dir, 'img') });
  file = join(dir, 'cluster.yaml');
  writeClusterFile(file, testCluster(join(dir, 'keys')));
}, 300_000);

afterAll(() => {
  detachAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('boardkube apply --stage flash --device (built command, real disks)', () => {
  it('writes the card on a loop device: a FAT boot partition and an ext4 root, exit 0', async () => {
    const card = attachLoop(join(dir, 'card'), 2200 * MiB);
    const cmd = boardkubeCommand();
    const r = await runAsync([...cmd, 'apply', '-f', file, '--stage', 'flash', '--node', 'n2-worker1', '--device', card.device, '--image', fake.tarball, '--yes'], {
      BOARDKUBE_STATE_DIR: join(dir, 'state-card'),
      BOARDKUBE_CACHE_DIR: join(dir, 'cache'),
    });
    expect(r.code, r.out).toBe(0);
    // blkid reads the filesystems themselves (lsblk's FSTYPE comes from udev, which this machine lacks).
    const fstype = (p: string) => execFileSync('blkid', ['-o', 'value', '-s', 'TYPE', `${card.device}${p}`], { encoding: 'utf8' }).trim();
    expect([fstype('p1'), fstype('p2')]).toEqual(['vfat', 'ext4']);
  }, 600_000);

  it('a loop device playing the system disk (mounted at /) is refused with exit 2; not one byte of it changes', async () => {
    const disk = attachLoop(join(dir, 'sys'), 64 * MiB);
    execFileSync('sfdisk', ['-q', disk.device], { input: 'label: dos\nstart=2048, type=83\n' });
    execFileSync('partx', ['-u', disk.device]);
    for (let i = 0; i < 100 && !execFileSync('lsblk', ['-rno', 'NAME', disk.device], { encoding: 'utf8' }).includes('p1'); i++) execFileSync('sleep', ['0.05']);
    execFileSync('mkfs.ext4', ['-q', `${disk.device}p1`]);
    execFileSync('sync');
    const before = sha256OfFile(disk.file);
    const cmd = boardkubeCommand();
    // Mounted over / in a mount namespace of its own: findmnt and lsblk show it as the root filesystem, while
    // every path still resolves on this computer's real root (nothing else changes for the command). Read-only
    // without the journal (ro,noload), so the mount itself writes nothing: any changed byte is the flasher's.
    const r = await runAsync(['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', `mount -o ro,noload ${disk.device}p1 / && exec "$@"`, 'as-root', ...cmd, 'apply', '-f', file, '--stage', 'flash', '--node', 'n2-master', '--device', disk.device, '--image', fake.tarball, '--yes', '--set', 'all-devices=yes'], {
      BOARDKUBE_STATE_DIR: join(dir, 'state-sys'),
      BOARDKUBE_CACHE_DIR: join(dir, 'cache'),
    });
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(new RegExp(`refusing ${disk.device}.*system disk \\(holds /`));
    execFileSync('sync');
    expect(sha256OfFile(disk.file)).toBe(before);
  }, 300_000);
});
