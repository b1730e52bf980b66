// After one full practice-lab run of every available stage in the wizard (wizard-child.tsx, a fresh process):
// - state_file_kb: the size of the progress file (aim: under 1 MB; the lab's world is kept in its own folder,
//   written only when it changed, and reported beside it as lab_files_kb);
// - wizard_rss_mb: the wizard process's resident memory at the end (aim: under 200 MB).
// One run each (a full run takes minutes on a shared machine); the run is from the sources through tsx.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Metric } from './stats.ts';

export async function benchWizard(): Promise<Metric[]> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bk-bench-wizard-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(stateDir, 'lab_ed25519')]);
    const child = resolve(import.meta.dirname, 'wizard-child.tsx');
    const r = spawnSync(process.execPath, ['--import', 'tsx', child, stateDir], { encoding: 'utf8', timeout: 1_800_000, env: { ...process.env, BOARDKUBE_LAB_SPEED: '0' } });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`the wizard run failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
    const m = JSON.parse(line) as { rss: number; state: number; lab: number; ran: string[] };
    if (m.ran.some((s) => !s.endsWith(':done'))) throw new Error(`not every stage finished: ${m.ran.join(', ')}`);
    const stages = m.ran.map((s) => s.split(':')[0]).join(',');
    return [
      { metric: 'state_file_kb', median: Math.round(m.state / 102.4) / 10, unit: 'KiB', runs: 1, stages, lab_files_kb: Math.round(m.lab / 102.4) / 10, aim: '< 1024' },
      { metric: 'wizard_rss_mb', median: Math.round(m.rss / 104857.6) / 10, unit: 'MiB', runs: 1, stages, process: 'node --import tsx (sources), screens rendered by ink-testing-library', aim: '< 200' },
    ];
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

// `node --import tsx test/bench/wizard.ts`: this bench alone.
if (process.argv[1] === import.meta.filename) for (const m of await benchWizard()) process.stdout.write(`${JSON.stringify(m)}\n`);
