// While a practice-lab `boardkube apply` holds a cluster (the built command): status_during_run_ms, how long
// `status --json` takes to answer (it never takes the lock, never waits; median of 7), and refused_run_ms, how long
// a second `apply` on that cluster takes to be refused (exit 2, naming the first; median of 5), start-up included.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, type Metric } from './stats.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'boardkube.js');

export async function benchLocks(): Promise<Metric[]> {
  if (!existsSync(BIN)) throw new Error('bin/boardkube.js is missing: the bench measures the built command (npm run build)');
  const dir = mkdtempSync(join(tmpdir(), 'bk-bench-locks-'));
  const env = { ...process.env, BOARDKUBE_STATE_DIR: join(dir, 'state'), NO_COLOR: '1' };
  const bk = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env, encoding: 'utf8' });
  let run: ChildProcess | undefined;
  try {
    if (bk(['init', '-f', 'cluster.yaml']).status !== 0) throw new Error('boardkube init failed');
    // Realistic lab timings: the run lasts about two minutes, far longer than the measurements.
    run = spawn(process.execPath, [BIN, 'apply', '-f', 'cluster.yaml', '--lab', '--yes', '--stage', 'configure'], { cwd: dir, env: { ...env, BOARDKUBE_LAB_SPEED: '1' }, stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      run!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('== configure')) resolve();
      });
      run!.once('exit', (code) => reject(new Error(`the apply ended (${code}) before the measurements`)));
    });
    const status: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      const r = bk(['status', '-f', 'cluster.yaml', '--lab', '--json']);
      status.push(performance.now() - t0);
      if (r.status !== 0 || (JSON.parse(r.stdout) as { runningNow: { pid: number } | null }).runningNow?.pid !== run.pid) throw new Error(`status did not name the run: ${r.stderr}`);
    }
    const refused: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes', '--stage', 'configure']);
      refused.push(performance.now() - t0);
      if (r.status !== 2 || !r.stderr.includes(`PID ${run.pid} `)) throw new Error(`the second apply was not refused naming the first: ${r.stderr}`);
    }
    if (run.exitCode !== null) throw new Error('the apply ended during the measurements');
    return [
      { metric: 'status_during_run_ms', median: median(status), unit: 'ms', runs: status.length },
      { metric: 'refused_run_ms', median: median(refused), unit: 'ms', runs: refused.length },
    ];
  } finally {
    run?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
