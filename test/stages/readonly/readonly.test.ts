// The readonly stage against a REAL control plane (test/harness/controlplane.ts): run by the real engine with the
// real Cluster adapter, checked with the real kubectl. Every test works in namespaces of its own.
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readonlyStage } from '../../../flows/readonly/index.ts';
import { TOKEN_PLACEHOLDER, tokenOf } from '../../../flows/readonly/kubeconfig.ts';
import { readonlyManifests } from '../../../flows/readonly/manifests.ts';
import { parseReadonlyOptions } from '../../../flows/readonly/options.ts';
import type { ProofRow } from '../../../flows/readonly/proof.ts';
import { loadCluster, type KubeCluster } from '../../../src/adapters/kube/cluster.ts';
import { findBoard } from '../../../src/boards/index.ts';
import { findRelease } from '../../../src/catalog/versions.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemorySecrets } from '../../../src/engine/secrets.ts';
import { StateStore } from '../../../src/engine/state.ts';
import { InputError, type EngineEvent, type Outputs, type Ports, type Secrets, type StepContext } from '../../../src/engine/types.ts';
import { ClusterError } from '../../../src/ports/cluster.ts';
import { startControlPlane, type ControlPlane } from '../../harness/controlplane.ts';

const execFileP = promisify(execFile);
const CLUSTER = defaultCluster();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-readonly-'));
let cp: ControlPlane;
let admin: KubeCluster;
const timings: Record<string, number> = {};

beforeAll(async () => {
  const t = Date.now();
  cp = await startControlPlane();
  timings['control plane start (ms)'] = Date.now() - t;
  admin = loadCluster(cp.kubeconfigPath);
}, 300_000);

afterAll(async () => {
  console.log('readonly timings:', JSON.stringify(timings));
  await admin?.close();
  await cp?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}, 60_000);

// ------------------------------------------------------------------------------------------ helpers

function realPorts(kubeconfig: string): Ports & { opened: KubeCluster[] } {
  const opened: KubeCluster[] = [];
  let port: KubeCluster | undefined;
  return {
    mode: 'real',
    opened,
    host: () => {
      throw new Error('no boards in this test');
    },
    local: {} as Ports['local'],
    disks: {} as Ports['disks'],
    async cluster() {
      if (!port) opened.push((port = loadCluster(kubeconfig)));
      return port;
    },
    async close() {
      await Promise.all(opened.map((p) => p.close()));
    },
  };
}

interface RunResult {
  outcome: string;
  events: EngineEvent[];
  store: StateStore;
  secrets: Secrets;
  errors: string[];
  logs: string[];
  outputs(step: string): Outputs | undefined;
  engine: Engine;
  ms: number;
}

function newStore(): StateStore {
  return StateStore.open(fs.mkdtempSync(path.join(tmp, 'state-')), CLUSTER.name, { mode: 'real' });
}

async function runReadonly(raw: Record<string, unknown>, o: { kubeconfig?: string; store?: StateStore; secrets?: Secrets } = {}): Promise<RunResult> {
  const store = o.store ?? newStore();
  const secrets = o.secrets ?? new MemorySecrets();
  const ports = realPorts(o.kubeconfig ?? cp.kubeconfigPath);
  const events: EngineEvent[] = [];
  const engine = new Engine({ cluster: CLUSTER, stages: [readonlyStage], store, ports, secrets, options: { readonly: raw }, assumeDone: ['control-plane'] });
  engine.on((e) => events.push(e));
  const t = Date.now();
  try {
    const outcome = await engine.run(['readonly']);
    return {
      outcome,
      events,
      store,
      secrets,
      engine,
      ms: Date.now() - t,
      errors: events.flatMap((e) => (e.type === 'step-end' && e.error ? [e.error] : [])),
      logs: events.flatMap((e) => (e.type === 'log' ? [`${e.step}: ${e.line}`] : [])),
      outputs: (step) => store.step(`readonly/${step}@-`)?.outputs,
    };
  } finally {
    await ports.close();
  }
}

