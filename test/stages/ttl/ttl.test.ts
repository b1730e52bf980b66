// The ttl stage against the real test control plane (etcd + kube-apiserver + kube-controller-manager with its
// real Job and ttl-after-finished controllers), through the built CLI as a user runs it with --kubeconfig.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseGates, parseTtlOptions } from '../../../flows/ttl/index.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { InputError } from '../../../src/engine/types.ts';
import { apiRequest, type ControlPlane } from '../../harness/controlplane.ts';
import { boardkube, realClusterSuite, standInKubelet } from './helpers.ts';

const suite = realClusterSuite('bk-ttl-');
let cp: ControlPlane;
let file: string;
let env: Record<string, string>;
beforeAll(() => ({ cp, file, env } = suite));

async function jobNames(ns = 'default'): Promise<string[]> {
  const r = await apiRequest(cp, 'GET', `/apis/batch/v1/namespaces/${ns}/jobs`);
  return ((r.json as { items?: Array<{ metadata: { name: string } }> }).items ?? []).map((j) => j.metadata.name);
}

describe('ttl stage: gates checked at parse time', () => {
  it('refuses TTLAfterFinished=true before anything changes: exit 2, removed in 1.25, the fix', async () => {
    const before = await jobNames();
    const r = await boardkube(['apply', '-f', file, '--stage', 'ttl', '--kubeconfig', cp.kubeconfigPath, '--set', 'gates=TTLAfterFinished=true', '--yes'], env);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain('TTLAfterFinished was removed in 1.25: the apiserver would not start');
    expect(r.stderr).toContain('fix: leave the gate out');
    // Refused while parsing: no step started, no Job made.
    expect(r.stdout).not.toContain('feature-gates');
    expect(await jobNames()).toEqual(before);
  });

  it('refuses unknown names, bad syntax and a locked gate against its default, each with the reason', () => {
    const cluster = defaultCluster();
    const refused = (gates: string) => {
      try {
        parseTtlOptions({ gates }, cluster);
      } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        return (err as Error).message;
      }
      throw new Error(`gates=${gates} was accepted`);
    };
    expect(refused('NoSuchGate=true')).toMatch(/not a feature gate boardkube knows for Kubernetes 1\.37/);
    expect(refused('MemoryQoS=yes')).toMatch(/not NAME=true or NAME=false/);
    expect(refused('JobManagedBy=false')).toMatch(/locked to true in Kubernetes 1\.37/);
    expect(refused('MemoryQoS=true,MemoryQoS=false')).toMatch(/given twice/);
    expect(parseGates('MemoryQoS=false,PodDeletionCost=true', '1.37')).toMatchObject([
      { name: 'MemoryQoS', value: false, components: ['kubelet'] },
      { name: 'PodDeletionCost', value: true, note: expect.stringContaining('already true by default') },
    ]);
  });

  it('on a cluster given with --kubeconfig only, a gate for the master is refused with the reason; nothing changes', async () => {
    const before = await jobNames();
    const r = await boardkube(['apply', '-f', file, '--stage', 'ttl', '--kubeconfig', cp.kubeconfigPath, '--set', 'gates=MemoryQoS=false', '--yes'], env);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/cannot reach its master, and nothing was changed/);
    expect(await jobNames()).toEqual(before);
  });
});

describe('ttl stage: the proof with the real ttl-after-finished controller', () => {
  it('a Job with its spec.managedBy (the Job controller leaves it alone) written as finished is deleted by the TTL controller', async () => {
    const name = 'managed-elsewhere';
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: 'default' },
      spec: {
        managedBy: 'boardkube.dev/test',
        ttlSecondsAfterFinished: 3,
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
      },
    };
    expect((await apiRequest(cp, 'POST', '/apis/batch/v1/namespaces/default/jobs', job)).status).toBe(201);
    const got = (await apiRequest(cp, 'GET', `/apis/batch/v1/namespaces/default/jobs/${name}`)).json as Record<string, unknown>;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status = {
      startTime: now,
      completionTime: now,
      succeeded: 1,
      conditions: [
        { type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: now, lastProbeTime: now, reason: 'CompletionsReached', message: 'done' },
        { type: 'Complete', status: 'True', lastTransitionTime: now, lastProbeTime: now, reason: 'CompletionsReached', message: 'done' },
      ],
    };
    const put = await apiRequest(cp, 'PUT', `/apis/batch/v1/namespaces/default/jobs/${name}/status`, { ...got, status });
    expect(put.status, put.body).toBe(200);
    const finished = Date.now();
    let goneAfter = -1;
    while (Date.now() - finished < 40_000) {
      if ((await apiRequest(cp, 'GET', `/apis/batch/v1/namespaces/default/jobs/${name}`)).status === 404) {
        goneAfter = (Date.now() - finished) / 1000;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(goneAfter, 'deleted within TTL + 30 s').toBeGreaterThan(0);
    expect(goneAfter).toBeLessThan(33);
  }, 60_000);

  it('apply --stage ttl --kubeconfig: the proof Job runs (stand-in kubelet), finishes, and disappears; the times are shown', async () => {
    const kubelet = standInKubelet(cp, 'default');
    let r;
    try {
      r = await boardkube(['apply', '-f', file, '--stage', 'ttl', '--kubeconfig', cp.kubeconfigPath, '--set', 'proof-ttl=5', '--yes'], env);
    } finally {
      await kubelet.stop();
    }
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('TTLAfterFinished (alpha in 1.12, GA in 1.23) is removed in 1.25');
    const m = /Job (boardkube-ttl-proof-[0-9a-f]+) was deleted ([\d.]+) s after it finished \(TTL 5 s/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    // The real Job controller ran the pod the stand-in kubelet finished; the real TTL controller deleted the Job.
    expect(kubelet.finished.length).toBeGreaterThan(0);
    expect(Number(m![2])).toBeGreaterThan(3);
    expect(Number(m![2])).toBeLessThan(35);
    expect(await jobNames()).not.toContain(m![1]);
  }, 300_000);
});
