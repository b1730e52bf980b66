// The whole configure stage in the practice lab (BOARDKUBE_LAB_SPEED=0), the trainer's faults included: a board
// that does not come back after the reboot, a clock three hours behind, a cloned machine-id, a changed host key.
// The lab's boards are read back from the saved progress to check that they stay coherent.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../../src/lab/index.ts';
import { openSession } from '../../../src/app/session.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { StateStore } from '../../../src/engine/state.ts';
import type { EngineEvent, Json } from '../../../src/engine/types.ts';
import type { LabBoardData } from '../../../src/lab/board.ts';
import { LAB_MAINLINE_KERNEL } from '../../../src/lab/index.ts';
import { hostsBlock, K8S_SYSCTL, MODULES_LOAD_CONF, PACMAN_KEYS_PROBE, setHostnameScript, SYSCTL_CONF, SYSCTL_PATH, TIME_SYNC_SCRIPT } from '../../../flows/configure/scripts.ts';
import { needsRoot, ROOT_ONLY_DIRS, simulatorFor } from '../../../src/lab/commands.ts';
import { HostError } from '../../../src/ports/host.ts';

process.env.BOARDKUBE_LAB_SPEED = '0';

const cluster = defaultCluster('/nonexistent');
const NODES = cluster.nodes.map((n) => n.name);
const STEPS = ['connect', 'resources', 'identity', 'time', 'machine-id', 'pacman-keys', 'upgrade', 'kernel', 'swap-off', 'kernel-settings'];

function newStateDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'bk-cfg-lab-'));
}

async function run(stateDir: string, faults: string[] = []) {
  const s = openSession({ cluster, stateDir, lab: true, labFaults: faults, log: false });
  const events: EngineEvent[] = [];
  s.engine.on((e) => events.push(e));
  const started = Date.now();
  try {
    const outcome = await s.engine.run(['configure']);
    const steps = s.store.steps();
    return { outcome, events, steps, ms: Date.now() - started, boards: labBoards(s.store) };
  } finally {
    await s.close();
  }
}

function labBoards(store: StateStore): Record<string, LabBoardData> {
  return ((store.lab() as { boards: Record<string, LabBoardData> } | undefined)?.boards ?? {}) as Record<string, LabBoardData>;
}

function stepEnds(events: EngineEvent[]) {
  return events.filter((e): e is Extract<EngineEvent, { type: 'step-end' }> => e.type === 'step-end');
}

function errorOf(events: EngineEvent[], step: string, node: string): string {
  return stepEnds(events).find((e) => e.step === step && e.node === node)?.error ?? '';
}

function logs(events: EngineEvent[], step: string, node?: string): string {
  return events
    .filter((e): e is Extract<EngineEvent, { type: 'log' }> => e.type === 'log' && e.step === step && (!node || e.node === node))
    .map((e) => e.line)
    .join('\n');
}

/** Patches the saved lab between sessions (as a trainer's setup would). */
function patchLab(stateDir: string, patch: (boards: Record<string, LabBoardData>) => void): void {
  const store = StateStore.open(stateDir, cluster.name, { mode: 'lab' });
  const lab = store.lab() as unknown as { boards: Record<string, LabBoardData> };
  patch(lab.boards);
  store.setLab(lab as unknown as Json);
}

