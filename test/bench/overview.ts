// status_all_ms: the trainer's overview (`boardkube status --all`, the built command) over a room of ten saved
// practice-lab tables, two of them still being applied by other processes. Median of 7.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, type Metric } from './stats.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'boardkube.js');

export async function benchOverview(runs = 7): Promise<Metric[]> {
  if (!existsSync(BIN)) throw new Error('bin/boardkube.js is missing: the bench measures the built command (npm run build)');
  const dir = mkdtempSync(join(tmpdir(), 'bk-bench-overview-'));
  const env = { ...process.env, BOARDKUBE_STATE_DIR: join(dir, 'state'), BOARDKUBE_LAB_SPEED: '0' };
  const bk = (args: string[], extra: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...env, ...extra }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`boardkube ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  const running: ChildProcess[] = [];
  try {
    bk(['init', '-f', 'template.yaml']);
    bk(['workshop', '-f', 'template.yaml', '--tables', '10', '--out', 'room']);
    const tables = Array.from({ length: 10 }, (_, i) => join('room', `homelab-t${String(i + 1).padStart(2, '0')}.yaml`));
    for (const t of tables.slice(0, 8)) bk(['apply', '-f', t, '--lab', '--yes', '--stage', 'configure']);
    for (const t of tables.slice(8)) running.push(spawn(process.execPath, [BIN, 'apply', '-f', t, '--lab', '--yes', '--stage', 'configure'], { cwd: dir, env: { ...env, BOARDKUBE_LAB_SPEED: '1' }, stdio: 'ignore' }));
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      JSON.parse(bk(['status', '--all', '--json']));
      times.push(performance.now() - t0);
    }
    return [{ metric: 'status_all_ms', median: median(times), unit: 'ms', runs, clusters: 10, running: running.filter((p) => p.exitCode === null).length }];
  } finally {
    for (const p of running) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
