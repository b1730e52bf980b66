// The ttl and webhook stages in the practice lab, through the built CLI (--lab, instant timings): the same flows
// as on a real cluster, with the trainer's faults: the webhook pod crash-looping, its certificate expired.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boardkube, ensureBuilt } from '../ttl/helpers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-webhook-lab-'));
let file: string;
const env = { BOARDKUBE_LAB_SPEED: '0', BOARDKUBE_STATE_DIR: path.join(tmp, 'state') };
const lab = (...args: string[]) => boardkube(['apply', '-f', file, '--lab', '--yes', ...args], env, 120_000);

beforeAll(async () => {
  ensureBuilt();
  file = path.join(tmp, 'cluster.yaml');
  expect((await boardkube(['init', '-f', file], env)).code).toBe(0);
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('ttl stage in the lab', () => {
  it('proves a finished Job disappears; the removed gate is refused at parse time', async () => {
    const r = await lab('--stage', 'ttl', '--set', 'proof-ttl=5');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Job boardkube-ttl-proof-[0-9a-f]+ was deleted [\d.]+ s after it finished \(TTL 5 s/);
    const bad = await lab('--stage', 'ttl', '--set', 'gates=TTLAfterFinished=true');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('TTLAfterFinished was removed in 1.25: the apiserver would not start');
  });
});

describe('webhook stage in the lab', () => {
  it('mode webhook: certificate, server, registration, proof including the webhook down', async () => {
    const r = await lab('--stage', 'webhook', '--set', 'mode=webhook', '--set', 'ttl=30m');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('new certificate from the dedicated CA');
    expect(r.stdout).toMatch(/a Job without a TTL gets the default\s+1800 s\s+1800 s\s+ok/);
    expect(r.stdout).toMatch(/with the webhook down, a Job is still created\s+created, no TTL\s+created, no TTL\s+ok/);
    const status = await boardkube(['status', '-f', file, '--lab', '--json'], env);
    const steps = JSON.parse(status.stdout).steps as Record<string, { outputs?: { status?: string } }>;
    expect(steps['webhook/serving-cert@-']?.outputs?.status).toMatch(/webhook certificate \(dedicated CA\) valid until \d{4}-\d\d-\d\d \(36[45] days/);
  });

  it('fault webhook-cert-expired: a re-run renews the certificate and the caBundle', async () => {
    const r = await lab('--stage', 'webhook', '--set', 'mode=webhook', '--set', 'ttl=30m', '--lab-fault', 'cluster:webhook-cert-expired');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/the certificate expired on \d{4}-/);
    expect(r.stdout).toContain('MutatingWebhookConfiguration boardkube-job-ttl configured');
    expect(r.stdout).toMatch(/prove: (done|Prove)/);
  });

  it('fault webhook-crashloop: the stage fails at once and says the webhook is down; Jobs still pass; cluster:none heals it', async () => {
    const r = await lab('--stage', 'webhook', '--set', 'mode=webhook', '--set', 'ttl=30m', '--lab-fault', 'cluster:webhook-crashloop');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/the webhook server is crash-looping \(.*CrashLoopBackOff.*\); Jobs are still created meanwhile, without the default TTL/);
    const status = await boardkube(['status', '-f', file, '--lab', '--verify'], env);
    expect(status.stdout).toMatch(/no longer done: webhook\/prove \(the webhook server boardkube-webhook\/job-ttl-webhook is down/i);
    const healed = await lab('--stage', 'webhook', '--set', 'mode=webhook', '--set', 'ttl=30m', '--lab-fault', 'cluster:none');
    expect(healed.code, healed.stdout + healed.stderr).toBe(0);
  });

  it('mode policy afterwards: the webhook of mode webhook is removed, the policy defaults Jobs', async () => {
    const r = await lab('--stage', 'webhook', '--set', 'mode=policy');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('MutatingWebhookConfiguration boardkube-job-ttl deleted (left from mode webhook)');
    expect(r.stdout).toMatch(/serving-cert\| skipped: mode policy/);
    // prove's probe (the three dry-run Jobs) passes again once the policy is there: verified, or run.
    expect(r.stdout).toMatch(/prove: done/);
    const status = await boardkube(['status', '-f', file, '--lab', '--verify'], env);
    expect(status.stdout).toMatch(/every step recorded as done still holds \(\d+ checked\)/);
  });

  it('a 1.35 cluster: mode policy is refused (the beta API is off), mode webhook is its default', async () => {
    const spec = parse(fs.readFileSync(file, 'utf8'));
    spec.kubernetesVersion = '1.35.4';
    spec.name = 'old';
    const old = path.join(tmp, 'old.yaml');
    fs.writeFileSync(old, stringify(spec));
    const r = await boardkube(['apply', '-f', old, '--lab', '--yes', '--stage', 'webhook', '--set', 'mode=policy'], env);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toContain('on 1.35 it is beta and off unless kube-apiserver runs with --feature-gates=MutatingAdmissionPolicy=true');
    const d = await boardkube(['apply', '-f', old, '--lab', '--yes', '--stage', 'webhook'], env);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(d.stdout).toContain('mode webhook (the default for Kubernetes 1.35)');
  });
});
