// Step oauth-app: the OAuth2 application the CI logs in to the forge with, created through the forge's API as
// the admin. Its secret is shown once by the forge: it goes straight into memory (and the CI's Secret), never
// the progress. With an existing forge, this is where an unreachable forge or a login that does not work shows
// (bad input: nothing was changed yet).
import type { Step, StepContext } from '../../src/engine/types.ts';
import { asInput, ciPortOf, ciServerOf, forgeLoginOf, OAUTH_APP, SECRETS, setupOf } from './common.ts';

/** The application made in this run (its outputs are saved only after its check passes). */
const made = new WeakMap<object, string>();

export function redirectUri(ctx: StepContext): string {
  return `${setupOf(ctx).ciUrl}/authorize`;
}

export const oauthAppStep: Step = {
  id: 'oauth-app',
  title: "Register the CI with the forge (OAuth application)",
  explain: "Woodpecker has no users of its own: you (and boardkube) log in to it through the forge. For that the forge needs an OAuth application with the CI's address; its ID and secret go into the CI's settings.",
  plan(ctx) {
    const s = setupOf(ctx);
    return [
      { type: 'api', description: `log in to ${s.forgeUrl}/api/v1 as ${s.adminUser} (must be an admin)` },
      { type: 'api', description: `create OAuth2 application ${OAUTH_APP} (confidential, redirect ${redirectUri(ctx)}) on ${s.forgeUrl}; an old one of that name is replaced, its secret kept in memory only` },
    ];
  },
  async run(ctx) {
    const ci = await ciPortOf(ctx);
    const login = forgeLoginOf(ctx);
    try {
      const me = await ci.forgeLogin(login, ctx.signal);
      ctx.log(`${login.url}: ${me.version}, logged in as ${me.user}${me.admin ? ' (admin)' : ''}`);
      const app = await ci.oauthApp(login, OAUTH_APP, redirectUri(ctx), ctx.signal);
      ctx.secrets.set(SECRETS.oauthSecret, app.clientSecret);
      made.set(ctx.secrets, app.clientId);
      // An OAuth client ID is public (every login URL carries it); the secret is not kept.
      return { app: app.name, clientId: app.clientId, redirect: redirectUri(ctx), forge: login.url };
    } catch (err) {
      throw asInput(ctx, err);
    }
  },
  async verify(ctx) {
    const recorded = ctx.outputOf('ci', 'oauth-app');
    const clientId = made.get(ctx.secrets) ?? (recorded?.forge === setupOf(ctx).forgeUrl ? recorded.clientId : undefined);
    if (typeof clientId !== 'string') return false;
    const apps = await (await ciPortOf(ctx)).oauthApps(forgeLoginOf(ctx), ctx.signal).catch(() => []);
    if (!apps.some((a) => a.name === OAUTH_APP && a.clientId === clientId)) return false;
    if (ctx.secrets.get(SECRETS.oauthSecret)) return true;
    // The forge shows the secret only once: a later run holds it only in the CI's Secret. The CI logging in
    // through this application proves the CI has the application's ID and secret.
    try {
      await (await ciPortOf(ctx)).ciLogin(ciServerOf(ctx), ctx.signal);
      return true;
    } catch {
      return false;
    }
  },
};
