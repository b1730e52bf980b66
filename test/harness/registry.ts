// The real container registry (distribution v3, what the registry:3 image runs) and crane, built from the Go
// module proxy by test/testbin/registry.sh, and a way to run the registry the way the stage's pod runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'testbin', 'registry.sh');

let built: Promise<string> | undefined;

/** Folder with `registry` and `crane`; builds them on first use (about 80 s cold). */
export function registryBinDir(): Promise<string> {
  built ??= new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else reject(new Error(`test/testbin/registry.sh failed (exit ${code}); run it to see why`));
    });
  });
  return built;
}

export interface RunningRegistry {
  hostPort: string;
  log: () => string;
  stop(): Promise<void>;
}

/** The configuration file the official registry:3 image ships; the stage's pod changes the rest through REGISTRY_* variables, and so does this. */
const IMAGE_DEFAULT_CONFIG = path.join(path.dirname(SCRIPT), 'registry-config.yml');

export async function startRegistry(o: { binDir: string; dir: string; env: Record<string, string> }): Promise<RunningRegistry> {
  const port = await new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
  const config = path.join(o.dir, 'config.yml');
  fs.copyFileSync(IMAGE_DEFAULT_CONFIG, config);
  const logFile = path.join(o.dir, 'registry.log');
  const out = fs.openSync(logFile, 'a');
  // The only difference from the pod: a free loopback port instead of :5000 in a pod of its own.
  const child: ChildProcess = spawn(path.join(o.binDir, 'registry'), ['serve', config], { env: { PATH: process.env.PATH, ...o.env, REGISTRY_HTTP_ADDR: `127.0.0.1:${port}` }, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the registry did not start: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    hostPort: `127.0.0.1:${port}`,
    log: () => fs.readFileSync(logFile, 'utf8'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
