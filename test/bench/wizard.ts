// After one full practice-lab run of every available stage in the wizard a user runs (the built bin/boardkube.js,
// built first when missing or older than the sources, in a real terminal: tmux), driven by keys as a trainer
// clicks through it:
// - state_file_kb: the size of the progress file (aim: under 1 MB; the lab's world is kept in its own folder,
//   written only when it changed, and reported beside it as lab_files_kb);
// - wizard_rss_mb: the wizard process's resident memory at the end (VmRSS of the process on the terminal; aim:
//   under 200 MB).
// Medians of three runs, each in a fresh state folder (a run takes about 20 s at the lab's speed 0).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STAGE_IDS } from '../../src/engine/types.ts';
import { boardkubeCommand, Tmux, until } from '../e2e/common.ts';
import { median, type Metric } from './stats.ts';

/** The process's resident memory in bytes (/proc/PID/status VmRSS). */
function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** The sidebar's stage rows ("  flash            ✓ done"): the stages that can run, with their word. */
function sidebarStages(screen: string): Array<{ id: string; word: string }> {
  const rows: Array<{ id: string; word: string }> = [];
  for (const line of screen.split('\n')) {
    const m = /^[ ›] ([a-z-]+) +(\S) ([a-z ]+?)\s*│/.exec(line);
    if (m && m[1] !== 'Inventory') rows.push({ id: m[1]!, word: m[3]! });
  }
  return rows;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keys one at a time, as a person types them (each gets its own redraw). */
async function keys(t: Tmux, ...names: string[]): Promise<void> {
  for (const k of names) {
    t.send(k);
    await pause(150);
  }
}

/**
 * In an open options list, the rows to take (by their place from the top), each added with Space. The list's
 * highlight becomes known by moving it: down and back up to the first row.
 */
async function chooseRows(t: Tmux, rows: number[]): Promise<void> {
  await keys(t, 'Down', 'Up');
  let at = 0;
  for (const r of rows) {
    await keys(t, ...Array<string>(r - at).fill('Down'), 'Space');
    at = r;
  }
}

async function fullLabRun(t: Tmux): Promise<{ ran: string[]; rss: number }> {
  await t.waitFor('Practice lab: simulated boards', 30_000);
  t.send('Enter');
  await t.waitFor('✓ looks right', 30_000);
  await t.pressUntil('Down', (s) => s.includes('› Continue'));
  t.send('Enter');
  await t.waitFor('flash: Flash the cards', 30_000);
  // The stages that can run: those with a status glyph in the sidebar (one not available yet has none).
  const stages = sidebarStages(t.capture());
  const ran: string[] = [];
  for (const { id } of stages) {
    // The digit keys choose a stage: 1 flash ... 9 ci, 0 readonly.
    // (pressed again while the screen still settles after the last run).
    const digit = String((STAGE_IDS.indexOf(id as (typeof STAGE_IDS)[number]) + 1) % 10);
    await t.pressUntil(digit, (screen) => new RegExp(`│ ${id}: `).test(screen), 50);
    if (id === 'flash') {
      // Every board's card at once: the boards in order, the readers that hold a card (not the mounted stick).
      await keys(t, 'o');
      await t.waitFor('n2-worker4  192.168.1.44');
      await chooseRows(t, [0, 1, 2, 3, 4]);
      await keys(t, 'Enter');
      await t.waitFor('/dev/sde');
      // sda, sdb, mmcblk0, then past the mounted stick (sdc, row 3) to sdd and sde.
      await chooseRows(t, [0, 1, 2, 4, 5]);
      await keys(t, 'Escape');
      await t.waitFor(/Options \(o\): node=n2-master,n2-worker1,n2-worker2,n2-worker3,n2-worker4 +device=\/dev\/sda,\/dev\/sdb,\/dev\/mmcblk0,\/dev\/sdd,\/dev\/sde/);
    }
    await t.waitFor('Enter runs this stage', 30_000);
    await keys(t, 'Enter');
    if (id === 'flash') {
      const screen = await t.waitFor(/Type its name \((.+?)\) to go on/);
      const name = /Type its name \((.+?)\) to go on/.exec(screen)![1]!;
      t.type(name);
      await t.waitFor(`> ${name}▌`);
      await t.pressUntil('Enter', (s) => !s.includes('Type its name'), 5);
    }
    // The stage's row in the sidebar says how it ended, once nothing runs any more.
    const word = await until(() => {
      const screen = t.capture();
      const w = sidebarStages(screen).find((x) => x.id === id)?.word.trim();
      return (w === 'done' || w === 'failed') && !/│ \S+ \d+\/\d+ +(running|re-checking|stopping)/.test(screen) ? w : undefined;
    }, `stage ${id} to end`, 1_200_000, 200);
    ran.push(`${id}:${word}`);
    if (word !== 'done') break;
  }
  const rss = rssBytes(t.pid());
  t.send('q');
  return { ran, rss };
}

/** One full run in a fresh state folder: the stages as they ended, the progress and lab sizes, the memory. */
async function oneRun(): Promise<{ ran: string[]; rss: number; state: number; lab: number }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bk-bench-wizard-'));
  const t = new Tmux();
  try {
    // In the state folder: what the wizard writes into the current folder goes with it.
    t.start([...boardkubeCommand(), '--lab'], { BOARDKUBE_STATE_DIR: stateDir, BOARDKUBE_LAB_SPEED: '0', NO_COLOR: '1' }, { columns: 200, rows: 50 }, stateDir);
    const { ran, rss } = await fullLabRun(t);
    if (ran.some((s) => !s.endsWith(':done'))) throw new Error(`not every stage finished: ${ran.join(', ')}; the screen:\n${t.capture()}`);
    const size = (p: string) => statSync(p).size;
    const labDir = join(stateDir, 'lab.lab');
    return { ran, rss, state: size(join(stateDir, 'lab.json')), lab: readdirSync(labDir).reduce((n, f) => n + size(join(labDir, f)), 0) };
  } finally {
    t.kill();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const RUNS = 3;

export async function benchWizard(): Promise<Metric[]> {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await oneRun());
  const stages = runs[0]!.ran.map((s) => s.split(':')[0]).join(',');
  const kib = (b: number) => Math.round(b / 102.4) / 10;
  const mib = (b: number) => Math.round(b / 104857.6) / 10;
  return [
    { metric: 'state_file_kb', median: median(runs.map((r) => kib(r.state))), unit: 'KiB', runs: RUNS, stages, lab_files_kb: median(runs.map((r) => kib(r.lab))), aim: '< 1024' },
    { metric: 'wizard_rss_mb', median: median(runs.map((r) => mib(r.rss))), unit: 'MiB', runs: RUNS, values: runs.map((r) => mib(r.rss)), stages, process: 'node bin/boardkube.js --lab (the built bundle) in tmux, driven by keys', aim: '< 200' },
  ];
}

// `node --import tsx test/bench/wizard.ts`: this bench alone.
if (process.argv[1] === import.meta.filename) for (const m of await benchWizard()) process.stdout.write(`${JSON.stringify(m)}\n`);
