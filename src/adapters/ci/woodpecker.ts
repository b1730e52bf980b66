// Woodpecker's REST API (/api), as its web UI uses it. Woodpecker has no password login: the forge admin logs in
// through the forge's OAuth application (web.ts), then asks for a personal token (POST /api/user/token, with the
// CSRF token the UI reads from /web-config.js); every later call carries that token as a bearer.
import { ForgeError, type CiAgent, type CiServer, type PipelineRun, type PipelineStatus } from '../../ports/ci.ts';
import { browse, CookieJar, oauthLogin } from './web.ts';

const tokens = new Map<string, string>();

async function token(ci: CiServer, signal?: AbortSignal): Promise<string> {
  const key = `${ci.url}|${ci.forge.user}`;
  const known = tokens.get(key);
  if (known) return known;
  const jar = new CookieJar();
  const base = ci.url.replace(/\/$/, '');
  const end = await oauthLogin(jar, ci.forge, `${base}/authorize`, signal);
  if (new URL(end.url).origin !== new URL(base).origin || end.status >= 400) {
    throw new ForgeError(end.status, `the CI at ${ci.url} did not finish the OAuth login (${end.status} at ${end.url})`, "check that the CI's OAuth client and secret are the forge application's (run the stage again)");
  }
  const config = await browse(jar, `${base}/web-config.js`, { signal });
  const csrf = /WOODPECKER_CSRF\s*=\s*"([^"]+)"/.exec(config.body)?.[1] ?? '';
  const r = await browse(jar, `${base}/api/user/token`, { method: 'POST', headers: { 'x-csrf-token': csrf }, signal });
  if (r.status !== 200 || !r.body.trim()) throw new ForgeError(r.status, `the CI at ${ci.url} gave no token after the OAuth login (${r.status})`, 'check the CI server log: kubectl -n NAMESPACE logs deploy/woodpecker-server');
  tokens.set(key, r.body.trim());
  return r.body.trim();
}

export async function ciApi(ci: CiServer, method: string, apiPath: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
  const url = `${ci.url.replace(/\/$/, '')}/api${apiPath}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${await token(ci, signal)}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ?? AbortSignal.timeout(30_000),
    });
  } catch (err) {
    if (err instanceof ForgeError) throw err;
    throw new ForgeError(0, `the CI at ${ci.url} cannot be reached: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`, 'check that the woodpecker-server pod runs and its NodePort is reachable');
  }
  const text = await res.text();
  if (!res.ok) throw new ForgeError(res.status, `${method} /api${apiPath} on ${ci.url}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

export async function woodpeckerLogin(ci: CiServer, signal?: AbortSignal): Promise<{ version: string; user: string }> {
  const v = (await ciApi(ci, 'GET', '/version', undefined, signal).catch(() => ({}))) as { version?: string };
  const u = (await ciApi(ci, 'GET', '/user', undefined, signal)) as { login?: string };
  return { version: String(v.version ?? '?'), user: String(u.login ?? '') };
}

export async function woodpeckerAgents(ci: CiServer, signal?: AbortSignal): Promise<CiAgent[]> {
  const list = (await ciApi(ci, 'GET', '/agents', undefined, signal)) as Array<{ name?: string; last_contact?: number }>;
  return list.map((a) => ({ name: String(a.name ?? '?'), lastContact: Number(a.last_contact ?? 0) }));
}

/** The CI's id of the repository while it is active (a repository switched off is as good as unknown). */
async function repoId(ci: CiServer, repo: string, signal?: AbortSignal): Promise<number | undefined> {
  try {
    const r = (await ciApi(ci, 'GET', `/repos/lookup/${ci.forge.user}/${repo}`, undefined, signal)) as { id: number; active?: boolean };
    return r.active === false ? undefined : r.id;
  } catch (err) {
    if (err instanceof ForgeError && err.status === 404) return undefined;
    throw err;
  }
}

export async function woodpeckerActivated(ci: CiServer, repo: string, signal?: AbortSignal): Promise<boolean> {
  return (await repoId(ci, repo, signal)) !== undefined;
}

export async function woodpeckerActivate(ci: CiServer, repo: string, secrets: Record<string, string>, signal?: AbortSignal): Promise<{ id: number; hooked: boolean }> {
  let id = await repoId(ci, repo, signal);
  let hooked = false;
  if (id === undefined) {
    const mine = (await ciApi(ci, 'GET', '/user/repos?all=true', undefined, signal)) as Array<{ full_name: string; forge_remote_id: string }>;
    const found = mine.find((r) => r.full_name === `${ci.forge.user}/${repo}`);
    if (!found) throw new ForgeError(404, `the CI does not see repository ${ci.forge.user}/${repo} on the forge`, 'run the stage again (the sample step creates it)');
    id = ((await ciApi(ci, 'POST', `/repos?forge_remote_id=${encodeURIComponent(found.forge_remote_id)}`, undefined, signal)) as { id: number }).id;
    hooked = true;
  }
  const have = new Set(((await ciApi(ci, 'GET', `/repos/${id}/secrets`, undefined, signal)) as Array<{ name: string }>).map((x) => x.name));
  for (const [name, value] of Object.entries(secrets)) {
    const body = { name, value, events: ['push', 'manual'] };
    if (have.has(name)) await ciApi(ci, 'PATCH', `/repos/${id}/secrets/${name}`, body, signal);
    else await ciApi(ci, 'POST', `/repos/${id}/secrets`, body, signal);
  }
  return { id, hooked };
}

export async function woodpeckerPipeline(ci: CiServer, repo: string, commit: string, signal?: AbortSignal): Promise<PipelineRun | null> {
  const id = await repoId(ci, repo, signal);
  if (id === undefined) return null;
  const list = (await ciApi(ci, 'GET', `/repos/${id}/pipelines`, undefined, signal)) as Array<{ number: number; commit: string; status: string }>;
  const p = list.find((x) => x.commit === commit);
  if (!p) return null;
  const full = (await ciApi(ci, 'GET', `/repos/${id}/pipelines/${p.number}`, undefined, signal)) as { workflows?: Array<{ children?: Array<{ name: string; state: string; error?: string }> }> };
  const steps = (full.workflows ?? []).flatMap((w) => (w.children ?? []).map((c) => ({ name: c.name, state: c.state, ...(c.error ? { error: c.error } : {}) })));
  return { number: p.number, commit: p.commit, status: p.status as PipelineStatus, steps };
}