describe('configure in the practice lab', () => {
  it('prepares every board; the boards end coherent; the upgrade reports progress', async () => {
    const dir = newStateDir();
    const r = await run(dir);
    expect(r.outcome, stepEnds(r.events).map((e) => e.error).filter(Boolean).join('\n')).toBe('done');
    for (const step of STEPS) for (const node of NODES) expect(r.steps[`configure/${step}@${node}`]?.status, `${step}@${node}`).toBe('done');
    const ids = new Set<string>();
    for (const node of NODES) {
      const b = r.boards[node]!;
      expect(b.facts.kernel).toBe(LAB_MAINLINE_KERNEL);
      expect(b.facts.cgroup).toBe('cgroup2fs');
      expect(b.facts.kernelPackage).toBe('linux-aarch64');
      expect(b.facts.ubootMainline).toBe(true);
      expect(b.files['/boot/boot.txt']).toContain('console=ttyAML0,115200n8');
      expect(b.files['/boot/boot.scr']).toBeDefined();
      expect(b.files['/etc/hostname']).toBe(`${node}\n`);
      expect(b.files['/etc/hosts']).toContain(hostsBlock(cluster));
      expect(b.files['/etc/hosts']).toMatch(/^# Static table lookup/);
      expect(b.facts.localtime).toBe('../usr/share/zoneinfo/Europe/Berlin');
      expect(b.facts.swap).toEqual([]);
      expect(b.files['/etc/systemd/zram-generator.conf']).toBeDefined();
      expect(b.files['/etc/modules-load.d/k8s.conf']).toBe(MODULES_LOAD_CONF);
      expect(b.files['/etc/sysctl.d/k8s.conf']).toBe(SYSCTL_CONF);
      expect(b.facts.modules).toEqual(['overlay', 'br_netfilter']);
      expect(b.facts.sysctl).toEqual(K8S_SYSCTL);
      expect(b.facts.upgraded).toBe(true);
      expect(b.facts.pacmanKeys).toBe(true);
      ids.add(String(b.facts.machineId));
      expect(b.files['/etc/machine-id']).toBe(`${b.facts.machineId}\n`);
      expect(r.steps[`configure/kernel@${node}`]!.outputs).toMatchObject({ kernel: LAB_MAINLINE_KERNEL, cgroup: 'cgroup2fs', previousKernel: '4.9.337-13-ARCH' });
    }
    expect(ids.size).toBe(NODES.length);
    const progress = r.events.filter((e): e is Extract<EngineEvent, { type: 'progress' }> => e.type === 'progress' && e.step === 'upgrade' && e.node === 'n2-worker1');
    const counted = progress.filter((e) => e.progress.total !== undefined);
    expect(counted.length).toBeGreaterThan(10);
    const last = counted[counted.length - 1]!.progress;
    expect(last.done).toBe(last.total);
    expect(progress.some((e) => /^downloading /.test(e.progress.message ?? ''))).toBe(true);
    expect(logs(r.events, 'kernel', 'n2-master')).toMatch(/back: kernel 6\.17\.9-1-aarch64, \/sys\/fs\/cgroup is cgroup2fs/);
  });

  it('a second run verifies every step instead of running it again; the kernel step is skipped on a proven board', async () => {
    const dir = newStateDir();
    expect((await run(dir)).outcome).toBe('done');
    const again = await run(dir);
    expect(again.outcome).toBe('done');
    const ends = stepEnds(again.events);
    expect(ends).toHaveLength(STEPS.length * NODES.length);
    expect(ends.every((e) => e.status === 'verified')).toBe(true);
    for (const node of NODES) expect(again.steps[`configure/upgrade@${node}`]!.runs).toBe(1);
    // Forget the kernel step on one board: its skip() finds the proven kernel and does not reboot again.
    const store = StateStore.open(dir, cluster.name, { mode: 'lab' });
    store.setStep('configure/kernel@n2-worker3', { status: 'failed', startedAt: new Date().toISOString(), runs: 1, error: 'test' });
    const third = await run(dir);
    expect(third.outcome).toBe('done');
    expect(third.steps['configure/kernel@n2-worker3']!.status).toBe('skipped');
    expect(third.steps['configure/kernel@n2-worker3']!.skipReason).toMatch(/runs kernel 6\.17\.9-1-aarch64 with cgroup v2 already/);
  });

  it('a board that does not come back after the reboot: a clear message; once it is back the stage finishes', async () => {
    const dir = newStateDir();
    const r = await run(dir, ['n2-worker2:no-return-after-reboot']);
    expect(r.outcome).toBe('failed');
    const error = errorOf(r.events, 'kernel', 'n2-worker2');
    expect(error).toMatch(/n2-worker2 \(192\.168\.1\.42\) did not come back within 5 minutes after the reboot into linux-aarch64/);
    expect(error).toMatch(/boot-select switch .* "MMC"/);
    expect(error).toMatch(/serial console \(ttyAML0, 115200 baud\)/);
    expect(error).toMatch(/run the configure stage again/);
    for (const node of NODES.filter((n) => n !== 'n2-worker2')) expect(r.steps[`configure/kernel@${node}`]!.status).toBe('done');
    expect(r.steps['configure/kernel@n2-worker2']!.status).toBe('failed');
    expect(r.steps['configure/swap-off@n2-master']).toBeUndefined();
    // The trainer switches the fault off (the board boots now): the run continues with the kernel check.
    const back = await run(dir, ['n2-worker2:none']);
    expect(back.outcome, stepEnds(back.events).map((e) => e.error).filter(Boolean).join('\n')).toBe('done');
    expect(back.steps['configure/kernel@n2-worker2']!.status).toBe('skipped');
    expect(back.boards['n2-worker2']!.facts.kernel).toBe(LAB_MAINLINE_KERNEL);
    expect(back.steps['configure/kernel-settings@n2-worker2']!.status).toBe('done');
  });

  it('clock skew: the time step fails with the fix, nothing after it runs; with time sync working it passes', async () => {
    const dir = newStateDir();
    const r = await run(dir, ['n2-worker1:clock-skew']);
    expect(r.outcome).toBe('failed');
    const error = errorOf(r.events, 'time', 'n2-worker1');
    expect(error).toMatch(/n2-worker1's clock is 3\.0 hours behind this computer's/);
    expect(error).toMatch(/Fix: time sync must reach an NTP server/);
    expect(error).toMatch(/UDP port 123/);
    expect(logs(r.events, 'time', 'n2-worker1')).toMatch(/not synchronized yet/);
    expect(r.steps['configure/time@n2-master']!.status).toBe('done');
    expect(r.steps['configure/machine-id@n2-master']).toBeUndefined();
    expect(r.boards['n2-worker1']!.facts.pacmanKeys).toBeUndefined();
    const fixed = await run(dir, ['n2-worker1:none']);
    expect(fixed.outcome).toBe('done');
    expect(fixed.steps['configure/time@n2-worker1']!.outputs).toMatchObject({ synchronized: 'yes' });
  });

  it('a cloned machine-id is replaced; every board ends with its own', async () => {
    const dir = newStateDir();
    const r = await run(dir, ['n2-worker3:duplicate-machine-id']);
    expect(r.outcome).toBe('done');
    const ids = NODES.map((n) => String(r.boards[n]!.facts.machineId));
    expect(new Set(ids).size).toBe(NODES.length);
    expect(logs(r.events, 'machine-id', 'n2-worker3')).toMatch(/same machine-id as n2-master .*: the card was cloned: making a new one/);
    expect(r.steps['configure/machine-id@n2-worker3']!.outputs).toMatchObject({ regenerated: true });
    expect(r.steps['configure/machine-id@n2-master']!.outputs).toMatchObject({ regenerated: false, machineId: ids[0] });
  });

  it('a card too small fails the resources step in a second, before any download', async () => {
    const dir = newStateDir();
    const first = openSession({ cluster, stateDir: dir, lab: true, log: false });
    await first.close();
    patchLab(dir, (boards) => {
      boards['n2-worker4']!.facts.diskFreeMiB = 2100;
    });
    const r = await run(dir);
    expect(r.outcome).toBe('failed');
    expect(errorOf(r.events, 'resources', 'n2-worker4')).toMatch(/n2-worker4 has 2\.1 GiB free on \/, it needs at least 4\.0 GiB.*Fix: flash a bigger card/);
    expect(r.boards['n2-worker4']!.facts.upgradeDownloaded).toBeUndefined();
  });

  it('a board answering with another host key is refused on the next run', async () => {
    const dir = newStateDir();
    expect((await run(dir)).outcome).toBe('done');
    const r = await run(dir, ['n2-worker1:changed-host-key']);
    expect(r.outcome).toBe('failed');
    expect(errorOf(r.events, 'connect', 'n2-worker1')).toMatch(/host key of n2-worker1 .* has changed/);
  });
});

describe('the practice lab is as strict as a board whose login is an ordinary user with sudo', () => {
  async function labHost(stateDir: string) {
    const s = openSession({ cluster, stateDir, lab: true, log: false });
    return { s, host: s.ports.host(cluster.nodes[1]!) };
  }

  it('every command of the configure plan that needs root is sent with sudo (the lab\'s rules decide, not the flow)', async () => {
    const s = openSession({ cluster, stateDir: newStateDir(), lab: true, log: false });
    try {
      const actions = await s.engine.plan(['configure']);
      const missing = actions.filter((a) => (a.type === 'command' || a.type === 'file') && !a.sudo && (a.type === 'file' ? ROOT_ONLY_DIRS.test(a.path ?? '') : needsRoot(a.content ?? '', simulatorFor(a.content ?? ''))));
      expect(missing.map((a) => `${a.step}@${a.node}: ${a.description}`)).toEqual([]);
      // The rules are not vacuous: most of the plan needs root.
      expect(actions.filter((a) => a.sudo).length).toBeGreaterThan(50);
    } finally {
      await s.close();
    }
  });

  it('without sudo: root\'s commands fail, writes under /etc are refused, nothing changes', async () => {
    const { s, host } = await labHost(newStateDir());
    try {
      const before = (await host.readFile('/etc/hostname')).toString();
      const r = await host.exec(setHostnameScript('someone-else'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Permission denied: this needs root .*send it with sudo/);
      expect((await host.readFile('/etc/hostname')).toString()).toBe(before);
      await expect(host.writeFile(SYSCTL_PATH, SYSCTL_CONF, { mode: 0o644 })).rejects.toThrow(/cannot write \/etc\/sysctl\.d\/k8s\.conf: Permission denied/);
      expect((await host.exec(TIME_SYNC_SCRIPT)).code).toBe(1);
      expect((await host.exec(PACMAN_KEYS_PROBE)).code).toBe(1);
      // With sudo the same script works.
      expect((await host.exec(setHostnameScript('someone-else'), { sudo: true })).code).toBe(0);
      expect((await host.readFile('/etc/hostname')).toString()).toBe('someone-else\n');
    } finally {
      await s.close();
    }
  });

  it('files keep their mode and owner: a probe reads them, a root-only file cannot be read back without sudo', async () => {
    const { s, host } = await labHost(newStateDir());
    try {
      await host.writeFile(SYSCTL_PATH, SYSCTL_CONF, { mode: 0o644, sudo: true });
      expect((await host.exec(`stat -c '%a %U' ${SYSCTL_PATH}`)).stdout).toBe('644 root\n');
      expect((await host.readFile(SYSCTL_PATH)).toString()).toBe(SYSCTL_CONF);
      await host.writeFile(SYSCTL_PATH, SYSCTL_CONF, { mode: 0o600, sudo: true });
      expect((await host.exec(`stat -c '%a %U' ${SYSCTL_PATH}`)).stdout).toBe('600 root\n');
      await expect(host.readFile(SYSCTL_PATH)).rejects.toThrow(/Permission denied/);
    } finally {
      await s.close();
    }
  });

  it('a command slower than its timeout times out as over SSH (HostError "timeout")', async () => {
    // The time sync waits 30 s on a board that reaches no NTP server (the clock-skew fault).
    const node = cluster.nodes[1]!;
    const s = openSession({ cluster, stateDir: newStateDir(), lab: true, labFaults: [`${node.name}:clock-skew`], log: false });
    try {
      const h = s.ports.host(node);
      const e = await h.exec(TIME_SYNC_SCRIPT, { sudo: true, timeoutMs: 5000 }).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(HostError);
      expect((e as HostError).kind).toBe('timeout');
      expect((await h.exec(TIME_SYNC_SCRIPT, { sudo: true, timeoutMs: 60_000 })).stdout).toBe('synchronized=no\n');
    } finally {
      await s.close();
    }
  });
});
