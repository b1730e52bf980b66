// Step prove: the pushed commit ran the pipeline, its image is in the registry, the app's Deployment runs it,
// and the deploy account is refused outside its namespace (asked and tried with a kubeconfig of its own). Each
// is a row; a pipeline that stays pending names what it waits for (a volume without storage, a pod not placed).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Json, Step, StepContext } from '../../src/engine/types.ts';
import type { CiPort, PipelineRun } from '../../src/ports/ci.ts';
import type { ClusterPort, KubeObject } from '../../src/ports/cluster.ts';
import { tokenKubeconfig, writePrivateFile } from '../readonly/kubeconfig.ts';
import { formatProofTable, type ProofRow } from '../readonly/proof.ts';
import { ciPortOf, ciServerOf, readyReplicas, registryAccessOf, setupOf } from './common.ts';
import { proveDeployAccount } from './deploy-proof.ts';
import type { CiSetup } from './manifests.ts';

// An image build on a board takes minutes; the first one pulls the builder's image too.
const PIPELINE_MS = 20 * 60_000;
const ROLLOUT_MS = 5 * 60_000;
const POLL_MS = 5000;
const FINISHED = new Set(['success', 'failure', 'error', 'killed', 'declined']);

export interface CiProofRow {
  check: string;
  ok: boolean;
  detail: string;
  [key: string]: string | boolean;
}

function commitOf(ctx: StepContext): string {
  const c = ctx.outputOf('ci', 'sample')?.commit;
  if (typeof c !== 'string') throw new Error('no commit was pushed yet (the sample step pushes it)');
  return c;
}

function imageOf(s: CiSetup, commit: string): string {
  return `${s.registry}/${s.app}:${commit}`;
}

function containerImage(d: KubeObject | null): string | undefined {
  return (d?.spec as { template?: { spec?: { containers?: Array<{ image?: string }> } } } | undefined)?.template?.spec?.containers?.[0]?.image;
}

/** Why pipeline pods wait: claims without a volume and pods not placed, from the ci namespace. */
async function whyPending(c: ClusterPort, s: CiSetup): Promise<string> {
  const claims = (await c.list('v1', 'PersistentVolumeClaim', s.namespace)).filter((p) => (p.status as { phase?: string } | undefined)?.phase === 'Pending');
  const pods = (await c.list('v1', 'Pod', s.namespace)).filter((p) => (p.status as { phase?: string } | undefined)?.phase === 'Pending');
  const parts: string[] = [];
  if (claims.length) {
    const cls = s.storageClass ? `StorageClass ${s.storageClass}` : "the cluster's default StorageClass";
    parts.push(
      `volume claim ${claims.map((x) => x.metadata.name).join(', ')} is Pending: no volume for it (${cls})\n  fix: give the cluster a StorageClass that makes ReadWriteOnce volumes on the boards (e.g. local-path-provisioner, made the default) or name one with --set storage-class=NAME, then run the stage again`,
    );
  }
  if (pods.length) parts.push(`pod ${pods.map((p) => p.metadata.name).join(', ')} is Pending (see \`kubectl -n ${s.namespace} describe pod ${pods[0]!.metadata.name}\`)`);
  return parts.join('\n') || `nothing in ${s.namespace} says why\n  fix: \`kubectl -n ${s.namespace} logs deploy/woodpecker-agent\` and the pipeline in the CI's web page`;
}

async function pipelineRow(ctx: StepContext, ci: CiPort, c: ClusterPort, s: CiSetup, commit: string, wait: boolean): Promise<CiProofRow> {
  const server = ciServerOf(ctx);
  let last: PipelineRun | null = null;
  const done = await ci.poll(
    async () => {
      last = await ci.pipeline(server, s.app, commit, ctx.signal);
      ctx.progress({ message: `pipeline for ${commit.slice(0, 8)}: ${last?.status ?? 'not started yet'}${last?.steps.length ? ` (${last.steps.map((x) => `${x.name} ${x.state}`).join(', ')})` : ''}` });
      return last && FINISHED.has(last.status) ? last : undefined;
    },
    { timeoutMs: wait ? PIPELINE_MS : 0, pauseMs: POLL_MS, signal: ctx.signal },
  );
  const check = `a push of ${commit.slice(0, 8)} runs the pipeline`;
  const p = (done ?? last) as PipelineRun | null;
  if (!p) return { check, ok: false, detail: `the CI made no pipeline for ${commit} (was the repository activated, did the forge's webhook reach ${s.ciUrl}?)` };
  const steps = p.steps.map((x) => `${x.name}: ${x.state}${x.error ? ` (${x.error})` : ''}`).join(', ');
  if (p.status === 'success') return { check, ok: true, detail: `pipeline #${p.number} succeeded (${steps})` };
  if (!done) return { check, ok: false, detail: `pipeline #${p.number} is still ${p.status} after ${PIPELINE_MS / 60_000} minutes (${steps || 'no step started'}): ${await whyPending(c, s)}` };
  return { check, ok: false, detail: `pipeline #${p.number} ended ${p.status} (${steps}); see ${s.ciUrl}/repos/${s.adminUser}/${s.app}` };
}