async function kubectl(kubeconfig: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(path.join(cp.binDir, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], { timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

async function canI(kubeconfig: string, ...args: string[]): Promise<string> {
  return (await kubectl(kubeconfig, 'auth', 'can-i', ...args)).stdout.trim();
}

/** Polls until the kubeconfig's token is rejected (401); returns how long that took. */
async function untilRejected(kubeconfig: string, timeoutMs: number): Promise<number> {
  const t = Date.now();
  for (;;) {
    const r = await kubectl(kubeconfig, 'get', '--raw', '/api');
    if (r.code !== 0 && /Unauthorized|must be logged in/i.test(r.stderr)) return Date.now() - t;
    if (Date.now() - t > timeoutMs) throw new Error(`token still accepted after ${timeoutMs} ms: ${r.code} ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function kubeconfigFor(name: string, token: string): string {
  const p = path.join(tmp, name);
  const text = fs.readFileSync(cp.kubeconfigPath, 'utf8');
  const doc = parse(text) as { users: Array<{ user: Record<string, string> }> };
  doc.users[0]!.user = { token };
  fs.writeFileSync(p, JSON.stringify(doc), { mode: 0o600 });
  return p;
}

/** A ServiceAccount with a ClusterRole of the given rules, and a kubeconfig with its token. */
async function accountWithRules(ns: string, name: string, rules: unknown[]): Promise<string> {
  await admin.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } },
  ]);
  if (rules.length) {
    await admin.apply([
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `test:${name}` }, rules },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: `test:${name}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `test:${name}` },
        subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
      },
    ]);
  }
  const { token } = await admin.createToken(ns, name, 3600);
  return kubeconfigFor(`${name}.conf`, token);
}

function rowsOf(r: RunResult): ProofRow[] {
  return r.outputs('prove')?.rows as unknown as ProofRow[];
}

// ------------------------------------------------------------------------------------------ the stage

