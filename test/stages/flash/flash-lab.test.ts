// The flash stage in the practice lab: simulated cards behind the same Disks port, with the trainer's faults.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eligibleDevices } from '../../../flows/flash/index.ts';
import { odroidN2 } from '../../../src/boards/odroid-n2.ts';
import type { Ports } from '../../../src/engine/types.ts';
import { LabCards } from '../../../src/lab/cards.ts';
import type { Local } from '../../../src/ports/local.ts';
import { runFlash, testCluster } from '../../harness/flash-session.ts';

const labLocal: Local = {
  tool: async (name) => ({ name, path: `/usr/bin/${name}` }),
  run: async () => ({ code: 0, stdout: '', stderr: '' }),
  isRoot: () => true,
};

function labPorts(cards: LabCards): Ports {
  return {
    mode: 'lab',
    host: () => {
      throw new Error('no boards in this test');
    },
    local: labLocal,
    disks: cards,
    cluster: async () => {
      throw new Error('no cluster in this test');
    },
    close: async () => {},
  };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bk-flash-lab-'));
  process.env.BOARDKUBE_CACHE_DIR = join(dir, 'cache');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('flash in the practice lab', () => {
  it('offers the card readers and leaves out the system disk and a mounted stick', async () => {
    const cards = new LabCards({ speed: 0 });
    const { eligible, excluded } = eligibleDevices(await cards.list(), odroidN2);
    expect(eligible.map((d) => d.path).sort()).toEqual(['/dev/mmcblk0', '/dev/sda', '/dev/sdb', '/dev/sdd']);
    expect(Object.fromEntries(excluded.map((e) => [e.device.path, e.code]))).toEqual({ '/dev/nvme0n1': 'system', '/dev/sdc': 'mounted' });
  });

  it('flashes two simulated cards at once and ejects them', async () => {
    const cards = new LabCards({ speed: 0 });
    const cluster = testCluster(join(dir, 'keys'));
    const r = await runFlash({ stateDir: join(dir, 'state-a'), cluster, ports: labPorts(cards), options: { node: 'n2-master,n2-worker1', device: '/dev/sda,/dev/mmcblk0', yes: true } });
    expect(r.errors).toEqual([]);
    expect(r.store.step('flash/verify@n2-master')?.outputs).toMatchObject({ result: 'flashed', device: '/dev/sda', bootloader: 'mainline' });
    expect(r.store.step('flash/verify@n2-worker1')?.outputs).toMatchObject({ result: 'flashed', device: '/dev/mmcblk0' });
    // ejected: gone from the list until put back
    expect((await cards.list()).map((d) => d.path)).not.toContain('/dev/sda');
    cards.insert('/dev/sda');
    const boot = await cards.readFat('/dev/sda1', '/boot.txt');
    expect(boot?.toString()).toContain('console=ttyAML0,115200n8');
  });

  it('a card pulled out half-way fails clearly and finishes after it is put back', async () => {
    const cards = new LabCards({ speed: 0 });
    const cluster = testCluster(join(dir, 'keys'));
    cards.setFault('card-pulled-out', true, '/dev/sdb');
    const opts = { node: 'n2-worker2', device: '/dev/sdb', yes: true };
    const r = await runFlash({ stateDir: join(dir, 'state-b'), cluster, ports: labPorts(cards), options: opts });
    expect(r.outcome).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/flash\/extract on n2-worker2: \/dev\/sdb disappeared during .*card pulled out/);
    expect(r.store.step('flash/partition@n2-worker2')?.status).toBe('done');
    cards.setFault('card-pulled-out', false, '/dev/sdb');
    cards.insert('/dev/sdb');
    const again = await runFlash({ stateDir: join(dir, 'state-b'), cluster, ports: labPorts(cards), options: opts });
    expect(again.errors).toEqual([]);
    const ends = Object.fromEntries(again.events.filter((e) => e.type === 'step-end' && e.node === 'n2-worker2').map((e) => [e.type === 'step-end' ? e.step : '', e.type === 'step-end' ? e.status : '']));
    expect(ends).toMatchObject({ partition: 'verified', format: 'verified', extract: 'done', verify: 'done' });
  });

  it('a checksum mismatch stops before any card is touched', async () => {
    const cards = new LabCards({ speed: 0 });
    const cluster = testCluster(join(dir, 'keys'));
    cards.setFault('checksum-mismatch', true);
    const r = await runFlash({ stateDir: join(dir, 'state-c'), cluster, ports: labPorts(cards), options: { node: 'n2-worker3', device: '/dev/sdd', yes: true } });
    expect(r.errors.join('\n')).toMatch(/checksum mismatch/);
    expect(await cards.readTable('/dev/sdd')).toBeNull();
  });

  it('refuses the simulated system disk even when asked for all devices', async () => {
    const cards = new LabCards({ speed: 0 });
    const cluster = testCluster(join(dir, 'keys'));
    const r = await runFlash({ stateDir: join(dir, 'state-d'), cluster, ports: labPorts(cards), options: { node: 'n2-master', device: '/dev/nvme0n1', yes: true, 'all-devices': true } });
    expect(r.errors.join('\n')).toMatch(/--device: refusing \/dev\/nvme0n1 .*system disk/);
    expect(await cards.readTable('/dev/nvme0n1')).toBeNull();
  });

  it('takes realistic time at lab speed 1 (scaled down here) and reports progress', async () => {
    const cards = new LabCards({ speed: 0.002 });
    const cluster = testCluster(join(dir, 'keys'));
    const r = await runFlash({ stateDir: join(dir, 'state-e'), cluster, ports: labPorts(cards), options: { node: 'n2-worker4', device: '/dev/sdb', yes: true } });
    expect(r.errors).toEqual([]);
    const msgs = r.events.filter((e) => e.type === 'progress' && e.step === 'extract').map((e) => (e.type === 'progress' ? e.progress.message : ''));
    expect(msgs.some((m) => /MB\/s · ETA/.test(m ?? ''))).toBe(true);
  });
});
