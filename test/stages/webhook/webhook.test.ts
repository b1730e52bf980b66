// The webhook stage against the real 1.37 test control plane:
// - mode policy through the built CLI with --kubeconfig: the real apiserver's MutatingAdmissionPolicy defaults
//   the TTL of Jobs created afterwards;
// - mode webhook's server: the project's own file, run by this test, called by the real apiserver through
//   clientConfig.url over TLS with a certificate signed by the CA of the real `kubeadm init phase certs`
//   (with the very script the master runs) and, second, by a dedicated CA made by boardkube.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionRows, certState, clusterCaSigningScript, dedicatedCaCert, SERVER_SOURCE_PATH, webhookConfiguration } from '../../../flows/webhook/index.ts';
import { parseSigned, tlsSecret } from '../../../flows/webhook/certificate.ts';
import { loadCluster, type KubeCluster } from '../../../src/adapters/kube/cluster.ts';
import { apiRequest, freePort, type ControlPlane } from '../../harness/controlplane.ts';
import { boardkube, realClusterSuite } from '../ttl/helpers.ts';

const execFileP = promisify(execFile);
const suite = realClusterSuite('bk-webhook-');
let tmp: string;
let cp: ControlPlane;
let admin: KubeCluster;
let file: string;
let env: Record<string, string>;

beforeAll(() => {
  ({ tmp, cp, file, env } = suite);
  admin = loadCluster(cp.kubeconfigPath);
});

afterAll(async () => {
  await admin?.close();
});

let jobCount = 0;
/** Creates a real Job (stored) and returns its TTL as the API server stored it. */
async function createJob(ns: string, ttl?: number): Promise<number | undefined> {
  const name = `probe-${++jobCount}`;
  const r = await apiRequest(cp, 'POST', `/apis/batch/v1/namespaces/${ns}/jobs`, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { ...(ttl === undefined ? {} : { ttlSecondsAfterFinished: ttl }), template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
  });
  expect(r.status, r.body).toBe(201);
  return (r.json as { spec: { ttlSecondsAfterFinished?: number } }).spec.ttlSecondsAfterFinished;
}

