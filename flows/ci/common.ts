// What the ci steps share: their options and typed setup, the registry stage's results they build on, the
// secrets they hand each other in memory only (redacted from logs, never saved), and the CI port.
import { InputError, type StepContext } from '../../src/engine/types.ts';
import type { CiPort, CiServer, ForgeLogin, RegistryAccess } from '../../src/ports/ci.ts';
import { ClusterError, secretValue, type ClusterPort, type KubeObject } from '../../src/ports/cluster.ts';
import { readSecretFile } from '../../src/util/secret-file.ts';
import { parseRegistryOptions } from '../registry/options.ts';
import { PULL_SECRET } from '../registry/manifests.ts';
import { MANAGED_BY, type CiSetup } from './manifests.ts';
import { ciSetup, type CiOptions } from './options.ts';
import type { PipelineInput } from './pipeline.ts';

/** Names in ctx.secrets (memory only). */
export const SECRETS = { admin: 'ci-forge-admin-password', agent: 'ci-agent-secret', oauthSecret: 'ci-oauth-secret', registry: 'registry-password' } as const;
export const OAUTH_APP = 'woodpecker';
export const BRANCH = 'main';

export function optionsOf(ctx: StepContext): CiOptions {
  return ctx.options as unknown as CiOptions;
}

/** The registry stage's HOST:PORT, user and password file: what it recorded, else what its defaults will make. */
export function registryOf(ctx: StepContext): { hostPort: string; user: string; passwordFile: string } {
  const dflt = parseRegistryOptions({}, ctx.cluster, { stateDir: ctx.ports.local.stateDir?.() });
  const deploy = ctx.outputOf('registry', 'deploy');
  const cred = ctx.outputOf('registry', 'credentials');
  return {
    hostPort: typeof deploy?.hostPort === 'string' ? deploy.hostPort : dflt.hostPort,
    user: typeof cred?.user === 'string' ? cred.user : dflt.user,
    passwordFile: typeof cred?.passwordFile === 'string' ? cred.passwordFile : dflt.passwordFile,
  };
}

export function setupOf(ctx: StepContext): CiSetup {
  return ciSetup(optionsOf(ctx), ctx.cluster, ctx.release, registryOf(ctx).hostPort);
}

/** The CI's namespace (the forge's too, when it runs in the cluster). */
export function ciNamespace(ctx: StepContext): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: optionsOf(ctx).namespace, labels: MANAGED_BY } };
}

export function pipelineInputOf(ctx: StepContext): PipelineInput {
  const s = setupOf(ctx);
  return { registry: s.registry, app: s.app, branch: BRANCH, targetNamespace: s.targetNamespace, deployAccount: s.deployAccount, builderImage: s.images.builder, kubectlImage: s.images.kubectl, baseImage: s.images.sampleBase };
}

export function ciPortOf(ctx: StepContext): Promise<CiPort> {
  if (!ctx.ports.ci) throw new Error('this run has no CI port (forge and CI API)');
  return ctx.ports.ci();
}

/** The forge admin's password: from this run's memory, else from the file the admin-password step wrote. */
export function adminPassword(ctx: StepContext): string {
  const known = ctx.secrets.get(SECRETS.admin);
  if (known) return known;
  const pw = readSecretFile(optionsOf(ctx).adminPasswordFile, 'admin-password-file');
  ctx.secrets.set(SECRETS.admin, pw);
  return pw;
}

export function forgeLoginOf(ctx: StepContext): ForgeLogin {
  return { url: setupOf(ctx).forgeUrl, user: optionsOf(ctx).adminUser, password: adminPassword(ctx) };
}

export function ciServerOf(ctx: StepContext): CiServer {
  return { url: setupOf(ctx).ciUrl, forge: forgeLoginOf(ctx) };
}

export function registryAccessOf(ctx: StepContext, c: ClusterPort): RegistryAccess {
  const r = registryOf(ctx);
  let password = ctx.secrets.get(SECRETS.registry);
  if (!password) {
    password = readSecretFile(r.passwordFile, 'password-file');
    ctx.secrets.set(SECRETS.registry, password);
  }
  return { hostPort: r.hostPort, caPem: c.caPem(), user: r.user, password };
}

/** The docker config.json the build step pushes with (a Woodpecker secret), and the target namespace's pull Secret. */
export function dockerConfigJson(r: RegistryAccess): string {
  return JSON.stringify({ auths: { [r.hostPort]: { auth: Buffer.from(`${r.user}:${r.password}`).toString('base64') } } });
}
export { PULL_SECRET };

export { secretValue };

export function readyReplicas(o: KubeObject | null): number {
  return (o?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0;
}

/** Waits until each Deployment has a ready pod; the error names the one that is not and how to look. */
export async function waitReady(ctx: StepContext, c: ClusterPort, namespace: string, names: string[], timeoutMs: number): Promise<void> {
  for (const name of names) {
    ctx.progress({ message: `waiting for deployment ${name} in ${namespace} to be ready` });
    try {
      await c.waitFor('apps/v1', 'Deployment', name, namespace, (o) => readyReplicas(o) > 0, { timeoutMs, signal: ctx.signal });
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'timeout') {
        throw new Error(`deployment ${name} in ${namespace} has no ready pod after ${Math.round(timeoutMs / 60_000)} minutes\n  fix: look at \`kubectl -n ${namespace} describe pod -l app.kubernetes.io/name=${name}\` (image pull, the node's disk, its events)`);
      }
      throw err;
    }
  }
}

/** A ForgeError from the existing forge the user named is bad input (exit 2); from ours, a failure. */
export function asInput(ctx: StepContext, err: unknown): unknown {
  const o = optionsOf(ctx);
  const e = err as { status?: number; message?: string; name?: string };
  if (!o.forgeUrl || e?.name !== 'ForgeError') return err;
  if (e.status === 0) return new InputError('forge-url', `the forge at ${o.forgeUrl} cannot be reached (${e.message})`, 'check the address (--set forge-url=URL) and that the forge runs and is reachable from this computer');
  if (e.status === 401 || e.status === 403) return new InputError('admin-password-file', `the forge at ${o.forgeUrl} refused the login of ${o.adminUser}`, `put ${o.adminUser}'s password in ${o.adminPasswordFile}, or name its admin with --set admin-user=NAME`);
  return err;
}
