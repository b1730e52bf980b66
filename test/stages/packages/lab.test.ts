// The packages stage in the practice lab (BOARDKUBE_LAB_SPEED=0), with the faults a trainer can switch on:
// a download cut off (the re-run continues it), a checksum mismatch (refused before any board is touched), a board
// out of space, a pacman database held by another pacman, a runtime that does not start, and source=arch on a
// repository two minors behind. The lab's boards are read back from the saved progress.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../../src/lab/index.ts';
import { openSession } from '../../../src/app/session.ts';
import { pauseImage } from '../../../src/catalog/packages.ts';
import { DEFAULT_RELEASE } from '../../../src/catalog/versions.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { StateStore } from '../../../src/engine/state.ts';
import type { EngineEvent, Json, StageId } from '../../../src/engine/types.ts';
import type { LabBoardData } from '../../../src/lab/board.ts';
import { IGNORE_MARKER } from '../../../flows/packages/scripts.ts';

process.env.BOARDKUBE_LAB_SPEED = '0';

const cluster = defaultCluster('/nonexistent');
const NODES = cluster.nodes.map((n) => n.name);
const PIN = DEFAULT_RELEASE.patch;
const NAMES = ['kubeadm', 'kubelet', 'kubectl', 'cri-tools', 'cri-o'];

const newStateDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'packages-lab-'));

async function run(stateDir: string, o: { faults?: string[]; stages?: StageId[]; options?: Record<string, unknown> } = {}) {
  const s = openSession({ cluster, stateDir, lab: true, labFaults: o.faults ?? [], log: false, options: { packages: o.options ?? {} } });
  const events: EngineEvent[] = [];
  s.engine.on((e) => events.push(e));
  try {
    const outcome = await s.engine.run(o.stages ?? ['configure', 'packages']);
    return { outcome, events, steps: s.store.steps(), boards: labBoards(s.store) };
  } finally {
    await s.close();
  }
}

function labBoards(store: StateStore): Record<string, LabBoardData> {
  return ((store.lab() as { boards: Record<string, LabBoardData> } | undefined)?.boards ?? {}) as Record<string, LabBoardData>;
}

function patchLab(stateDir: string, patch: (boards: Record<string, LabBoardData>) => void): void {
  const store = StateStore.open(stateDir, cluster.name, { mode: 'lab' });
  const lab = store.lab() as unknown as { boards: Record<string, LabBoardData> };
  patch(lab.boards);
  store.setLab(lab as unknown as Json);
}

const ends = (events: EngineEvent[]) => events.filter((e): e is Extract<EngineEvent, { type: 'step-end' }> => e.type === 'step-end');
const errors = (events: EngineEvent[]) => ends(events).map((e) => e.error).filter(Boolean).join('\n');
const logs = (events: EngineEvent[], step: string) => events.filter((e): e is Extract<EngineEvent, { type: 'log' }> => e.type === 'log' && e.step === step).map((e) => e.line).join('\n');
const installed = (b: LabBoardData) => (b.facts.pacmanPackages ?? {}) as Record<string, string>;

