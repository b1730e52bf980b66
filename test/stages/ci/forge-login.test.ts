// The ci stage against a REAL Gitea (Forgejo's API and web UI; Forgejo itself cannot be built here): the CI's
// login through the forge's OAuth application as the real adapter does it (the forge's login form, its
// "authorize" form, the redirect back with a code the CI exchanges for a token), and the oauth-app step with an
// EXISTING forge: a login that does not work and a forge that cannot be reached are bad input (exit 2) naming the
// option to fix, nothing created. Woodpecker's own half (code -> session -> token) needs Woodpecker: the lab.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminScript, ensureOAuthApp, listOAuthApps, branchHead, type ForgeLogin } from '../../../flows/ci/forge.ts';
import { forgejoEnv } from '../../../flows/ci/manifests.ts';
import { oauthAppStep } from '../../../flows/ci/oauth-app.ts';
import { parseCiOptions } from '../../../flows/ci/options.ts';
import { CookieJar, oauthLogin } from '../../../src/adapters/ci/web.ts';
import { RealCi } from '../../../src/adapters/ci/index.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { findRelease } from '../../../src/catalog/versions.ts';
import { MemorySecrets } from '../../../src/engine/secrets.ts';
import { InputError, type Ports, type StepContext } from '../../../src/engine/types.ts';
import { freePort } from '../../harness/controlplane.ts';
import { startGitea, type Gitea } from './gitea.ts';
import { testSetup } from './setup.ts';

const execFileP = promisify(execFile);
const PASSWORD = 'KNOWN-forge-login-Passw0rd';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-ci-forge-login-'));
let gitea: Gitea;
let login: ForgeLogin;

beforeAll(async () => {
  gitea = await startGitea((port) => forgejoEnv(testSetup({ forgeUrl: `http://127.0.0.1:${port}` })));
  login = { url: gitea.url, user: 'boardkube', password: PASSWORD };
  await execFileP('sh', ['-c', adminScript()], { env: { ...process.env, ...gitea.cliEnv, PATH: `${gitea.binPath}:${process.env.PATH}`, ADMIN_USER: 'boardkube', ADMIN_PASSWORD: PASSWORD }, timeout: 120_000 });
}, 3_600_000);

afterAll(async () => {
  await gitea?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}, 30_000);

