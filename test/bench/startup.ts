// startup_first_frame_ms: time from spawning `boardkube --lab` in a pseudo-terminal (script(1)) until the
// text of the wizard's first frame appears on it. Median of 10, each with an empty state directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

export async function benchStartup(runs = 10): Promise<Metric[]> {
  const argv = [...boardkubeCommand(), '--lab'];
  const times: number[] = [];
  // One start to warm the file cache; not counted.
  const warmDir = mkdtempSync(join(tmpdir(), 'bk-bench-start-'));
  try {
    await firstFrameMs(argv, { BOARDKUBE_STATE_DIR: warmDir });
  } finally {
    rmSync(warmDir, { recursive: true, force: true });
  }
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'bk-bench-start-'));
    try {
      times.push(await firstFrameMs(argv, { BOARDKUBE_STATE_DIR: dir }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const bundled = argv.some((a) => a.endsWith('bin/boardkube.js'));
  return [{ metric: 'startup_first_frame_ms', median: median(times), unit: 'ms', runs, command: bundled ? 'node bin/boardkube.js --lab' : 'node --import tsx src/cli/bin.ts --lab (bundle missing or broken)', min: Math.round(Math.min(...times)), max: Math.round(Math.max(...times)) }];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const m of await benchStartup()) process.stdout.write(`${JSON.stringify(m)}\n`);
}
