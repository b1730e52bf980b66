// startup_first_frame_ms (`boardkube --lab`) and startup_first_frame_file_ms (`boardkube -f cluster.yaml`): time
// from spawning the built bundle in a pseudo-terminal (script(1)) until the text of the wizard's first frame appears
// on it. Medians of 10, each with an empty state directory. Without a bundle that starts, the bench fails.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeClusterFile } from '../../src/cluster/file.ts';
import { defaultCluster } from '../../src/cluster/spec.ts';
import { boardkubeCommand, shellQuote } from '../e2e/common.ts';
import { median, type Metric } from './stats.ts';

/** Text every first frame shows (the welcome screen's title). */
const FIRST_FRAME_TEXT = 'Welcome to boardkube';

function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\x1b[()][A-Z0-9]/g, '');
}

/** One start: ms until the first frame's text is on the pseudo-terminal. */
export function firstFrameMs(argv: string[], env: Record<string, string>, timeoutMs = 20_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const inner = `stty cols 100 rows 30 2>/dev/null; exec ${argv.map(shellQuote).join(' ')}`;
    const t0 = performance.now();
    const child = spawn('script', ['-qfec', inner, '/dev/null'], { env: { ...process.env, TERM: 'xterm-256color', ...env }, stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    let seen = '';
    let done = false;
    const finish = (err: Error | null, ms?: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      if (err) reject(err);
      else resolve(ms!);
    };
    const timer = setTimeout(() => finish(new Error(`no first frame within ${timeoutMs} ms; the terminal showed:\n${stripAnsi(seen).slice(-2000)}`)), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (stripAnsi(seen).includes(FIRST_FRAME_TEXT)) finish(null, performance.now() - t0);
    });
    child.on('error', (e) => finish(e));
    child.on('exit', (code) => finish(new Error(`boardkube exited (${code}) before its first frame:\n${stripAnsi(seen).slice(-2000)}`)));
  });
}

/** Median of `runs` starts of `args` (one more first, not counted, to warm the file cache), each with an empty state folder. */
async function startups(args: string[], runs: number, setup: (dir: string) => string[] = () => []): Promise<number[]> {
  // The built bundle as it ships; boardkubeCommand() fails when it does not build or start (no timing of the sources).
  const cmd = boardkubeCommand();
  const times: number[] = [];
  for (let i = -1; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'bk-bench-start-'));
    try {
      const ms = await firstFrameMs([...cmd, ...args, ...setup(dir)], { BOARDKUBE_STATE_DIR: join(dir, 'state') });
      if (i >= 0) times.push(ms);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return times;
}

export async function benchStartup(runs = 10): Promise<Metric[]> {
  const lab = await startups(['--lab'], runs);
  const file = await startups([], runs, (dir) => {
    const path = join(dir, 'cluster.yaml');
    writeClusterFile(path, defaultCluster());
    return ['-f', path];
  });
  const stats = (times: number[]) => ({ median: median(times), min: Math.round(Math.min(...times)), max: Math.round(Math.max(...times)) });
  return [
    { metric: 'startup_first_frame_ms', ...stats(lab), unit: 'ms', runs, command: 'node bin/boardkube.js --lab' },
    { metric: 'startup_first_frame_file_ms', ...stats(file), unit: 'ms', runs, command: 'node bin/boardkube.js -f cluster.yaml' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const m of await benchStartup()) process.stdout.write(`${JSON.stringify(m)}\n`);
}