describe('readonly stage on a real control plane', () => {
  const out = path.join(tmp, 'readonly.kubeconfig');
  const raw = { namespace: 'ro-main', 'kubeconfig-out': out };
  let first: RunResult;

  it('exports a kubeconfig that the real apiserver lets read but not write', async () => {
    first = await runReadonly(raw);
    timings['readonly stage, first run (ms)'] = first.ms;
    expect(first.errors).toEqual([]);
    expect(first.outcome).toBe('done');

    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const doc = parse(fs.readFileSync(out, 'utf8'));
    expect(doc['current-context']).toBe('readonly@homelab');
    expect(doc.clusters[0].cluster.server).toBe(cp.server);
    expect(Buffer.from(doc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(fs.readFileSync(cp.caFile, 'utf8'));

    // The real kubectl with the exported kubeconfig: the "must show".
    expect(await canI(out, 'list', 'pods', '-A')).toBe('yes');
    expect(await canI(out, 'list', 'nodes')).toBe('yes');
    expect(await canI(out, 'create', 'configmaps')).toBe('no');
    expect(await canI(out, 'get', 'secrets')).toBe('no');
    expect(await canI(out, 'get', 'secrets', '-n', 'kube-system')).toBe('no');
    expect(await canI(out, 'create', 'pods', '--subresource=exec', '-n', 'ro-main')).toBe('no');
    const pods = await kubectl(out, 'get', 'pods', '-A');
    expect(pods.code).toBe(0);
    const cm = await kubectl(out, 'create', 'configmap', 'sneaky', '-n', 'default', '--from-literal=a=b');
    expect(cm.code).not.toBe(0);
    expect(cm.stderr).toMatch(/configmaps is forbidden: User "system:serviceaccount:ro-main:readonly" cannot create resource "configmaps"/);
    const sec = await kubectl(out, 'get', 'secrets', '-n', 'kube-system');
    expect(sec.code).not.toBe(0);
    expect(sec.stderr).toMatch(/secrets is forbidden/);

    // The stage's own proof table, made with the exported kubeconfig.
    const rows = rowsOf(first);
    expect(rows.every((r) => r.ok)).toBe(true);
    const req = (check: string) => rows.find((r) => r.check === check && r.how === 'request')!;
    expect(req('list pods in all namespaces')).toMatchObject({ actual: 'allowed' });
    expect(req('create configmaps in ro-main')).toMatchObject({ actual: 'denied' });
    expect(req('create configmaps in ro-main').detail).toMatch(/^403: configmaps "boardkube-readonly-proof" is forbidden|^403: configmaps is forbidden/);
    expect(req('read secrets in ro-main')).toMatchObject({ actual: 'denied' });
    expect(req('delete configmaps in ro-main')).toMatchObject({ actual: 'denied' });
    // Nothing we log looks like a secret to the log redactor (which would garble it).
    expect(first.logs.join('\n')).not.toContain('redacted');
    expect(first.outputs('prove')?.inCluster).toMatch(/serviceAccountName: readonly[\s\S]*curl -sS --cacert \/var\/run\/secrets\/kubernetes.io\/serviceaccount\/ca.crt --oauth2-bearer "\$\(cat \/var\/run\/secrets\/kubernetes.io\/serviceaccount\/token\)" https:\/\/kubernetes.default.svc\/api\/v1\/pods/);
  });

  it('never shows the token: not in the plan, the logs, the outputs or the saved progress', async () => {
    const token = tokenOf(fs.readFileSync(out, 'utf8'))!;
    expect(token.length).toBeGreaterThan(100);
    const plan = await first.engine.plan(['readonly']);
    const file = plan.find((a) => a.type === 'file')!;
    expect(file).toMatchObject({ path: out, mode: 0o600 });
    expect(parse(file.content!).users[0].user.token).toBe(TOKEN_PLACEHOLDER);
    expect(JSON.stringify(plan)).not.toContain(token);
    expect(fs.readFileSync(first.store.path, 'utf8')).not.toContain(token);
    expect(JSON.stringify(first.events)).not.toContain(token);
    // The engine redacts known secrets anyway; run the steps by hand, unredacted, to see what they really log.
    const raws: string[] = [];
    const secrets = new MemorySecrets();
    const ports = realPorts(cp.kubeconfigPath);
    const options = parseReadonlyOptions({ namespace: 'ro-raw', 'kubeconfig-out': path.join(tmp, 'raw.kubeconfig') }, CLUSTER);
    const outputs: Record<string, Outputs> = {};
    const ctx: StepContext = {
      cluster: CLUSTER,
      board: findBoard(CLUSTER.board)!,
      release: findRelease(CLUSTER.kubernetesVersion)!,
      node: null,
      ports,
      signal: new AbortController().signal,
      log: (l) => raws.push(l),
      progress: () => undefined,
      outputOf: (_stage, step) => outputs[step],
      options: { ...options },
      secrets,
    };
    for (const step of readonlyStage.steps) {
      const checks = (await step.needs?.(ctx)) ?? [];
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      const actions = await step.plan(ctx);
      outputs[step.id] = (await step.run!(ctx, actions)) ?? {};
      expect(await step.verify(ctx)).toBe(true);
    }
    await ports.close();
    const rawToken = tokenOf(fs.readFileSync(path.join(tmp, 'raw.kubeconfig'), 'utf8'))!;
    expect(raws.join('\n')).not.toContain(rawToken);
    expect(JSON.stringify(outputs)).not.toContain(rawToken);
    expect(raws.join('\n')).toMatch(/ServiceAccount ro-raw\/readonly created/);
  });

  it('a second run changes nothing', async () => {
    const before = await Promise.all(readonlyManifests({ account: 'readonly', namespace: 'ro-main', scope: { kind: 'cluster-read' }, token: 'timebound' }).map((m) => admin.get(m.apiVersion, m.kind, m.metadata.name, m.metadata.namespace)));
    // Same progress: every step is re-verified, none re-run.
    const again = await runReadonly(raw, { store: first.store, secrets: first.secrets });
    timings['readonly stage, resume: verify only (ms)'] = again.ms;
    expect(again.outcome).toBe('done');
    const ends = again.events.filter((e) => e.type === 'step-end').map((e) => (e as { status: string }).status);
    expect(ends).toEqual(['verified', 'verified', 'verified', 'verified', 'verified']);
    // Fresh progress (another computer): everything runs again and every apply is 'unchanged'.
    const fresh = await runReadonly(raw);
    timings['readonly stage, second run with fresh progress (ms)'] = fresh.ms;
    expect(fresh.errors).toEqual([]);
    const applied = fresh.outputs('apply-rbac')?.applied as Array<{ kind: string; outcome: string }>;
    expect(applied.map((a) => `${a.kind}:${a.outcome}`)).toEqual(['Namespace:unchanged', 'ServiceAccount:unchanged', 'ClusterRole:unchanged', 'ClusterRoleBinding:unchanged', 'Secret:unchanged']);
    expect(fresh.outputs('apply-rbac')?.removed).toEqual([]);
    const after = await Promise.all(before.map((b) => admin.get(b!.apiVersion, b!.kind, b!.metadata.name, b!.metadata.namespace)));
    expect(after.map((a) => a?.metadata.resourceVersion)).toEqual(before.map((b) => b?.metadata.resourceVersion));
    const sas = await admin.list('v1', 'ServiceAccount', 'ro-main');
    expect(sas.map((s) => s.metadata.name).sort()).toEqual(['default', 'readonly']);
  });

  it('deleting the anchor Secret revokes the time-bound token (within the API server 10 s token cache); a re-run repairs it', async () => {
    expect((await kubectl(out, 'get', '--raw', '/api')).code).toBe(0);
    await admin.delete('v1', 'Secret', 'readonly-token-anchor', 'ro-main');
    const ms = await untilRejected(out, 30_000);
    timings['anchor deleted → token rejected (ms)'] = ms;
    const resumed = await runReadonly(raw, { store: first.store, secrets: first.secrets });
    expect(resumed.errors).toEqual([]);
    expect(resumed.outcome).toBe('done');
    const status = Object.fromEntries(resumed.events.flatMap((e) => (e.type === 'step-end' ? [[e.step, e.status]] : [])));
    // issue-token may count as verified: its token in memory was never written (the fresh run above wrote
    // another one); write-kubeconfig then finds the remembered token revoked and issues a fresh one. prove is
    // checked again when its turn comes, after the repair, and then passes with the new token.
    expect(status).toMatchObject({ 'namespace-check': 'verified', 'apply-rbac': 'done', 'write-kubeconfig': 'done', prove: 'verified' });
    expect(await canI(out, 'list', 'pods', '-A')).toBe('yes');
  });

  it('a time-bound token carries the requested lifetime, and the apiserver enforces exp', async () => {
    const shortOut = path.join(tmp, 'short.kubeconfig');
    const r = await runReadonly({ namespace: 'ro-short', duration: '10m', 'kubeconfig-out': shortOut });
    expect(r.errors).toEqual([]);
    const expiresAt = Date.parse(String(r.outputs('issue-token')?.expiresAt));
    expect(Math.abs(expiresAt - Date.now() - 600_000)).toBeLessThan(60_000);
    const token = tokenOf(fs.readFileSync(shortOut, 'utf8'))!;
    const claims = jwtPayload(token);
    expect(Number(claims.exp) - Number(claims.iat)).toBe(600);
    expect(claims['kubernetes.io']).toMatchObject({ namespace: 'ro-short', serviceaccount: { name: 'readonly' }, secret: { name: 'readonly-token-anchor' } });
    // TokenRequest refuses less than 10 minutes, and a test should not wait 10 minutes. So: the very same token
    // (same header and claims, same signing key the apiserver uses: pki/sa.key), with exp 3 s from now.
    const [h] = token.split('.');
    const now = Math.floor(Date.now() / 1000);
    const body = Buffer.from(JSON.stringify({ ...claims, iat: now, nbf: now, exp: now + 3 })).toString('base64url');
    const sig = crypto.sign('RSA-SHA256', Buffer.from(`${h}.${body}`), fs.readFileSync(path.join(cp.pkiDir, 'sa.key')));
    const shortLived = kubeconfigFor('three-seconds.conf', `${h}.${body}.${sig.toString('base64url')}`);
    expect((await loadCluster(shortLived).whoami()).username).toBe('system:serviceaccount:ro-short:readonly');
    const ms = await untilRejected(shortLived, 120_000);
    timings['3 s token: rejected after (ms)'] = ms;
    const e = await loadCluster(shortLived)
      .list('v1', 'Pod')
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ClusterError);
    expect((e as ClusterError).kind).toBe('unauthorized');
  }, 180_000);

  it('long-lived token: warned about, never expires, dies with its Secret; switching kinds revokes the old token', async () => {
    const o = path.join(tmp, 'switch.kubeconfig');
    const a = await runReadonly({ namespace: 'ro-switch', 'kubeconfig-out': o });
    expect(a.outcome).toBe('done');
    const timebound = kubeconfigFor('switch-timebound.conf', tokenOf(fs.readFileSync(o, 'utf8'))!);
    const b = await runReadonly({ namespace: 'ro-switch', token: 'long-lived', 'kubeconfig-out': o });
    expect(b.errors).toEqual([]);
    expect(b.outputs('apply-rbac')?.removed).toEqual(['Secret ro-switch/readonly-token-anchor']);
    expect(b.logs.join('\n')).toMatch(/WARNING: a long-lived token never expires.*kubectl delete secret readonly-token -n ro-switch/);
    expect(b.outputs('issue-token')).toMatchObject({ token: 'long-lived', expiresAt: null });
    expect(fs.readFileSync(o, 'utf8')).toContain('# WARNING: a long-lived token that never expires.');
    expect(jwtPayload(tokenOf(fs.readFileSync(o, 'utf8'))!).exp).toBeUndefined();
    expect(rowsOf(b).every((r) => r.ok)).toBe(true);
    await untilRejected(timebound, 30_000);
    expect(await canI(o, 'list', 'pods', '-A')).toBe('yes');
    await admin.delete('v1', 'Secret', 'readonly-token', 'ro-switch');
    timings['long-lived Secret deleted → token rejected (ms)'] = await untilRejected(o, 30_000);
  }, 120_000);

  it('scope view: no nodes; scope namespace:NAME: that namespace only; changing scope removes the old binding', async () => {
    await admin.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ro-team' } }]);
    await admin.apply([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'ro-team' }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] } }]);
    const o = path.join(tmp, 'scoped.kubeconfig');
    const c = await runReadonly({ namespace: 'ro-scoped', 'kubeconfig-out': o });
    expect(c.outcome).toBe('done');
    const v = await runReadonly({ namespace: 'ro-scoped', scope: 'view', 'kubeconfig-out': o });
    expect(v.errors).toEqual([]);
    expect(v.outputs('apply-rbac')?.removed).toEqual(['ClusterRoleBinding boardkube-readonly:ro-scoped:readonly']);
    expect(await canI(o, 'list', 'pods', '-A')).toBe('yes');
    expect(await canI(o, 'list', 'nodes')).toBe('no');
    expect(await canI(o, 'get', 'secrets', '-n', 'ro-team')).toBe('no');
    const n = await runReadonly({ namespace: 'ro-scoped', scope: 'namespace:ro-team', 'kubeconfig-out': o });
    expect(n.errors).toEqual([]);
    expect(n.outputs('apply-rbac')?.removed).toEqual(['ClusterRoleBinding boardkube-view:ro-scoped:readonly']);
    expect(await canI(o, 'list', 'pods', '-n', 'ro-team')).toBe('yes');
    expect(await canI(o, 'list', 'pods', '-A')).toBe('no');
    expect(await canI(o, 'list', 'pods', '-n', 'default')).toBe('no');
    expect(await canI(o, 'create', 'configmaps', '-n', 'ro-team')).toBe('no');
    expect((await kubectl(o, 'get', 'pods')).stdout).toMatch(/^app\s/m); // the context's namespace is ro-team
    const rows = rowsOf(n);
    expect(rows.find((r) => r.check === 'list pods in namespace ro-team' && r.how === 'request')?.detail).toBe('1 pods');
    expect(rows.every((r) => r.ok)).toBe(true);
  }, 120_000);
});