async function imageRow(ctx: StepContext, ci: CiPort, c: ClusterPort, s: CiSetup, commit: string): Promise<CiProofRow> {
  const tags = await ci.imageTags(registryAccessOf(ctx, c), s.app, ctx.signal);
  const ok = tags.includes(commit);
  return { check: `${imageOf(s, commit)} is in the registry`, ok, detail: ok ? `tag ${commit.slice(0, 8)} among ${tags.length} tags of ${s.app}` : `the registry has no tag ${commit} for ${s.app} (tags: ${tags.join(', ') || 'none'})` };
}

async function deploymentRow(ctx: StepContext, ci: CiPort, c: ClusterPort, s: CiSetup, commit: string, wait: boolean): Promise<CiProofRow> {
  const want = imageOf(s, commit);
  const check = `deployment ${s.targetNamespace}/${s.app} runs ${s.app}:${commit.slice(0, 8)}`;
  let d: KubeObject | null = null;
  const ok = await ci.poll(
    async () => {
      d = await c.get('apps/v1', 'Deployment', s.app, s.targetNamespace);
      return containerImage(d) === want && readyReplicas(d) > 0 ? true : undefined;
    },
    { timeoutMs: wait ? ROLLOUT_MS : 0, pauseMs: POLL_MS, signal: ctx.signal },
  );
  if (ok) return { check, ok: true, detail: `${readyReplicas(d)} ready pod(s) with ${want}` };
  return { check, ok: false, detail: `it runs ${containerImage(d) ?? '(no deployment)'} with ${readyReplicas(d)} ready pod(s); see \`kubectl -n ${s.targetNamespace} describe deployment ${s.app}\`` };
}

/** The deploy account's proof, made with a kubeconfig of its own (a short token in a 0600 file, removed after). */
async function accountRows(c: ClusterPort, s: CiSetup, withRequests: boolean): Promise<ProofRow[]> {
  const { token } = await c.createToken(s.namespace, s.deployAccount, 600);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boardkube-ci-proof-'));
  try {
    const file = path.join(dir, 'deployer.kubeconfig');
    writePrivateFile(file, tokenKubeconfig({ clusterName: 'ci-proof', context: `${s.deployAccount}@ci-proof`, server: c.server, caPem: c.caPem(), token }));
    const port = await c.fromKubeconfig(file);
    try {
      return await proveDeployAccount(port, s, withRequests);
    } finally {
      await port.close?.();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function proof(ctx: StepContext, wait: boolean): Promise<{ rows: CiProofRow[]; account: ProofRow[] }> {
  const s = setupOf(ctx);
  const c = await ctx.ports.cluster();
  const ci = await ciPortOf(ctx);
  const commit = commitOf(ctx);
  const rows = [await pipelineRow(ctx, ci, c, s, commit, wait)];
  rows.push(await imageRow(ctx, ci, c, s, commit), await deploymentRow(ctx, ci, c, s, commit, wait && rows[0]!.ok));
  const account = await accountRows(c, s, wait);
  const wrong = account.filter((r) => !r.ok);
  rows.push({
    check: `the deploy account is refused outside ${s.targetNamespace}`,
    ok: wrong.length === 0,
    detail: wrong.length === 0 ? `${account.length} checks as ${s.namespace}/${s.deployAccount}: allowed only on Deployments in ${s.targetNamespace}` : `wrong: ${wrong.map((r) => `${r.check} (${r.how}: ${r.actual}, expected ${r.expected})`).join('; ')}`,
  });
  return { rows, account };
}

export function formatCiRows(rows: CiProofRow[]): string {
  const w = Math.max(...rows.map((r) => r.check.length));
  return rows.map((r) => `${r.check.padEnd(w)}  ${r.ok ? 'ok   ' : 'WRONG'}  ${r.detail}`).join('\n');
}

export const proveStep: Step = {
  id: 'prove',
  title: 'Prove the push builds and deploys',
  explain:
    "The commit just pushed must run the pipeline, its image must be in the registry under the commit's name, the app's Deployment must run it, and the deploy account must be refused everywhere but the app's namespace (asked and tried with a kubeconfig of its own, as the readonly stage proves its account).",
  plan(ctx) {
    const s = setupOf(ctx);
    return [
      { type: 'api', description: `wait for the CI's pipeline of the pushed commit in ${s.ciUrl} to succeed (up to ${PIPELINE_MS / 60_000} minutes)` },
      { type: 'api', description: `list the tags of ${s.app} in the registry at ${s.registry} (TLS checked with the cluster CA): the commit must be one` },
      { type: 'api', description: `read deployment ${s.targetNamespace}/${s.app}: it must run ${s.registry}/${s.app}:COMMIT with a ready pod` },
      { type: 'api', description: `as ${s.namespace}/${s.deployAccount} (a 10-minute token in a temporary 0600 kubeconfig): SelfSubjectAccessReviews and real requests, allowed on Deployments in ${s.targetNamespace} only` },
    ];
  },
  async run(ctx) {
    const { rows, account } = await proof(ctx, true);
    for (const line of formatCiRows(rows).split('\n')) ctx.log(line);
    for (const line of formatProofTable(account).split('\n')) ctx.log(line);
    const failed = rows.filter((r) => !r.ok);
    if (failed.length) throw new Error(failed.map((r) => `${r.check}: ${r.detail}`).join('\n'));
    return { commit: commitOf(ctx), rows: rows as unknown as Json, account: account as unknown as Json };
  },
  async verify(ctx) {
    return (await proof(ctx, false)).rows.every((r) => r.ok);
  },
};
