// A browser's part of an OAuth2 login, done over HTTP: a cookie jar per origin, redirects followed by hand, the
// forge's login form and its "authorize this application" form (Gitea's web UI, which Forgejo keeps). The CI
// (Woodpecker) has no API to log in with a password: its users come through the forge's OAuth, like a person.
import { ForgeError, type ForgeLogin } from '../../ports/ci.ts';

export class CookieJar {
  readonly #cookies = new Map<string, Map<string, string>>();

  header(url: string): string {
    const jar = this.#cookies.get(new URL(url).origin);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  take(url: string, res: Response): void {
    const origin = new URL(url).origin;
    const jar = this.#cookies.get(origin) ?? new Map<string, string>();
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      if (i > 0) jar.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
    }
    this.#cookies.set(origin, jar);
  }

  get(url: string, name: string): string | undefined {
    return this.#cookies.get(new URL(url).origin)?.get(name);
  }
}

export interface WebAnswer {
  url: string;
  status: number;
  body: string;
}

/** One request with the jar's cookies; redirects are followed (GET), up to 10. */
export async function browse(jar: CookieJar, url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<WebAnswer> {
  let method = init.method ?? (init.form ? 'POST' : 'GET');
  let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
  let at = url;
  for (let hop = 0; hop < 10; hop++) {
    let res: Response;
    try {
      res = await fetch(at, {
        method,
        redirect: 'manual',
        headers: { cookie: jar.header(at), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...init.headers },
        body,
        signal: init.signal ?? AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause;
      throw new ForgeError(0, `${new URL(at).origin} cannot be reached: ${cause?.message ?? (err as Error).message}`, 'check the address and that the server runs');
    }
    jar.take(at, res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      at = new URL(location, at).toString();
      method = 'GET';
      body = undefined;
      continue;
    }
    return { url: at, status: res.status, body: await res.text() };
  }
  throw new ForgeError(0, `${url}: too many redirects`);
}

/** The hidden inputs of the form that posts to `action` (the CSRF token among them). */
export function hiddenInputs(html: string, action: RegExp): Record<string, string> | undefined {
  for (const m of html.matchAll(/<form\b[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)) {
    if (!action.test(m[1]!)) continue;
    const out: Record<string, string> = {};
    for (const i of m[2]!.matchAll(/<input\b[^>]*>/g)) {
      const name = /\bname="([^"]*)"/.exec(i[0])?.[1];
      const value = /\bvalue="([^"]*)"/.exec(i[0])?.[1] ?? '';
      if (name && /\btype="hidden"/.test(i[0])) out[name] = value.replace(/&amp;/g, '&').replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'");
    }
    return out;
  }
  return undefined;
}

function csrfOf(html: string): string {
  return /name="_csrf" (?:value|content)="([^"]+)"/.exec(html)?.[1] ?? /<meta name="_csrf" content="([^"]+)"/.exec(html)?.[1] ?? '';
}

/** Logs the jar in to the forge's web UI (the login form), as a person would. */
export async function forgeWebLogin(jar: CookieJar, login: ForgeLogin, signal?: AbortSignal): Promise<void> {
  const base = login.url.replace(/\/$/, '');
  const page = await browse(jar, `${base}/user/login`, { signal });
  const r = await browse(jar, `${base}/user/login`, { form: { _csrf: csrfOf(page.body), user_name: login.user, password: login.password }, signal });
  if (new URL(r.url).pathname.startsWith('/user/login')) {
    throw new ForgeError(401, `the forge at ${login.url} refused the web login of ${login.user}`, 'check the admin password file');
  }
  if (r.status >= 400) throw new ForgeError(r.status, `the forge at ${login.url} answered the web login with ${r.status} at ${new URL(r.url).pathname}`, "look at the forge's log");
}

/**
 * Follows an OAuth2 authorization from `start` (the CI's login address) through the forge, granting the
 * application when the forge asks, back to the CI. Returns where it ended (the CI's page after the login).
 */
export async function oauthLogin(jar: CookieJar, login: ForgeLogin, start: string, signal?: AbortSignal): Promise<WebAnswer> {
  await forgeWebLogin(jar, login, signal);
  let r = await browse(jar, start, { signal });
  const forge = new URL(login.url).origin;
  if (new URL(r.url).origin === forge) {
    const grant = hiddenInputs(r.body, /\/login\/oauth\/grant$/);
    if (!grant) {
      const why = /<div class="ui (?:negative|error)[^"]*message[^"]*"[^>]*>([\s\S]*?)<\/div>/.exec(r.body)?.[1]?.replace(/<[^>]+>/g, '').trim();
      throw new ForgeError(r.status, `the forge did not authorize the CI's OAuth application${why ? `: ${why}` : ` (${r.status} at ${new URL(r.url).pathname})`}`, "run the stage again: the oauth-app step makes a new application with the CI's redirect address and the CI gets its new ID and secret");
    }
    r = await browse(jar, `${forge}/login/oauth/grant`, { form: { ...grant, granted: 'true' }, signal });
  }
  return r;
}