// ------------------------------------------------------------------------------------------ bad input

describe('readonly stage: bad input', () => {
  it('refuses invalid names before anything is touched', async () => {
    await expect(runReadonly({ account: 'Read_Only', namespace: 'ro-bad', 'kubeconfig-out': path.join(tmp, 'bad.kubeconfig') })).rejects.toThrow(InputError);
    await expect(runReadonly({ namespace: 'RO BAD', 'kubeconfig-out': path.join(tmp, 'bad.kubeconfig') })).rejects.toThrow(/namespace: "RO BAD" is not a valid namespace name/);
    expect(await admin.get('v1', 'Namespace', 'ro-bad')).toBeNull();
  });

  it('refuses a namespace that is being deleted, and creates nothing', async () => {
    await admin.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ro-leaving' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: 'ro-leaving', finalizers: ['boardkube.dev/test-hold'] } },
    ]);
    await admin.delete('v1', 'Namespace', 'ro-leaving');
    await admin.waitFor('v1', 'Namespace', 'ro-leaving', undefined, (o) => Boolean(o.metadata.deletionTimestamp), { timeoutMs: 10_000 });
    const r = await runReadonly({ namespace: 'ro-leaving', 'kubeconfig-out': path.join(tmp, 'leaving.kubeconfig') });
    expect(r.outcome).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/namespace ro-leaving \(namespace of the service account\) is being deleted \(since .*\); nothing can be created in it \(fix: wait until `kubectl get namespace ro-leaving` says NotFound/);
    expect(await admin.get('v1', 'ServiceAccount', 'readonly', 'ro-leaving')).toBeNull();
    expect(fs.existsSync(path.join(tmp, 'leaving.kubeconfig'))).toBe(false);
  });

  it('refuses an admin kubeconfig without RBAC rights, saying which, and creates nothing', async () => {
    const weak = await accountWithRules('ro-weak-admin', 'weak', []);
    const r = await runReadonly({ namespace: 'ro-weak', 'kubeconfig-out': path.join(tmp, 'weak.kubeconfig') }, { kubeconfig: weak });
    expect(r.outcome).toBe('failed');
    const msg = r.errors.join('\n');
    expect(msg).toMatch(/your kubeconfig may not read namespace ro-weak/);
    expect(msg).toMatch(/may not create or patch serviceaccounts in namespace ro-weak/);
    expect(msg).toMatch(/may not create or patch clusterroles.rbac.authorization.k8s.io \(cluster-wide\)/);
    expect(await admin.get('v1', 'Namespace', 'ro-weak')).toBeNull();
  });

  it('an admin who may create RBAC objects but not grant what it lacks: stops, and says what is there', async () => {
    const rw = ['get', 'list', 'create', 'patch', 'update', 'delete'];
    const partial = await accountWithRules('ro-partial-admin', 'partial', [
      { apiGroups: [''], resources: ['namespaces', 'serviceaccounts', 'secrets'], verbs: rw },
      { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles', 'clusterrolebindings', 'rolebindings'], verbs: rw },
    ]);
    const r = await runReadonly({ namespace: 'ro-partial', 'kubeconfig-out': path.join(tmp, 'partial.kubeconfig') }, { kubeconfig: partial });
    expect(r.outcome).toBe('failed');
    const msg = r.errors.join('\n');
    // The ClusterRole exists already (earlier tests) and an unchanged apply is let through; the binding that
    // would grant its rules is refused by the API server's escalation check.
    expect(msg).toMatch(/applying ClusterRoleBinding boardkube-readonly:ro-partial:readonly failed: .* is attempting to grant RBAC permissions not currently held \(\d+ rules, e\.g\. \{APIGroups:\[""\]/);
    expect(msg).toMatch(/fix: an account may only grant rights it holds itself/);
    expect(msg.split('\n').length).toBeLessThan(8);
    expect(msg).toMatch(/already in the cluster: Namespace ro-partial \(created\), ServiceAccount ro-partial\/readonly \(created\), ClusterRole boardkube-readonly \(unchanged\)/);
    expect(msg).toMatch(/kubectl delete serviceaccount readonly -n ro-partial/);
    expect(msg).toMatch(/not applied: ClusterRoleBinding boardkube-readonly:ro-partial:readonly, Secret ro-partial\/readonly-token-anchor/);
  });

  it('a missing kubeconfig, and one whose CA does not match, fail with clear messages', async () => {
    const missing = await runReadonly({ namespace: 'ro-x', 'kubeconfig-out': path.join(tmp, 'x.kubeconfig') }, { kubeconfig: path.join(tmp, 'no-such-admin.conf') });
    expect(missing.outcome).toBe('failed');
    expect(missing.errors.join('\n')).toMatch(/kubeconfig .*no-such-admin.conf does not exist/);
    const other = fs.readFileSync(path.join(cp.pkiDir, 'front-proxy-ca.crt'));
    const wrongCa = path.join(tmp, 'wrong-ca-admin.conf');
    fs.writeFileSync(wrongCa, fs.readFileSync(cp.kubeconfigPath, 'utf8').replace(/certificate-authority-data: \S+/, `certificate-authority-data: ${other.toString('base64')}`), { mode: 0o600 });
    const tls = await runReadonly({ namespace: 'ro-x', 'kubeconfig-out': path.join(tmp, 'x.kubeconfig') }, { kubeconfig: wrongCa });
    expect(tls.outcome).toBe('failed');
    expect(tls.errors.join('\n')).toContain("the server's certificate is not signed by the CA in KUBECONFIG");
  });
});

