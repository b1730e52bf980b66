// Forge automation through the API Forgejo keeps from Gitea (/api/v1): the OAuth2 application Woodpecker logs in
// with, the sample repository, its push over git (HTTP), and a webhook. The admin's password travels only in
// the Authorization header and in git's askpass answer (an environment variable), never on a command line.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ForgeError, type ForgeLogin, type OAuthApp } from '../../src/ports/ci.ts';

const execFileP = promisify(execFile);

export { ForgeError, type ForgeLogin, type OAuthApp } from '../../src/ports/ci.ts';

/** One API call as the admin (basic auth). Returns the parsed JSON body (or null for 204). */
export async function forgeApi(login: ForgeLogin, method: string, apiPath: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
  const url = `${login.url.replace(/\/$/, '')}/api/v1${apiPath}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${login.user}:${login.password}`).toString('base64')}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ?? AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new ForgeError(0, `the forge at ${login.url} cannot be reached: ${(err as Error).cause ? String((err as Error & { cause: Error }).cause.message) : (err as Error).message}`, 'check the forge URL and that the forge is running');
  }
  const text = await res.text();
  if (res.status === 401) throw new ForgeError(401, `the forge at ${login.url} refused the login of ${login.user} (${method} ${apiPath}: 401)`, 'check the user and password');
  if (!res.ok) throw new ForgeError(res.status, `${method} ${apiPath} on ${login.url}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/** The forge's version, and that the login works (GET /user). */
export async function checkLogin(login: ForgeLogin, signal?: AbortSignal): Promise<{ version: string; user: string; admin: boolean }> {
  const v = (await forgeApi(login, 'GET', '/version', undefined, signal)) as { version?: string };
  const u = (await forgeApi(login, 'GET', '/user', undefined, signal)) as { login?: string; is_admin?: boolean };
  return { version: String(v.version ?? '?'), user: String(u.login ?? login.user), admin: u.is_admin === true };
}

/** The admin's OAuth2 applications (the forge lists no secrets). */
export async function listOAuthApps(login: ForgeLogin, signal?: AbortSignal): Promise<Array<{ id: number; name: string; clientId: string }>> {
  const apps = (await forgeApi(login, 'GET', '/user/applications/oauth2', undefined, signal)) as Array<{ id: number; name: string; client_id: string }>;
  return apps.map((a) => ({ id: a.id, name: a.name, clientId: a.client_id }));
}

/** The OAuth2 application Woodpecker logs in with; an old one of the same name is replaced (its secret is unknown). */
export async function ensureOAuthApp(login: ForgeLogin, name: string, redirectUri: string, signal?: AbortSignal): Promise<OAuthApp> {
  const apps = (await forgeApi(login, 'GET', '/user/applications/oauth2', undefined, signal)) as Array<{ id: number; name: string }>;
  for (const a of apps.filter((x) => x.name === name)) await forgeApi(login, 'DELETE', `/user/applications/oauth2/${a.id}`, undefined, signal);
  const r = (await forgeApi(login, 'POST', '/user/applications/oauth2', { name, redirect_uris: [redirectUri], confidential_client: true }, signal)) as {
    id: number;
    name: string;
    client_id: string;
    client_secret: string;
  };
  if (!r.client_id || !r.client_secret) throw new ForgeError(200, `the forge made OAuth2 application ${name} but returned no client id or secret`);
  return { id: r.id, name: r.name, clientId: r.client_id, clientSecret: r.client_secret };
}

/** The admin's repository `name` (created empty when missing). */
export async function ensureRepo(login: ForgeLogin, name: string, branch: string, signal?: AbortSignal): Promise<{ cloneUrl: string; created: boolean }> {
  try {
    const r = (await forgeApi(login, 'GET', `/repos/${login.user}/${name}`, undefined, signal)) as { clone_url: string };
    return { cloneUrl: r.clone_url, created: false };
  } catch (err) {
    if (!(err instanceof ForgeError) || err.status !== 404) throw err;
  }
  const r = (await forgeApi(login, 'POST', '/user/repos', { name, private: false, auto_init: false, default_branch: branch, description: 'boardkube sample: built and deployed by Woodpecker' }, signal)) as { clone_url: string };
  return { cloneUrl: r.clone_url, created: true };
}

/** A push webhook to `url` (one per URL: an existing one is kept). */
export async function ensureWebhook(login: ForgeLogin, repo: string, url: string, signal?: AbortSignal): Promise<{ id: number; created: boolean }> {
  const hooks = (await forgeApi(login, 'GET', `/repos/${login.user}/${repo}/hooks`, undefined, signal)) as Array<{ id: number; config?: { url?: string } }>;
  const found = hooks.find((h) => h.config?.url === url);
  if (found) return { id: found.id, created: false };
  const r = (await forgeApi(login, 'POST', `/repos/${login.user}/${repo}/hooks`, { type: 'gitea', active: true, events: ['push'], config: { url, content_type: 'json' } }, signal)) as { id: number };
  return { id: r.id, created: true };
}

/**
 * Commits `files` on `branch` and pushes them over HTTP. The password reaches git through GIT_ASKPASS (a script
 * that prints an environment variable), never through the URL or the command line.
 */
export async function pushFiles(login: ForgeLogin, cloneUrl: string, branch: string, files: Record<string, string>, message: string, signal?: AbortSignal): Promise<{ commit: string }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'boardkube-ci-push-'));
  try {
    const askpass = path.join(work, 'askpass.sh');
    fs.writeFileSync(askpass, '#!/bin/sh\ncase "$1" in Username*) printf "%s\\n" "$BOARDKUBE_GIT_USER" ;; *) printf "%s\\n" "$BOARDKUBE_GIT_PASSWORD" ;; esac\n', { mode: 0o700 });
    const repo = path.join(work, 'repo');
    fs.mkdirSync(repo);
    const env = {
      ...process.env,
      GIT_ASKPASS: askpass,
      GIT_TERMINAL_PROMPT: '0',
      BOARDKUBE_GIT_USER: login.user,
      BOARDKUBE_GIT_PASSWORD: login.password,
      GIT_AUTHOR_NAME: 'boardkube',
      GIT_AUTHOR_EMAIL: 'boardkube@localhost',
      GIT_COMMITTER_NAME: 'boardkube',
      GIT_COMMITTER_EMAIL: 'boardkube@localhost',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: work,
    };
    const git = async (...args: string[]) => (await execFileP('git', args, { cwd: repo, env, signal })).stdout.trim();
    await git('init', '-q', '-b', branch);
    // Build on what is there already (a second run adds a commit rather than rewriting history).
    const remote = await git('ls-remote', '--heads', cloneUrl, branch).catch((err: Error) => {
      throw new ForgeError(0, `git cannot reach ${cloneUrl}: ${err.message.split('\n').slice(-2).join(' ')}`, 'check the forge URL and the login');
    });
    if (remote) {
      await git('fetch', '-q', cloneUrl, branch);
      await git('reset', '-q', '--hard', 'FETCH_HEAD');
    }
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(repo, name)), { recursive: true });
      fs.writeFileSync(path.join(repo, name), text);
    }
    await git('add', '-A');
    await git('commit', '-q', '--allow-empty', '-m', message);
    await git('push', '-q', cloneUrl, `HEAD:refs/heads/${branch}`);
    return { commit: await git('rev-parse', 'HEAD') };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The script that creates the forge's admin inside the forge's image (run as a Job next to the forge pod, and by
 * the test against Gitea). User and password come from the environment (a Secret), not from the plan.
 */
export function adminScript(binary = 'forgejo'): string {
  return [
    'set -eu',
    `if ${binary} admin user list --admin | awk 'NR>1 {print $2}' | grep -qx "$ADMIN_USER"; then`,
    `  ${binary} admin user change-password --username "$ADMIN_USER" --password "$ADMIN_PASSWORD" --must-change-password=false`,
    'else',
    `  ${binary} admin user create --admin --username "$ADMIN_USER" --email "$ADMIN_USER@localhost" --password "$ADMIN_PASSWORD" --must-change-password=false`,
    'fi',
  ].join('\n');
}

/** The head commit of `branch` in the admin's repository, or null when there is no such repository or branch. */
export async function branchHead(login: ForgeLogin, repo: string, branch: string, signal?: AbortSignal): Promise<string | null> {
  try {
    const b = (await forgeApi(login, 'GET', `/repos/${login.user}/${repo}/branches/${branch}`, undefined, signal)) as { commit?: { id?: string } };
    return b.commit?.id ?? null;
  } catch (err) {
    if (err instanceof ForgeError && err.status === 404) return null;
    throw err;
  }
}
