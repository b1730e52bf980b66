// Feature gates applied to a cluster the control-plane stage built, in the practice lab (the boards' SSH is the
// lab's; the real-cluster harness is where kubeadm itself runs them): the master's static pods and every kubelet
// get the gates, a re-run verifies them; with the fault gate-breaks-apiserver the control plane is rolled back
// and the step says so. The scripts the boards run pass shellcheck.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import '../../../src/lab/index.ts';
import { controlPlaneGatesScript, kubeletGatesScript, restoreKubeletConfigMapScript } from '../../../flows/ttl/gate-scripts.ts';
import { openSession } from '../../../src/app/session.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { MemorySecrets } from '../../../src/engine/secrets.ts';
import type { EngineEvent, StageId } from '../../../src/engine/types.ts';

process.env.BOARDKUBE_LAB_SPEED = '0';
const execFileP = promisify(execFile);
const cluster = { ...defaultCluster('/nonexistent'), nodes: defaultCluster('/nonexistent').nodes.slice(0, 3) };

async function run(stateDir: string, stages: StageId[], options: Record<string, unknown> = {}, faults: string[] = []) {
  // Files the stages keep (the admin kubeconfig) go to the state dir too.
  process.env.BOARDKUBE_STATE_DIR = stateDir;
  const s = openSession({ cluster, stateDir, lab: true, labFaults: faults, secrets: new MemorySecrets(), options: Object.fromEntries(stages.map((id) => [id, options])) });
  const events: EngineEvent[] = [];
  s.engine.on((e) => events.push(e));
  try {
    return { outcome: await s.engine.run(stages), events };
  } finally {
    await s.close();
  }
}

const logs = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'log' ? [e.line] : []));
const errors = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'step-end' && e.error ? [e.error] : []));

describe('ttl stage: feature gates on a boardkube-built cluster (practice lab)', () => {
  it('sets the gates on the master and every kubelet; a re-run verifies them; a gate that breaks the apiserver is rolled back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-gates-lab-'));
    expect((await run(dir, ['configure'])).outcome).toBe('done');
    expect((await run(dir, ['control-plane'])).outcome).toBe('done');

    const gates = { gates: 'MemoryQoS=false,PodDeletionCost=false', 'proof-ttl': '5' };
    const r = await run(dir, ['ttl'], gates);
    expect(errors(r.events)).toEqual([]);
    expect(r.outcome).toBe('done');
    expect(logs(r.events)).toContain('n2-master: control plane up with the new feature gates');
    for (const n of cluster.nodes) expect(logs(r.events)).toContain(`${n.name}: kubelet up with the new feature gates`);

    const again = await run(dir, ['ttl'], gates);
    expect(again.outcome).toBe('done');
    expect(again.events.some((e) => e.type === 'step-end' && e.step === 'feature-gates' && e.status === 'verified')).toBe(true);

    const broken = await run(dir, ['ttl'], { gates: 'SchedulerAsyncPreemption=false' }, ['n2-master:gate-breaks-apiserver']);
    expect(broken.outcome).toBe('failed');
    expect(errors(broken.events).join('\n')).toMatch(/ttl\/feature-gates: the control plane with the new feature gates on n2-master: rolled back: a control-plane component did not come back/);
    expect(errors(broken.events).join('\n')).toContain('unrecognized feature gate');
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('the scripts pass shellcheck', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-gates-sh-'));
    const scripts = {
      cp: controlPlaneGatesScript([{ component: 'kube-apiserver', flag: 'PodDeletionCost=false' }, { component: 'kube-controller-manager', flag: '' }, { component: 'kube-scheduler', flag: '' }]),
      kubelet: kubeletGatesScript('MemoryQoS: false'),
      restore: restoreKubeletConfigMapScript(),
    };
    for (const [name, text] of Object.entries(scripts)) {
      fs.writeFileSync(path.join(dir, `${name}.sh`), `#!/bin/sh\n${text}`);
      await execFileP('shellcheck', ['-s', 'sh', path.join(dir, `${name}.sh`)]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('webhook stage on a cluster boardkube built (practice lab)', () => {
  it('mode webhook signs the serving certificate on the master; the proof passes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-webhook-built-lab-'));
    expect((await run(dir, ['configure'])).outcome).toBe('done');
    expect((await run(dir, ['control-plane'])).outcome).toBe('done');
    const r = await run(dir, ['webhook'], { mode: 'webhook' });
    expect(errors(r.events)).toEqual([]);
    expect(r.outcome).toBe('done');
    expect(logs(r.events).join('\n')).toMatch(/new certificate from the cluster CA/);
    expect(logs(r.events).join('\n')).not.toMatch(/PRIVATE KEY/);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
