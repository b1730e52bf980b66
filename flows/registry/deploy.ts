// Step deploy: the registry in its own namespace, on the storage node's disk, behind a NodePort, with the
// certificate from the master and the htpasswd Secret; a pull Secret where pods will need one.
import bcrypt from 'bcryptjs';
import type { Step, StepContext } from '../../src/engine/types.ts';
import type { KubeObject } from '../../src/ports/cluster.ts';
import { sleep } from '../../src/util/sleep.ts';
import { CERT_DIR, master, optionsOf, readAsRoot } from './common.ts';
import { PASSWORD_SECRET, readPasswordFile } from './credentials.ts';
import { htpasswdSecret, pullSecret, registryManifests, tlsSecret, toYaml, type RegistryDeployment } from './manifests.ts';
import { tlsProbeScript } from './trust-files.ts';
import { REGISTRY_IMAGE } from '../../src/catalog/images.ts';

export const DATA_DIR = '/var/lib/boardkube/registry';
// A board pulls registry:3 (about 10 MB) and starts it: minutes on a slow card.
const READY_TIMEOUT_MS = 5 * 60_000;
const POLL_MS = 3000;

function deployment(ctx: StepContext): RegistryDeployment {
  const o = optionsOf(ctx);
  return { namespace: o.namespace, storageNode: o.storageNode.name, dataDir: DATA_DIR, nodePort: o.port, image: REGISTRY_IMAGE };
}

/** The htpasswd line the registry checks logins against: bcrypt, as distribution requires. */
export function htpasswdLine(user: string, password: string): string {
  return `${user}:${bcrypt.hashSync(password, 10)}`;
}

/** What the registry answers the master over TLS, checked with the cluster CA: 401 once it serves. */
async function answerOnMaster(ctx: StepContext): Promise<string> {
  const o = optionsOf(ctx);
  const r = await master(ctx).exec(tlsProbeScript(`${o.pkiDir}/ca.crt`, o.hostPort), { signal: ctx.signal, timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.trim() : (r.stderr.trim().split('\n').pop() ?? `curl exited ${r.code}`);
}

function password(ctx: StepContext): string {
  return ctx.secrets.get(PASSWORD_SECRET) ?? readPasswordFile(optionsOf(ctx).passwordFile);
}

export const deployStep: Step = {
  id: 'deploy',
  title: 'Run the registry in the cluster',
  explain:
    "The registry runs as one pod on the chosen node, keeping images on that node's disk, and listens on a NodePort of the master's address. Pushing and pulling need the password; its certificate is the one the master just signed.",
  plan(ctx) {
    const o = optionsOf(ctx);
    return [
      { type: 'manifest', description: `the registry: namespace ${o.namespace}, a Deployment on ${o.storageNode.name} (${DATA_DIR}), a NodePort Service at ${o.hostPort}`, content: toYaml(registryManifests(deployment(ctx))) },
      { type: 'api', description: `Secrets in ${o.namespace}: the certificate and key from the master (${CERT_DIR}) and the htpasswd hash of the password; a pull Secret in ${o.pullNamespaces.join(', ')}` },
    ];
  },
  async run(ctx) {
    const o = optionsOf(ctx);
    const host = master(ctx);
    const [cert, key] = [await readAsRoot(host, `${CERT_DIR}/tls.crt`, ctx.signal), await readAsRoot(host, `${CERT_DIR}/tls.key`, ctx.signal)];
    const pw = password(ctx);
    const [namespace, ...rest] = registryManifests(deployment(ctx));
    const objects: KubeObject[] = [namespace!, tlsSecret(o.namespace, cert, key), htpasswdSecret(o.namespace, htpasswdLine(o.user, pw)), ...rest, ...o.pullNamespaces.map((ns) => pullSecret(ns, o.hostPort, o.user, pw))];
    const cluster = await ctx.ports.cluster();
    for (const r of await cluster.apply(objects, { signal: ctx.signal })) ctx.log(`${r.object.kind} ${r.object.metadata.name}: ${r.outcome}`);
    // Ready is when the registry answers at HOST:PORT over TLS with the cluster CA, as the nodes will reach it.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = '';
    for (;;) {
      last = await answerOnMaster(ctx);
      if (last === '401') break;
      if (Date.now() > deadline) throw new Error(`the registry did not answer at https://${o.hostPort}/v2/ within ${READY_TIMEOUT_MS / 60_000} minutes (last answer: ${last}); see \`kubectl -n ${o.namespace} describe pod -l app.kubernetes.io/name=registry\``);
      ctx.progress({ message: `waiting for the registry pod on ${o.storageNode.name} to answer (${last})` });
      await sleep(POLL_MS, ctx.signal);
    }
    return { hostPort: o.hostPort, image: REGISTRY_IMAGE };
  },
  async verify(ctx) {
    const o = optionsOf(ctx);
    const cluster = await ctx.ports.cluster();
    const svc = await cluster.get('v1', 'Service', 'registry', o.namespace);
    const port = (svc?.spec as { ports?: Array<{ nodePort?: number }> } | undefined)?.ports?.[0]?.nodePort;
    return port === o.port && (await answerOnMaster(ctx).catch(() => '')) === '401';
  },
};
