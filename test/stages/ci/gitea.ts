// A REAL Gitea for the forge automation tests (built by test/testbin/gitea.sh), configured from the stage's own
// Forgejo settings (forgejoEnv: FORGEJO__SECTION__KEY becomes [section] KEY in app.ini). Forgejo is a Gitea fork
// that keeps its API (/api/v1), its CLI (`admin user create|change-password|list`) and its app.ini; it cannot be
// built here (the Go module proxy does not serve it), so Gitea stands in for it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../harness/controlplane.ts';

const execFileP = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface Gitea {
  url: string;
  dir: string;
  /** A PATH holding `forgejo` (a link to gitea): the stage's scripts call the forge's binary by that name. */
  binPath: string;
  /** The environment the forge's CLI needs to find app.ini and the data (as GITEA_WORK_DIR/GITEA_CUSTOM do in the image). */
  cliEnv: Record<string, string>;
  log: string;
  stop(): Promise<void>;
}

export async function giteaDir(): Promise<string> {
  const r = await execFileP('bash', [path.resolve(HERE, '../../testbin/gitea.sh')], { maxBuffer: 64 * 1024 * 1024, timeout: 3_600_000 });
  return r.stdout.trim().split('\n').pop()!;
}

/** app.ini from FORGEJO__SECTION__KEY settings (plus what a test machine needs). */
export function appIni(settings: Record<string, string>, extra: Record<string, Record<string, string>>): string {
  const sections: Record<string, Record<string, string>> = {};
  for (const [k, v] of Object.entries(settings)) {
    const m = /^FORGEJO__([^_]+(?:_[^_]+)*)__(.+)$/.exec(k);
    if (!m) throw new Error(`not a FORGEJO__SECTION__KEY setting: ${k}`);
    (sections[m[1]!.toLowerCase()] ??= {})[m[2]!] = v;
  }
  for (const [sec, kv] of Object.entries(extra)) Object.assign((sections[sec] ??= {}), kv);
  const top = sections[''] ?? {};
  delete sections[''];
  const lines = Object.entries(top).map(([k, v]) => `${k} = ${v}`);
  for (const [sec, kv] of Object.entries(sections)) lines.push('', `[${sec}]`, ...Object.entries(kv).map(([k, v]) => `${k} = ${v}`));
  return `${lines.join('\n')}\n`;
}

export async function startGitea(settings: (port: number) => Record<string, string>): Promise<Gitea> {
  const bin = await giteaDir();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-ci-gitea-'));
  const work = path.join(dir, 'work');
  fs.mkdirSync(path.join(work, 'custom', 'conf'), { recursive: true });
  // Without the bindata tag Gitea reads its locales and web pages from WORK/options and WORK/templates.
  fs.symlinkSync(path.join(bin, 'options'), path.join(work, 'options'));
  fs.symlinkSync(path.join(bin, 'templates'), path.join(work, 'templates'));
  const binPath = path.join(dir, 'bin');
  fs.mkdirSync(binPath);
  fs.symlinkSync(path.join(bin, 'gitea'), path.join(binPath, 'forgejo'));
  const user = os.userInfo().username;
  const ini = appIni(settings(port), {
    // Gitea refuses root unless told; the Forgejo image runs it as user git.
    '': { RUN_USER: user, WORK_PATH: work, ...(process.getuid?.() === 0 ? { I_AM_BEING_UNSAFE_RUNNING_AS_ROOT: 'true' } : {}) },
    server: { HTTP_ADDR: '127.0.0.1', HTTP_PORT: String(port), APP_DATA_PATH: path.join(work, 'data'), OFFLINE_MODE: 'true' },
    database: { PATH: path.join(work, 'data', 'gitea.db') },
    repository: { ROOT: path.join(work, 'repos') },
    log: { ROOT_PATH: path.join(work, 'log'), MODE: 'file', LEVEL: 'Info' },
    security: { SECRET_KEY: 'test-secret-key-not-used-elsewhere' },
    oauth2: { JWT_SECRET: 'dGVzdC1qd3Qtc2VjcmV0LW9mLTQzLWJ5dGVzLWxvbmctaGVyZS0x' },
    mailer: { ENABLED: 'false' },
  });
  const conf = path.join(work, 'custom', 'conf', 'app.ini');
  fs.writeFileSync(conf, ini);
  const cliEnv = { GITEA_WORK_DIR: work, GITEA_CUSTOM: path.join(work, 'custom'), HOME: dir, USER: user };
  const env = { ...process.env, ...cliEnv };
  await execFileP(path.join(bin, 'gitea'), ['migrate'], { cwd: work, env, timeout: 300_000 });
  const log = path.join(dir, 'gitea.out');
  const out = fs.openSync(log, 'a');
  const child: ChildProcess = spawn(path.join(bin, 'gitea'), ['web'], { cwd: work, env, stdio: ['ignore', out, out] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gitea web exited (${child.exitCode}): ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
    try {
      const r = await fetch(`${url}/api/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`gitea did not answer on ${url}: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    url,
    dir,
    binPath,
    cliEnv,
    log,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      fs.closeSync(out);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