describe('packages in the practice lab', () => {
  it('installs and pins the packages on every board; a second run only verifies', async () => {
    const dir = newStateDir();
    const r = await run(dir);
    expect(r.outcome, errors(r.events)).toBe('done');
    for (const node of NODES) {
      const b = r.boards[node]!;
      for (const n of ['kubeadm', 'kubelet', 'kubectl']) expect(installed(b)[n]).toBe(`${PIN}-1`);
      expect(installed(b)['cri-o']).toMatch(new RegExp(`^${DEFAULT_RELEASE.minor.replace('.', '\\.')}\\.\\d+-1$`));
      expect(installed(b).iptables).toBeUndefined();
      expect(b.files['/etc/pacman.conf']).toContain(`[options]\n${IGNORE_MARKER}\nIgnorePkg = ${NAMES.join(' ')}\n`);
      expect(b.files['/etc/pacman.conf']).toContain('#IgnorePkg   =');
      expect(r.steps[`packages/prove@${node}`]!.outputs).toMatchObject({ kubeadm: `v${PIN}`, kubelet: `Kubernetes v${PIN}` });
    }
    // The download is checked, the signature honestly reported as not checked.
    expect(logs(r.events, 'download')).toMatch(/kubelet: sha256 [0-9a-f]{64} matches https:\/\/dl\.k8s\.io\/release\/v1\.37\.2\/bin\/linux\/arm64\/kubelet\.sha256/);
    expect(logs(r.events, 'download')).toMatch(/signatures NOT checked/);
    expect(logs(r.events, 'runtime')).toMatch(/kubelet is enabled: it restarts every 10 s until kubeadm init or join configures it/);
    expect(r.events.some((e) => e.type === 'progress' && e.step === 'download' && /MB of \d+ MB/.test(e.progress.message ?? ''))).toBe(true);

    const again = await run(dir, { stages: ['packages'] });
    expect(again.outcome).toBe('done');
    // Everything is probed, nothing run again (the repository step is skipped with source=upstream, as before).
    expect(ends(again.events).filter((e) => e.stage === 'packages').map((e) => `${e.step}:${e.status}`).filter((s) => !/:verified$|^repository:skipped$/.test(s))).toEqual([]);
    for (const node of NODES) expect(again.steps[`packages/install@${node}`]!.runs).toBe(1);
  });

  it('a download cut off fails with "run again"; the re-run continues it and finishes', async () => {
    const dir = newStateDir();
    const r = await run(dir, { faults: ['downloads:download-cut-off'] });
    expect(r.outcome).toBe('failed');
    expect(errors(r.events)).toMatch(/packages\/download: the download of https:\/\/dl\.k8s\.io\/.*kubeadm broke off.*\n\s+fix: run the same command again: it resumes/);
    for (const node of NODES) expect(installed(r.boards[node]!).kubeadm).toBeUndefined();
    const again = await run(dir, { stages: ['packages'] });
    expect(again.outcome, errors(again.events)).toBe('done');
    expect(logs(again.events, 'download')).toMatch(/kubeadm: continued at/);
  });

  it('a checksum mismatch is refused before any board is touched', async () => {
    const dir = newStateDir();
    const r = await run(dir, { faults: ['downloads:package-checksum-mismatch'] });
    expect(r.outcome).toBe('failed');
    expect(errors(r.events)).toMatch(/checksum mismatch: kubeadm has sha256 [0-9a-f]{64}, https:\/\/dl\.k8s\.io\/.*kubeadm\.sha256 says [0-9a-f]{64}\. The download was deleted and no board was touched/);
    for (const node of NODES) {
      expect(r.steps[`packages/upload@${node}`]).toBeUndefined();
      expect(Object.keys(r.boards[node]!.files).some((f) => f.startsWith('/var/cache/boardkube'))).toBe(false);
    }
  });

  it('a board without room is refused before anything is copied; after making room the run completes', async () => {
    const dir = newStateDir();
    const r = await run(dir, { faults: ['n2-worker2:disk-full'] });
    expect(r.outcome).toBe('failed');
    expect(errors(r.events)).toMatch(/upload on n2-worker2: prerequisites missing: room on n2-worker2 for the packages \(\d+ MiB under \/var\/cache, 300 MiB free\).*pacman -Scc/);
    for (const node of NODES) expect(installed(r.boards[node]!).kubelet).toBeUndefined();
    const again = await run(dir, { faults: ['n2-worker2:none'], stages: ['packages'] });
    expect(again.outcome, errors(again.events)).toBe('done');
  });

  it('a pacman database held by another pacman is named, with what to do', async () => {
    const dir = newStateDir();
    const r = await run(dir, { faults: ['n2-worker1:pacman-locked'] });
    expect(r.outcome).toBe('failed');
    expect(errors(r.events)).toMatch(/install on n2-worker1: .*unable to lock database[\s\S]*fix: another pacman is running on n2-worker1/);
  });

  it('a runtime that does not start shows its log lines', async () => {
    const dir = newStateDir();
    const r = await run(dir, { faults: ['n2-worker3:runtime-fails'] });
    expect(r.outcome).toBe('failed');
    expect(errors(r.events)).toMatch(/runtime on n2-worker3: [\s\S]*crio\.service did not start; its last log lines:[\s\S]*level=fatal/);
  });

  it('a board half-installed when the connection was cut is completed by the re-run', async () => {
    const dir = newStateDir();
    expect((await run(dir)).outcome).toBe('done');
    patchLab(dir, (boards) => {
      const b = boards['n2-worker4']!;
      delete installed(b).kubelet;
      delete installed(b)['cri-o'];
    });
    const again = await run(dir, { stages: ['packages'] });
    expect(again.outcome, errors(again.events)).toBe('done');
    expect(again.steps['packages/install@n2-worker4']!.runs).toBe(2);
    expect(again.steps['packages/install@n2-worker1']!.runs).toBe(1);
    expect(installed(again.boards['n2-worker4']!).kubelet).toBe(`${PIN}-1`);
  });

  it('source=arch is refused when the repository does not carry the minor, before anything is installed', async () => {
    const dir = newStateDir();
    const r = await run(dir, { options: { source: 'arch' } });
    expect(r.outcome).toBe('refused');
    expect(errors(r.events)).toMatch(/the repository does not carry Kubernetes 1\.37: kubeadm is 1\.33\.2-1, not 1\.37.*Nothing was installed \(fix: use source=upstream/);
    for (const node of NODES) expect(installed(r.boards[node]!).kubeadm).toBeUndefined();
  });

  it('source=installed proves what is on the boards and installs nothing: refused on bare boards, done once the tools are there', async () => {
    const bare = await run(newStateDir(), { options: { source: 'installed' } });
    expect(bare.outcome).toBe('failed');
    expect(errors(bare.events)).toMatch(/kubeadm version -o short says nothing, the pin is v/);
    expect(ends(bare.events).filter((e) => e.step === 'install').map((e) => e.status)).toEqual(NODES.map(() => 'skipped'));
    for (const node of NODES) expect(installed(bare.boards[node]!).kubeadm).toBeUndefined();

    const dir = newStateDir();
    expect((await run(dir)).outcome).toBe('done');
    const byHand = await run(dir, { options: { source: 'installed' }, stages: ['packages'] });
    expect(byHand.outcome, errors(byHand.events)).toBe('done');
  });

  it("writes the catalogue's pause image into the runtime's drop-in", async () => {
    const dir = newStateDir();
    const r = await run(dir);
    expect(r.outcome).toBe('done');
    const dropIn = fs.readFileSync(path.join(dir, 'lab-packages', cluster.name, 'build', `k8s-v${PIN}-cri-o`, 'cri-o', '20-boardkube.conf'), 'utf8');
    expect(dropIn).toContain(`pause_image = "${pauseImage(DEFAULT_RELEASE)}"`);
  });
});
