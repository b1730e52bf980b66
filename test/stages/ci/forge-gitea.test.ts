// The stage's forge automation against a REAL Gitea (test/testbin/gitea.sh; Gitea stands in for Forgejo, which
// keeps Gitea's API and CLI but cannot be built here). What differs for Forgejo: its binary is `forgejo` (linked
// here), its settings prefix is FORGEJO__ (written to app.ini here, as the image's entrypoint does), and its
// /api/v1/version says e.g. "16.0.0+gitea-1.22.0". The admin script, the API calls and the git push are the ones the
// stage runs; the admin password and the OAuth secret are checked to stay out of every command line and output.
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminScript, checkLogin, ensureOAuthApp, ensureRepo, ensureWebhook, forgeApi, ForgeError, pushFiles, type ForgeLogin } from '../../../flows/ci/forge.ts';
import { forgejoEnv } from '../../../flows/ci/manifests.ts';
import { sampleFiles } from '../../../flows/ci/pipeline.ts';
import { freePort } from '../../harness/controlplane.ts';
import { startGitea, type Gitea } from './gitea.ts';
import { testSetup } from './setup.ts';

const execFileP = promisify(execFile);
const PASSWORD = 'KNOWN-admin-Passw0rd-for-the-test';
let gitea: Gitea;
let login: ForgeLogin;

beforeAll(async () => {
  gitea = await startGitea((port) => forgejoEnv(testSetup({ forgeUrl: `http://127.0.0.1:${port}` })));
  login = { url: gitea.url, user: 'boardkube', password: PASSWORD };
}, 3_600_000);

afterAll(async () => {
  await gitea?.stop();
}, 30_000);

/** The forge records a push's branch after the push returns (its post-receive queue): wait for it. */
async function branchAt(commit: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  let id = '';
  while (Date.now() < deadline) {
    id = ((await forgeApi(login, 'GET', '/repos/boardkube/app/branches/main').catch(() => null)) as { commit?: { id: string } } | null)?.commit?.id ?? '';
    if (id === commit) return id;
    await new Promise((r) => setTimeout(r, 250));
  }
  return id;
}

async function runAdminScript(password: string): Promise<{ stdout: string; stderr: string }> {
  return execFileP('sh', ['-c', adminScript()], {
    env: { ...process.env, ...gitea.cliEnv, PATH: `${gitea.binPath}:${process.env.PATH}`, ADMIN_USER: 'boardkube', ADMIN_PASSWORD: password },
    timeout: 120_000,
  });
}

