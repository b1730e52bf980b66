// flash_vs_manual_ratio: the flash stage's time (check, image check, partition, format, unpack, bootloader,
// boot script, pre-configuration, read-back, sync) over the same card written by hand with sfdisk, mkfs, bsdtar,
// dd and mtools on the same loop device (median of 7 pairs, alternating which goes first);
// flash_loop_device_mb_per_s: unpacked megabytes per second of the whole stage onto a LOOP DEVICE (a file on this
// machine's disk behind the page cache: an upper bound, not an SD card's speed). Medians of 7 alternating runs, from a synthetic Arch Linux ARM tarball (1 GB unpacked, 10k files;
// the real N2 one unpacks to about 1.6 GB) given as
// --image PATH (a workshop with the tarball at hand). Needs root and loop devices.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cardIds, sfdiskScript, tableSpec, makeCard, expectedImage } from '../../flows/flash/card.ts';
import { odroidN2 } from '../../src/boards/odroid-n2.ts';
import { buildFakeAlarm } from '../harness/fake-alarm-tarball.ts';
import { runFlash, testCluster } from '../harness/flash-session.ts';
import { attachLoop } from '../harness/loopdev.ts';
import { median, type Metric } from './stats.ts';

function sh(argv: string[], input?: string): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr?.toString().trim()}`);
}

function dropCaches(): void {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    /* not allowed here: both sides then run with the same warm cache */
  }
}

/** The ODROID-N2 card by hand, as the Arch Linux ARM instructions do it (FAT written with mtools: no vfat mount needed). */
function manual(device: string, tarball: string, work: string, script: string): number {
  const root = join(work, 'root');
  mkdirSync(root, { recursive: true });
  const t0 = performance.now();
  sh(['sfdisk', '--wipe', 'always', '--wipe-partitions', 'always', device], script);
  sh(['partx', '-u', device]);
  for (let i = 0; i < 150 && !(existsSync(`${device}p1`) && existsSync(`${device}p2`)); i++) execFileSync('sleep', ['0.1']);
  sh(['mkfs.vfat', '-F', '32', '-n', 'BOOT', `${device}p1`]);
  sh(['mkfs.ext4', '-F', '-q', '-L', 'ROOT', `${device}p2`]);
  sh(['mount', `${device}p2`, root]);
  sh(['bsdtar', '-xpf', tarball, '-C', root]);
  sh(['dd', `if=${root}/boot/u-boot.bin.sd.bin`, `of=${device}`, 'conv=fsync,notrunc', 'bs=512', 'skip=1', 'seek=1']);
  sh(['dd', `if=${root}/boot/u-boot.bin.sd.bin`, `of=${device}`, 'conv=fsync,notrunc', 'bs=1', 'count=440']);
  sh(['sh', '-c', `mcopy -s -p -m -Q -D o -i ${device}p1 ${root}/boot/* ::/ && find ${root}/boot -mindepth 1 -delete`]);
  sh(['sync']);
  sh(['umount', root]);
  return (performance.now() - t0) / 1000;
}

export async function benchFlash(runs = 7, bulkBytes = 1e9): Promise<Metric[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bk-bench-flash-'));
  process.env.BOARDKUBE_CACHE_DIR = join(dir, 'cache');
  const fake = await buildFakeAlarm({ dir: join(dir, 'img'), bulkBytes, bulkFiles: Math.round(bulkBytes / 100e3) });
  const loop = attachLoop(dir, 2400 * 1024 * 1024);
  const cluster = testCluster(join(dir, 'keys'));
  // The progress file lives on another disk than the card, as on a laptop (~/.config vs the card reader). Here the
  // loop device's backing file shares / with TMPDIR, and every fsync of the progress would wait for the card's
  // data; /dev/shm keeps the two apart.
  const stateBase = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/bk-bench-state-') : join(dir, 'state');
  const options = { node: 'n2-worker1', device: loop.device, image: fake.tarball, yes: true };
  const card = makeCard({ profile: odroidN2, cluster, node: cluster.nodes[1]!, device: loop.device, mountBase: '/tmp', image: expectedImage(odroidN2), publicKey: '' });
  const script = sfdiskScript({ ...tableSpec(card), id: cardIds(cluster, cluster.nodes[1]!).diskId });
  try {
    // a first, cold run: the image is checked (md5 + a look inside) once and remembered, as for every further card
    dropCaches();
    const c0 = performance.now();
    const cold = await runFlash({ stateDir: join(stateBase, 'cold'), cluster, options });
    const coldSeconds = (performance.now() - c0) / 1000;
    if (cold.outcome !== 'done') throw new Error(`the cold flash failed: ${cold.errors.join('; ')}`);
    const stage: number[] = [];
    const byHand: number[] = [];
    const steps: Record<string, number[]> = {};
    for (let i = 0; i < runs; i++) {
      // alternate which goes first, so neither always inherits the other's write-back
      const byHandRun = () => {
        dropCaches();
        byHand.push(manual(loop.device, fake.tarball, join(dir, `manual-${i}`), script));
      };
      if (i % 2 === 0) byHandRun();
      dropCaches();
      const t0 = performance.now();
      const r = await runFlash({ stateDir: join(stateBase, `run-${i}`), cluster, options, onEvent: (e) => e.type === 'step-end' && (steps[e.step] ??= []).push(e.ms) });
      stage.push((performance.now() - t0) / 1000);
      if (r.outcome !== 'done') throw new Error(`flash run ${i} failed: ${r.errors.join('; ')}`);
      if (i % 2 === 1) byHandRun();
    }
    if (process.env.BOARDKUBE_BENCH_VERBOSE) process.stderr.write(`${JSON.stringify(steps)}\n`);
    const ratios = stage.map((s, i) => s / byHand[i]!);
    return [
      { metric: 'flash_vs_manual_ratio', median: median(ratios), unit: 'ratio', runs, stage_s: stage.map((s) => Math.round(s * 100) / 100), manual_s: byHand.map((s) => Math.round(s * 100) / 100), cold_stage_s: Math.round(coldSeconds * 100) / 100, tarball_mb: Math.round(fake.bytes / 1e5) / 10, unpacked_mb: Math.round(fake.uncompressedBytes / 1e5) / 10 },
      { metric: 'flash_loop_device_mb_per_s', median: median(stage.map((s) => fake.uncompressedBytes / 1e6 / s)), unit: 'MB/s', runs, device: 'loop device backed by a file (the host page cache and disk, not an SD card)', note: 'unpacked MB onto the loop device per second of the whole stage' },
    ];
  } finally {
    loop.detach();
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateBase, { recursive: true, force: true });
  }
}

// npx tsx test/bench/flash.ts: run it alone
if (process.argv[1]?.endsWith('bench/flash.ts')) {
  for (const m of await benchFlash()) process.stdout.write(`${JSON.stringify(m)}\n`);
}
