// Step deploy: the registry in its own namespace, on the storage node's disk, behind a NodePort, with the
// certificate from the master and the htpasswd Secret; a pull Secret where pods will need one.
import bcrypt from 'bcryptjs';
import type { Step, StepContext } from '../../src/engine/types.ts';
import type { ClusterPort, KubeObject } from '../../src/ports/cluster.ts';
import { sleep } from '../../src/util/sleep.ts';
import { CERT_DIR, master, optionsOf, readAsRoot } from './common.ts';
import { PASSWORD_SECRET, readPasswordFile } from './credentials.ts';
import { htpasswdSecret, LABELS, pullSecret, registryManifests, tlsSecret, toYaml, type RegistryDeployment } from './manifests.ts';
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

type PodCondition = { type: string; status: string; reason?: string; message?: string };

/** The scheduler's word when no node takes the registry pod (e.g. the storage node tainted disk-pressure). */
async function unschedulable(cluster: ClusterPort, namespace: string): Promise<string | undefined> {
  for (const pod of await cluster.list('v1', 'Pod', namespace, { labelSelector: `${LABELS.name}=registry` })) {
    const c = ((pod.status as { conditions?: PodCondition[] } | undefined)?.conditions ?? []).find((x) => x.type === 'PodScheduled' && x.status === 'False' && x.reason === 'Unschedulable');
    if (c) return c.message ?? 'Unschedulable';
  }
  return undefined;
}

async function taintsOf(cluster: ClusterPort, node: string): Promise<string> {
  const n = await cluster.get('v1', 'Node', node).catch(() => null);
  const taints = (n?.spec as { taints?: Array<{ key: string; value?: string; effect: string }> } | undefined)?.taints ?? [];
  return taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ');
}

async function podReady(cluster: ClusterPort, namespace: string): Promise<boolean> {
  const d = await cluster.get('apps/v1', 'Deployment', 'registry', namespace);
  return ((d?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0) >= 1;
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
    // Ready is when its pod is ready and the registry answers at HOST:PORT over TLS with the cluster CA, as the
    // nodes will reach it. A pod that no node takes (seen twice: the scheduler does not change its mind soon) fails.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = '';
    let pendingSeen = 0;
    for (;;) {
      if (await podReady(cluster, o.namespace)) {
        last = await answerOnMaster(ctx);
        if (last === '401') break;
      } else {
        const why = await unschedulable(cluster, o.namespace);
        pendingSeen = why ? pendingSeen + 1 : 0;
        if (why && pendingSeen >= 2) {
          // The scheduler no longer names the taints ("untolerated taint(s)"): the storage node's own list does.
          const taints = await taintsOf(cluster, o.storageNode.name);
          throw new Error(`the registry pod is Pending, no node takes it: ${why}\n${o.storageNode.name}'s taints: ${taints || 'none'}. Its images are kept on ${o.storageNode.name}'s disk: if that disk is full (the kubelet taints the node node.kubernetes.io/disk-pressure), free space there, or choose another node with --set storage-node=NAME.`);
        }
        last = why ? `pod Pending: ${why}` : 'pod not ready yet';
      }
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
