// Step ci: Woodpecker's server and agent (Kubernetes backend) in the ci namespace, with the agent secret made
// here and the OAuth application's ID and secret in their Secret; done when the forge admin logs in to the CI
// through the forge and an agent has connected to the server.
import { createHash } from 'node:crypto';
import type { Step, StepContext } from '../../src/engine/types.ts';
import type { KubeObject } from '../../src/ports/cluster.ts';
import { randomSecret } from '../../src/util/secret-file.ts';
import { toYaml } from '../registry/manifests.ts';
import { adminPassword, ciNamespace, ciPortOf, ciServerOf, readyReplicas, SECRETS, secretValue, setupOf, waitReady } from './common.ts';
import { AGENT_ACCOUNT, CI_GRPC_PORT, CI_SECRET, SECRET_KEYS, secretObjects, woodpeckerManifests } from './manifests.ts';

const READY_MS = 10 * 60_000;
const AGENT_MS = 3 * 60_000;
const POLL_MS = 3000;
const SERVER = 'woodpecker-server';
const AGENT = 'woodpecker-agent';

/** The agent secret: the one the cluster has (a re-run keeps server and agent paired), else a new one. */
async function agentSecret(ctx: StepContext, existing: KubeObject | null): Promise<string> {
  const known = ctx.secrets.get(SECRETS.agent) ?? secretValue(existing, SECRET_KEYS.agent) ?? randomSecret();
  ctx.secrets.set(SECRETS.agent, known);
  return known;
}

function clientId(ctx: StepContext): string {
  const id = ctx.outputOf('ci', 'oauth-app')?.clientId;
  if (typeof id !== 'string') throw new Error('the OAuth application is not known yet (the oauth-app step runs first)');
  return id;
}

/** A change of the Secret restarts the pods that read it at their start (the hash alone, never a value). */
function withChecksum(objects: KubeObject[], sum: string): KubeObject[] {
  return objects.map((o) => {
    if (o.kind !== 'Deployment') return o;
    const spec = o.spec as { template: { metadata: Record<string, unknown> } };
    return { ...o, spec: { ...spec, template: { ...spec.template, metadata: { ...spec.template.metadata, annotations: { 'boardkube.dev/secret-sha256': sum } } } } };
  });
}

export const ciServerStep: Step = {
  id: 'ci',
  title: 'Run the CI (Woodpecker server and agent)',
  explain:
    "Woodpecker's server gets the forge's pushes and shows the pipelines on a NodePort; its agent runs every pipeline step as a pod in the ci namespace (the Kubernetes backend). They share a generated agent secret; the server logs users in through the forge's OAuth application.",
  plan(ctx) {
    const s = setupOf(ctx);
    return [
      { type: 'manifest', description: `Woodpecker server on ${s.dataNode} (${s.dataDir}/woodpecker) at ${s.ciUrl}, its agent with the Kubernetes backend in ${s.namespace} (volumes ReadWriteOnce)`, content: toYaml(woodpeckerManifests(s)) },
      { type: 'api', description: `Secret ${CI_SECRET} in ${s.namespace}: ${SECRET_KEYS.agent} (generated), ${SECRET_KEYS.client} and ${SECRET_KEYS.secret} (the OAuth application's; values never shown)` },
      { type: 'api', description: `log in to ${s.ciUrl} as ${s.adminUser} through the forge's OAuth; wait until an agent has connected to ${SERVER}.${s.namespace}.svc:${CI_GRPC_PORT}` },
    ];
  },
  async run(ctx) {
    const s = setupOf(ctx);
    const c = await ctx.ports.cluster();
    const existing = await c.get('v1', 'Secret', CI_SECRET, s.namespace);
    // The application made in this run, else the pair the CI already has (the forge shows a secret only once).
    const made = ctx.secrets.get(SECRETS.oauthSecret);
    const oauthSecret = made ?? secretValue(existing, SECRET_KEYS.secret);
    const oauthClient = made ? clientId(ctx) : secretValue(existing, SECRET_KEYS.client);
    if (!oauthSecret || !oauthClient) throw new Error("the OAuth application's secret is not known in this run\n  fix: run the stage again (the oauth-app step makes a new application)");
    ctx.secrets.set(SECRETS.oauthSecret, oauthSecret);
    const values = { adminPassword: adminPassword(ctx), agentSecret: await agentSecret(ctx, existing), oauthClient, oauthSecret };
    const secret = secretObjects(s, values).find((o) => o.metadata.name === CI_SECRET)!;
    const sum = createHash('sha256').update(JSON.stringify(secret.stringData)).digest('hex');
    for (const r of await c.apply([ciNamespace(ctx), secret, ...withChecksum(woodpeckerManifests(s), sum)], { signal: ctx.signal })) ctx.log(`${r.object.kind} ${r.object.metadata.name}: ${r.outcome}`);
    await waitReady(ctx, c, s.namespace, [SERVER, AGENT], READY_MS);
    const ci = await ciPortOf(ctx);
    const server = ciServerOf(ctx);
    const me = await ci.ciLogin(server, ctx.signal);
    ctx.log(`${s.ciUrl}: Woodpecker ${me.version}, logged in as ${me.user} through the forge`);
    const connected = await ci.poll(
      async () => {
        ctx.progress({ message: `waiting for an agent to connect to ${SERVER} (service account ${AGENT_ACCOUNT})` });
        const agents = (await ci.agents(server, ctx.signal)).filter((a) => a.lastContact > 0);
        return agents.length ? agents : undefined;
      },
      { timeoutMs: AGENT_MS, pauseMs: POLL_MS, signal: ctx.signal },
    );
    if (!connected) {
      throw new Error(
        `no Woodpecker agent has connected to the server within ${AGENT_MS / 60_000} minutes (the agent pod runs, but the server lists no agent)\n  fix: \`kubectl -n ${s.namespace} logs deploy/${AGENT}\`: the agent must reach ${SERVER}.${s.namespace}.svc:${CI_GRPC_PORT} (the Service's grpc port; a NetworkPolicy or a DNS problem stops it) with the same ${SECRET_KEYS.agent} as the server`,
      );
    }
    ctx.log(`agents connected: ${connected.map((a) => a.name).join(', ')}`);
    return { url: s.ciUrl, user: me.user, server: s.images.woodpeckerServer, agent: s.images.woodpeckerAgent };
  },
  async verify(ctx) {
    const s = setupOf(ctx);
    const c = await ctx.ports.cluster();
    for (const d of [SERVER, AGENT]) if (readyReplicas(await c.get('apps/v1', 'Deployment', d, s.namespace)) === 0) return false;
    try {
      const ci = await ciPortOf(ctx);
      await ci.ciLogin(ciServerOf(ctx), ctx.signal);
      return (await ci.agents(ciServerOf(ctx), ctx.signal)).some((a) => a.lastContact > 0);
    } catch {
      return false;
    }
  },
};