describe('the forge admin', () => {
  it("is created by the admin Job's script with the password from the environment, and logs in as an admin", async () => {
    const r = await runAdminScript(PASSWORD);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    const me = await checkLogin(login);
    expect(me).toMatchObject({ user: 'boardkube', admin: true });
    expect(me.version).toMatch(/^1\.26\./);
  }, 180_000);

  it('a second run sets the password again (the file the user keeps is the truth) instead of failing on "user exists"', async () => {
    await runAdminScript(`${PASSWORD}-2`);
    await expect(checkLogin(login)).rejects.toMatchObject({ status: 401 });
    await runAdminScript(PASSWORD);
    await expect(checkLogin(login)).resolves.toMatchObject({ admin: true });
  }, 180_000);

  it('a wrong password is a clear 401 with a fix; an unreachable forge says so', async () => {
    const err = await checkLogin({ ...login, password: 'wrong-password-here' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect((err as ForgeError).status).toBe(401);
    expect((err as ForgeError).message).toContain('refused the login of boardkube');
    expect((err as ForgeError).message).not.toContain('wrong-password-here');
    const port = await freePort();
    const gone = await checkLogin({ ...login, url: `http://127.0.0.1:${port}` }).catch((e: unknown) => e);
    expect((gone as ForgeError).status).toBe(0);
    expect((gone as ForgeError).message).toContain('cannot be reached');
  });
});

describe('the OAuth2 application Woodpecker logs in with', () => {
  it('is created confidential with the CI redirect, and replaced (one of its name) on a second run', async () => {
    const redirect = 'http://192.168.1.40:30800/authorize';
    const first = await ensureOAuthApp(login, 'woodpecker', redirect);
    expect(first.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.clientSecret.length).toBeGreaterThanOrEqual(32);
    const second = await ensureOAuthApp(login, 'woodpecker', redirect);
    expect(second.clientId).not.toBe(first.clientId);
    const apps = (await forgeApi(login, 'GET', '/user/applications/oauth2')) as Array<{ name: string; client_id: string; redirect_uris: string[]; confidential_client: boolean }>;
    expect(apps.filter((a) => a.name === 'woodpecker')).toEqual([expect.objectContaining({ client_id: second.clientId, redirect_uris: [redirect], confidential_client: true })]);
    // The forge shows a secret once, at creation: the listing never holds it.
    expect(JSON.stringify(apps)).not.toContain(second.clientSecret);
  });
});

describe('the sample repository', () => {
  it('is created, gets the sample over git (password through askpass, not the URL), and its push webhook fires', async () => {
    const received: Array<{ event: string; body: { after?: string; ref?: string } }> = [];
    const hookServer = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        received.push({ event: String(req.headers['x-gitea-event'] ?? ''), body: JSON.parse(data || '{}') as { after?: string } });
        res.end('ok');
      });
    });
    const hookPort = await freePort();
    await new Promise<void>((r) => hookServer.listen(hookPort, '127.0.0.1', r));
    try {
      const repo = await ensureRepo(login, 'app', 'main');
      expect(repo.created).toBe(true);
      expect(repo.cloneUrl).toBe(`${gitea.url}/boardkube/app.git`);
      expect(repo.cloneUrl).not.toContain(PASSWORD);
      expect((await ensureRepo(login, 'app', 'main')).created).toBe(false);
      const hookUrl = `http://127.0.0.1:${hookPort}/api/hook`;
      const hook = await ensureWebhook(login, 'app', hookUrl);
      expect(hook.created).toBe(true);
      expect(await ensureWebhook(login, 'app', hookUrl)).toEqual({ id: hook.id, created: false });

      const files = sampleFiles({ registry: '192.168.1.40:30500', app: 'app', branch: 'main', targetNamespace: 'boardkube-app', deployAccount: 'deployer', builderImage: 'b', kubectlImage: 'k', baseImage: 'busybox' });
      const { commit } = await pushFiles(login, repo.cloneUrl, 'main', files, 'boardkube: the sample app');
      await branchAt(commit);
      // The file as the forge serves it raw (as Woodpecker fetches the pipeline).
      const raw = await fetch(`${gitea.url}/api/v1/repos/boardkube/app/raw/.woodpecker.yaml?ref=main`, { headers: { authorization: `Basic ${Buffer.from(`boardkube:${PASSWORD}`).toString('base64')}` } });
      expect(raw.status).toBe(200);
      expect(await raw.text()).toBe(files['.woodpecker.yaml']);
      // A second push (a later run) adds a commit on top instead of rewriting history.
      const again = await pushFiles(login, repo.cloneUrl, 'main', { ...files, 'index.html': '<p>v2</p>\n' }, 'boardkube: v2');
      expect(await branchAt(again.commit)).toBe(again.commit);
      const log = (await forgeApi(login, 'GET', '/repos/boardkube/app/commits?sha=main')) as Array<{ sha: string }>;
      expect(log.map((c) => c.sha)).toEqual([again.commit, commit]);

      const deadline = Date.now() + 60_000;
      while (!received.some((r) => r.body.after === again.commit) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(received.map((r) => r.event)).toContain('push');
      expect(received.find((r) => r.body.after === again.commit)?.body.ref).toBe('refs/heads/main');
    } finally {
      hookServer.close();
    }
  }, 180_000);
});
