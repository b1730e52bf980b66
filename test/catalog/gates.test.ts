// The feature-gate catalogue against the real components of the test binaries (built for one minor, v1.37
// by default): `--help` lists every ALPHA/BETA gate with its default; `--feature-gates=X=v --version` shows
// what a component accepts (GA gates with a warning, locked ones only at their default, removed ones never).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkGate, checkGateSet, FEATURE_GATES, gateIn, gatesOf, type GateComponent } from '../../src/catalog/gates.ts';
import { mutatingPolicySupport, defaultWebhookMode } from '../../src/catalog/admission.ts';
import { findRelease, RELEASES, type KubernetesRelease } from '../../src/catalog/versions.ts';
import { testbinDir } from '../harness/controlplane.ts';

const execFileP = promisify(execFile);
const COMPONENTS: GateComponent[] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'];

let binDir: string;
let release: KubernetesRelease;
const built: GateComponent[] = [];
const helpGates = new Map<GateComponent, Map<string, { stage: string; default: boolean }>>();

/**
 * Runs a component with only --feature-gates and --version: the gate is checked while the flags are parsed.
 * Not the kubelet: it reads gates from its config file later, and running it for real would touch this machine.
 */
const FLAG_CHECKED: GateComponent[] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
async function tryGate(component: GateComponent, gate: string, value: boolean): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await execFileP(path.join(binDir, component), [`--feature-gates=${gate}=${value}`, '--version'], { timeout: 30_000 });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  binDir = await testbinDir();
  const version = (await execFileP(path.join(binDir, 'kube-apiserver'), ['--version'])).stdout.trim().replace(/^Kubernetes /, '');
  const r = findRelease(version);
  if (!r) throw new Error(`the test binaries are ${version}, which the catalogue does not list`);
  release = r;
  for (const c of COMPONENTS) {
    if (!fs.existsSync(path.join(binDir, c))) continue;
    built.push(c);
    const help = await execFileP(path.join(binDir, c), ['--help'], { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }).then(
      (x) => x.stdout + x.stderr,
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    const m = new Map<string, { stage: string; default: boolean }>();
    for (const hit of help.matchAll(/(?:^|\s)(?:kube:)?([A-Za-z0-9]+)=true\|false \((ALPHA|BETA) - default=(true|false)\)/g)) {
      m.set(hit[1]!, { stage: hit[2]!, default: hit[3] === 'true' });
    }
    helpGates.set(c, m);
  }
}, 900_000);