describe("the CI's login through the forge's OAuth application", () => {
  it('logs in on the forge, grants the application, and comes back to the CI with a code the forge accepts', async () => {
    // Stands in for Woodpecker's /authorize: sends the browser to the forge, takes the code it comes back with.
    const back: Array<{ code: string | null; state: string | null }> = [];
    const port = await freePort();
    const ciUrl = `http://127.0.0.1:${port}`;
    const app = await ensureOAuthApp(login, 'woodpecker', `${ciUrl}/authorize`);
    const ci = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', ciUrl);
      if (u.searchParams.has('code')) {
        back.push({ code: u.searchParams.get('code'), state: u.searchParams.get('state') });
        res.end('logged in');
        return;
      }
      const to = new URL(`${gitea.url}/login/oauth/authorize`);
      for (const [k, v] of Object.entries({ client_id: app.clientId, redirect_uri: `${ciUrl}/authorize`, response_type: 'code', state: 'state-42' })) to.searchParams.set(k, v);
      res.writeHead(303, { location: to.toString() }).end();
    });
    await new Promise<void>((r) => ci.listen(port, '127.0.0.1', r));
    try {
      const end = await oauthLogin(new CookieJar(), login, `${ciUrl}/authorize`);
      expect(end.url.startsWith(`${ciUrl}/authorize?`), end.url).toBe(true);
      expect(end.body).toBe('logged in');
      expect(back).toHaveLength(1);
      expect(back[0]!.state).toBe('state-42');
      // The CI's next move, as Woodpecker makes it: the code and the app's secret for a token.
      const token = await fetch(`${gitea.url}/login/oauth/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ grant_type: 'authorization_code', code: back[0]!.code, client_id: app.clientId, client_secret: app.clientSecret, redirect_uri: `${ciUrl}/authorize` }),
      });
      expect(token.status).toBe(200);
      expect(((await token.json()) as { access_token?: string }).access_token).toMatch(/.{20,}/);
      // A second login: the grant is remembered, the forge sends the browser straight back.
      await oauthLogin(new CookieJar(), login, `${ciUrl}/authorize`);
      expect(back).toHaveLength(2);
    } finally {
      ci.close();
    }
  }, 120_000);

  it('a wrong password is refused at the forge\'s login form, with the fix', async () => {
    const err = await oauthLogin(new CookieJar(), { ...login, password: 'not-the-password' }, `${gitea.url}/`).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/refused the web login of boardkube \(fix: check the admin password file\)/);
    expect((err as Error).message).not.toContain('not-the-password');
  }, 60_000);
});

function ctxFor(set: Record<string, string>): StepContext {
  const cluster = defaultCluster('/nonexistent');
  const ports = { mode: 'real', ci: async () => new RealCi(), local: { stateDir: () => tmp } } as unknown as Ports;
  return {
    cluster,
    release: findRelease('1.37')!,
    node: null,
    ports,
    signal: AbortSignal.timeout(60_000),
    log: () => undefined,
    progress: () => undefined,
    outputOf: () => undefined,
    options: { ...parseCiOptions(set, cluster, { stateDir: tmp }) },
    secrets: new MemorySecrets(),
  } as unknown as StepContext;
}

describe('the oauth-app step with an existing forge', () => {
  const pwFile = (name: string, pw: string) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, `${pw}\n`, { mode: 0o600 });
    return f;
  };

  it('logs in with the password from your file and makes the application (its secret in memory only)', async () => {
    const ctx = ctxFor({ 'forge-url': gitea.url, 'admin-password-file': pwFile('good.pw', PASSWORD) });
    ctx.secrets.set('ci-forge-admin-password', PASSWORD);
    const out = (await oauthAppStep.run!(ctx, [])) as { clientId: string; forge: string };
    expect(out.forge).toBe(gitea.url);
    expect((await listOAuthApps(login)).map((a) => a.clientId)).toContain(out.clientId);
    expect(JSON.stringify(out)).not.toContain(ctx.secrets.get('ci-oauth-secret')!);
    expect(await branchHead(login, 'no-such-repo', 'main')).toBeNull();
  }, 60_000);

  it('credentials that do not work are bad input naming the password file, and nothing is made', async () => {
    const before = await listOAuthApps(login);
    const ctx = ctxFor({ 'forge-url': gitea.url, 'admin-password-file': pwFile('bad.pw', 'wrong-password-1') });
    ctx.secrets.set('ci-forge-admin-password', 'wrong-password-1');
    const err = await oauthAppStep.run!(ctx, []).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).field).toBe('admin-password-file');
    expect((err as Error).message).toMatch(new RegExp(`the forge at ${gitea.url.replace(/[.:/]/g, '\\$&')} refused the login of boardkube \\(fix: put boardkube's password in .*bad\\.pw`));
    expect((err as Error).message).not.toContain('wrong-password-1');
    expect(await listOAuthApps(login)).toEqual(before);
  }, 60_000);

  it('a forge that cannot be reached is bad input naming forge-url', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const ctx = ctxFor({ 'forge-url': url, 'admin-password-file': pwFile('any.pw', PASSWORD) });
    ctx.secrets.set('ci-forge-admin-password', PASSWORD);
    const err = await oauthAppStep.run!(ctx, []).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).field).toBe('forge-url');
    expect((err as Error).message).toMatch(/forge-url: the forge at http:\/\/127\.0\.0\.1:\d+ cannot be reached .*ECONNREFUSED.*\(fix: check the address/);
  }, 60_000);
});