/** New admission configuration reaches the apiserver a moment after it is stored: retry until it shows. */
async function eventually<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('mode policy on the real 1.37 apiserver', () => {
  it('apply --stage webhook --set mode=policy --kubeconfig ADMIN --yes: Jobs created afterwards get the default, keep their own, kube-system untouched', async () => {
    const r = await boardkube(['apply', '-f', file, '--stage', 'webhook', '--set', 'mode=policy', '--kubeconfig', cp.kubeconfigPath, '--yes'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('MutatingAdmissionPolicy boardkube-job-ttl created');
    expect(r.stdout).toMatch(/a Job without a TTL gets the default\s+3600 s\s+3600 s\s+ok/);
    const policy = await admin.get('admissionregistration.k8s.io/v1', 'MutatingAdmissionPolicy', 'boardkube-job-ttl');
    expect(policy?.spec).toMatchObject({ failurePolicy: 'Ignore', reinvocationPolicy: 'Never' });
    expect(await eventually(() => createJob('default'), (v) => v === 3600)).toBe(3600);
    expect(await createJob('default', 77)).toBe(77);
    expect(await createJob('kube-system')).toBeUndefined();
  }, 300_000);

  it('a second run changes nothing; another ttl reconfigures the policy', async () => {
    const again = await boardkube(['apply', '-f', file, '--stage', 'webhook', '--set', 'mode=policy', '--kubeconfig', cp.kubeconfigPath, '--yes'], env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/apply-policy: done \(verified, not run again\)/);
    const longer = await boardkube(['apply', '-f', file, '--stage', 'webhook', '--set', 'mode=policy', '--set', 'ttl=2h', '--kubeconfig', cp.kubeconfigPath, '--yes'], env);
    expect(longer.code, longer.stdout + longer.stderr).toBe(0);
    expect(longer.stdout).toContain('MutatingAdmissionPolicy boardkube-job-ttl configured');
    expect(await eventually(() => createJob('default'), (v) => v === 7200)).toBe(7200);
  }, 300_000);

  it('on a 1.35 cluster file the beta API is not served by this apiserver: refused with the reason and the fix, exit 2', async () => {
    const spec = parse(fs.readFileSync(file, 'utf8'));
    spec.kubernetesVersion = '1.35.4';
    const old = path.join(tmp, 'cluster-135.yaml');
    fs.writeFileSync(old, stringify(spec));
    const r = await boardkube(['apply', '-f', old, '--stage', 'webhook', '--set', 'mode=policy', '--kubeconfig', cp.kubeconfigPath, '--yes'], { BOARDKUBE_STATE_DIR: path.join(tmp, 'state-135') });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/does not serve MutatingAdmissionPolicy \(admissionregistration\.k8s\.io\/v1beta1\): on 1\.35 it is beta and off unless kube-apiserver runs with --feature-gates=MutatingAdmissionPolicy=true and --runtime-config=admissionregistration\.k8s\.io\/v1beta1=true/);
    expect(r.stdout + r.stderr).toContain('use --set mode=webhook');
    // The default mode on 1.35 is the webhook: the catalogue says so.
    const plan = await boardkube(['plan', '-f', old, '--stage', 'webhook', '--kubeconfig', cp.kubeconfigPath], { BOARDKUBE_STATE_DIR: path.join(tmp, 'state-135') });
    expect(plan.stdout).toContain('mode webhook (the default for Kubernetes 1.35)');
  }, 120_000);

  it('bad options are refused by name: exit 2', async () => {
    const mode = await boardkube(['apply', '-f', file, '--stage', 'webhook', '--set', 'mode=magic', '--kubeconfig', cp.kubeconfigPath, '--yes'], env);
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain('mode: "magic" is not a mode');
    const ttl = await boardkube(['apply', '-f', file, '--stage', 'webhook', '--set', 'ttl=forever', '--kubeconfig', cp.kubeconfigPath, '--yes'], env);
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toContain('ttl: "forever" is not a duration');
  }, 60_000);

  afterAll(async () => {
    await admin.delete('admissionregistration.k8s.io/v1', 'MutatingAdmissionPolicyBinding', 'boardkube-job-ttl');
    await admin.delete('admissionregistration.k8s.io/v1', 'MutatingAdmissionPolicy', 'boardkube-job-ttl');
  });
});

describe('mode webhook: the project\'s server called by the real apiserver', () => {
  const servers: ChildProcess[] = [];
  afterAll(() => {
    for (const s of servers) s.kill('SIGKILL');
  });

  async function startServer(dir: string, certPem: string, keyPem: string, ttl: number): Promise<{ port: number; child: ChildProcess; log: () => string }> {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'tls.crt'), certPem);
    fs.writeFileSync(path.join(dir, 'tls.key'), keyPem, { mode: 0o600 });
    const port = await freePort();
    const child = spawn(process.execPath, [SERVER_SOURCE_PATH], {
      env: { ...process.env, PORT: String(port), DEFAULT_TTL_SECONDS: String(ttl), TLS_CERT_FILE: path.join(dir, 'tls.crt'), TLS_KEY_FILE: path.join(dir, 'tls.key') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    servers.push(child);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    await eventually(async () => out, (o) => o.includes('listening'), 10_000);
    expect(out).toContain('listening');
    return { port, child, log: () => out };
  }

  it('the master\'s signing script passes shellcheck', async () => {
    const f = path.join(tmp, 'sign.sh');
    fs.writeFileSync(f, clusterCaSigningScript('/etc/kubernetes/pki', ['a.b.svc', '127.0.0.1']));
    await execFileP('shellcheck', ['-s', 'sh', f]);
  });

  it('TLS from the kubeadm CA (signed by the master\'s script): defaults, keeps, skips kube-system; server down -> Jobs still created', async () => {
    // The cluster CA of the real `kubeadm init phase certs`; the script signs as it does on the master.
    const outDir = path.join(tmp, 'master-webhook-certs');
    const signed = spawnSync('sh', ['-s'], { input: clusterCaSigningScript(cp.pkiDir, ['127.0.0.1'], outDir), encoding: 'utf8' });
    expect(signed.status, signed.stderr).toBe(0);
    const caPem = fs.readFileSync(path.join(cp.pkiDir, 'ca.crt'), 'utf8');
    const { certPem, keyPem, issuer, caPem: printed } = parseSigned(signed.stdout);
    expect(printed).toBe(caPem);
    expect(issuer).toBe('cluster CA');
    // Kept on the "master" with mode 0600, beside nothing of the CA but what openssl read.
    expect(fs.statSync(path.join(outDir, 'tls.key')).mode & 0o077).toBe(0);
    const cert = new X509Certificate(certPem);
    expect(cert.checkIssued(new X509Certificate(caPem))).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    const srv = await startServer(path.join(tmp, 'kubeadm-ca'), certPem, keyPem, 1800);
    await admin.apply([webhookConfiguration(caPem, { url: `https://127.0.0.1:${srv.port}/mutate` })]);

    const rows = await eventually(() => admissionRows(admin, 1800), (rs) => rs.every((r) => r.ok));
    expect(rows.map((r) => [r.check, r.actual, r.ok])).toEqual([
      ['a Job without a TTL gets the default', '1800 s', true],
      ['a Job with its own TTL keeps it', '120 s', true],
      ['a Job in kube-system is not touched', 'no TTL', true],
    ]);
    // Stored Jobs too, not only dry runs.
    expect(await createJob('default')).toBe(1800);
    expect(await createJob('default', 33)).toBe(33);
    expect(await createJob('kube-system')).toBeUndefined();
    // The real apiserver called the project's server (its log names what it did).
    expect(srv.log()).toMatch(/"action":"defaulted"/);
    expect(srv.log()).toMatch(/"action":"kept"/);

    // Webhook down: failurePolicy Ignore lets Jobs through, without the default.
    srv.child.kill('SIGTERM');
    await new Promise((r) => srv.child.once('exit', r));
    expect(await createJob('default')).toBeUndefined();
  }, 120_000);

  it('TLS from a dedicated CA (a cluster named with --kubeconfig only): the apiserver trusts the caBundle; an expired certificate is refused, so Jobs pass undefaulted', async () => {
    const good = dedicatedCaCert(['127.0.0.1']);
    const srv = await startServer(path.join(tmp, 'dedicated'), good.certPem, good.keyPem, 900);
    await admin.apply([webhookConfiguration(good.caPem, { url: `https://127.0.0.1:${srv.port}/mutate` })]);
    expect(await eventually(() => createJob('default'), (v) => v === 900)).toBe(900);

    const old = dedicatedCaCert(['127.0.0.1'], 365, new Date(Date.now() - 400 * 86_400_000));
    const expired = await startServer(path.join(tmp, 'expired'), old.certPem, old.keyPem, 901);
    await admin.apply([webhookConfiguration(old.caPem, { url: `https://127.0.0.1:${expired.port}/mutate` })]);
    // Give the apiserver time to take the new configuration; the expired certificate fails the handshake.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await createJob('default')).toBeUndefined();
    expect(expired.log()).not.toMatch(/"action":"defaulted"/);
    await admin.delete('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', 'boardkube-job-ttl');
  }, 120_000);
});

describe('serving certificate: kept while good, renewed when near its end', () => {
  const names = ['job-ttl-webhook.boardkube-webhook.svc'];
  it('good for a year: ok; 20 days left: renew; expired: renew; other names: renew', () => {
    const fresh = tlsSecret(dedicatedCaCert(names));
    expect(certState(fresh, names)).toMatchObject({ ok: true });
    const nearEnd = tlsSecret(dedicatedCaCert(names, 20));
    expect(certState(nearEnd, names)).toMatchObject({ ok: false, why: expect.stringContaining('expires in 19 days') });
    const expired = tlsSecret(dedicatedCaCert(names, 365, new Date(Date.now() - 366 * 86_400_000)));
    expect(certState(expired, names)).toMatchObject({ ok: false, why: expect.stringContaining('expired on') });
    expect(certState(fresh, ['other.svc'])).toMatchObject({ ok: false, why: 'the certificate is not valid for other.svc' });
    expect(certState(null, names)).toMatchObject({ ok: false, why: 'there is no serving certificate yet' });
  });
});