describe(`feature-gate catalogue vs the real components`, () => {
  it('found the components and their gate lists', () => {
    expect(built).toContain('kube-apiserver');
    expect(built).toContain('kube-controller-manager');
    for (const c of built) expect(helpGates.get(c)!.size, `${c} --help lists gates`).toBeGreaterThan(20);
  });

  it('every ALPHA/BETA gate of the minor is listed by each of its components with the same stage and default', () => {
    const rows = gatesOf(release).filter((g) => g.stage === 'ALPHA' || g.stage === 'BETA');
    expect(rows.length).toBeGreaterThan(3);
    for (const g of rows) {
      const gate = FEATURE_GATES.find((x) => x.name === g.name)!;
      for (const c of gate.components.filter((x) => built.includes(x))) {
        expect(helpGates.get(c)!.get(g.name), `${c} --help: ${g.name}`).toEqual({ stage: g.stage, default: g.default });
      }
    }
  });

  it('a GA or deprecated gate is not listed, and the component says so when it is set', async () => {
    for (const g of gatesOf(release).filter((x) => x.stage === 'GA' || x.stage === 'DEPRECATED')) {
      const gate = FEATURE_GATES.find((x) => x.name === g.name)!;
      for (const c of gate.components.filter((x) => built.includes(x))) {
        expect(helpGates.get(c)!.has(g.name), `${c} lists ${g.name} as alpha/beta`).toBe(false);
        if (!FLAG_CHECKED.includes(c)) continue;
        const r = await tryGate(c, g.name, g.default);
        expect(r.ok, `${c} --feature-gates=${g.name}=${g.default}: ${r.out}`).toBe(true);
        expect(r.out).toMatch(g.stage === 'GA' ? /setting GA feature gate/ : /setting deprecated feature gate/i);
      }
    }
  }, 300_000);

  it('a locked gate set against its default stops the component, as the catalogue refuses it', async () => {
    const locked = gatesOf(release).filter((g) => g.locked);
    expect(locked.length).toBeGreaterThan(0);
    for (const g of locked) {
      expect(checkGate(g.name, !g.default, release).ok).toBe(false);
      const c = [...FEATURE_GATES.find((x) => x.name === g.name)!.components, 'kube-apiserver' as const].find((x) => built.includes(x) && FLAG_CHECKED.includes(x))!;
      const r = await tryGate(c, g.name, !g.default);
      expect(r.ok).toBe(false);
      expect(r.out).toContain(`cannot set feature gate ${g.name} to ${!g.default}, feature is locked to ${g.default}`);
    }
  }, 300_000);

  it('a removed gate (the seed\'s TTLAfterFinished) stops every component, as the catalogue refuses it', async () => {
    const removed = FEATURE_GATES.filter((g) => gateIn(g.name, release).kind === 'removed');
    expect(removed.map((g) => g.name)).toContain('TTLAfterFinished');
    for (const g of removed) {
      const v = checkGate(g.name, true, release);
      expect(v.ok).toBe(false);
      if (!v.ok) expect(v.reason).toContain(`removed in 1.${g.removed}: the apiserver would not start`);
      for (const c of built.filter((x) => FLAG_CHECKED.includes(x))) {
        const r = await tryGate(c, g.name, true);
        expect(r.ok, `${c} accepted ${g.name}`).toBe(false);
        expect(r.out).toContain(`unrecognized feature gate: ${g.name}`);
      }
    }
  }, 300_000);

  it('an ALPHA/BETA gate set against its default: the component agrees with the catalogue, dependencies included', async () => {
    let refusedForDependents = 0;
    for (const g of gatesOf(release).filter((x) => x.stage !== 'GA' && x.stage !== 'DEPRECATED')) {
      const gate = FEATURE_GATES.find((x) => x.name === g.name)!;
      // Every kube component knows every kube gate; the apiserver stands in for a kubelet-only one.
      const c = [...gate.components, 'kube-apiserver' as const].find((x) => built.includes(x) && FLAG_CHECKED.includes(x))!;
      const [alone] = checkGateSet([{ name: g.name, value: !g.default }], release);
      const r = await tryGate(c, g.name, !g.default);
      expect(r.ok, `${c} --feature-gates=${g.name}=${!g.default}: ${r.out}`).toBe(alone!.ok);
      if (alone!.ok) continue;
      // Refused because gates that need it stay on: the catalogue's fix is what the component accepts.
      refusedForDependents++;
      expect(r.out).toContain('depends on features that are disabled');
      const fix = /--set gates=(\S+)/.exec(alone!.ok ? '' : alone!.fix)![1]!;
      expect(checkGateSet(fix.split(',').map((kv) => ({ name: kv.split('=')[0]!, value: kv.endsWith('=true') })), release).every((v) => v.ok)).toBe(true);
      const all = await execFileP(path.join(binDir, c), [`--feature-gates=${fix}`, '--version']).then(() => true, () => false);
      expect(all, `${c} --feature-gates=${fix}`).toBe(true);
    }
    expect(refusedForDependents).toBeGreaterThan(0);
  }, 300_000);
});

describe('catalogue rules without binaries', () => {
  it('an unknown gate is refused with a near name', () => {
    const v = checkGate('memoryqos', true, { minor: '1.37' });
    expect(v).toMatchObject({ ok: false, fix: 'did you mean MemoryQoS?' });
  });

  it('knows the seed\'s days: TTLAfterFinished was alpha and off in 1.14, GA in 1.23, gone in 1.25', () => {
    expect(gateIn('TTLAfterFinished', { minor: '1.14' })).toMatchObject({ kind: 'exists', stage: 'ALPHA', default: false });
    expect(gateIn('TTLAfterFinished', { minor: '1.23' })).toMatchObject({ kind: 'exists', stage: 'GA', default: true });
    expect(gateIn('TTLAfterFinished', { minor: '1.25' })).toMatchObject({ kind: 'removed', removedIn: 25 });
    for (const r of RELEASES) expect(checkGate('TTLAfterFinished', true, r).ok).toBe(false);
  });

  it('MutatingAdmissionPolicy: opt-in v1beta1 on 1.35, on by default as v1 from 1.36; webhook mode is the default only where the policy needs flags', () => {
    expect(mutatingPolicySupport({ minor: '1.35' })).toEqual({ kind: 'opt-in', apiVersion: 'admissionregistration.k8s.io/v1beta1', gate: 'MutatingAdmissionPolicy', runtimeConfig: 'admissionregistration.k8s.io/v1beta1=true' });
    expect(mutatingPolicySupport({ minor: '1.36' })).toEqual({ kind: 'on', apiVersion: 'admissionregistration.k8s.io/v1' });
    expect(mutatingPolicySupport({ minor: '1.31' }).kind).toBe('absent');
    expect(defaultWebhookMode({ minor: '1.35' })).toBe('webhook');
    expect(defaultWebhookMode({ minor: '1.37' })).toBe('policy');
  });
});
