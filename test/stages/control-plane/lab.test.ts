// The control-plane and workers stages in the practice lab (BOARDKUBE_LAB_SPEED=0), after the lab's configure
// stage, with the trainer's faults: preflight failures (swap on, port in use, cgroup v1), a kubelet that never gets
// healthy (cgroup-driver mismatch), an expired token, a worker that cannot reach the master's port 6443. The join
// token of the run (a known value, read from the run's secrets) is in no state file, log or event.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../../src/lab/index.ts';
import { openSession } from '../../../src/app/session.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { MemorySecrets } from '../../../src/engine/secrets.ts';
import type { EngineEvent, StageId } from '../../../src/engine/types.ts';
import { JOIN_TOKEN_SECRET } from '../../../flows/workers/token.ts';
import { boardResetPlan, runBoardReset } from '../../../flows/reset/index.ts';

process.env.BOARDKUBE_LAB_SPEED = '0';

const cluster = { ...defaultCluster('/nonexistent'), nodes: defaultCluster('/nonexistent').nodes.slice(0, 3) };

function newStateDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'bk-kubeadm-lab-'));
}

async function run(stateDir: string, stages: StageId[], faults: string[] = []) {
  const secrets = new MemorySecrets();
  const s = openSession({ cluster, stateDir, lab: true, labFaults: faults, secrets });
  const events: EngineEvent[] = [];
  s.engine.on((e) => events.push(e));
  try {
    const outcome = await s.engine.run(stages);
    return { outcome, events, steps: s.store.steps(), status: (id: StageId) => s.engine.stageStatus(id), secrets, logPath: s.log?.path };
  } finally {
    await s.close();
  }
}

const ends = (events: EngineEvent[]) => events.filter((e): e is Extract<EngineEvent, { type: 'step-end' }> => e.type === 'step-end');
const errorOf = (events: EngineEvent[], step: string, node?: string) => ends(events).find((e) => e.step === step && (!node || e.node === node) && e.status === 'failed')?.error ?? '';

async function configured(faults: string[] = []): Promise<string> {
  const dir = newStateDir();
  const r = await run(dir, ['configure', 'packages'], faults);
  expect(r.outcome).toBe('done');
  return dir;
}

describe('control-plane and workers in the practice lab', () => {
  it('goes through both stages; status shows both done; the kubeconfig has the context; no token anywhere', async () => {
    const dir = await configured();
    const r = await run(dir, ['control-plane', 'workers']);
    expect(ends(r.events).filter((e) => e.status === 'failed').map((e) => e.error)).toEqual([]);
    expect(r.outcome).toBe('done');
    expect(r.status('control-plane')).toBe('done');
    expect(r.status('workers')).toBe('done');
    const kubeconfig = fs.readFileSync(path.join(dir, `${cluster.name}.lab-kubeconfig`), 'utf8');
    expect(kubeconfig).toContain(`name: ${cluster.name}\n`);
    expect(fs.statSync(path.join(dir, cluster.name, 'admin.conf')).mode & 0o777).toBe(0o600);
    const token = r.secrets.get(JOIN_TOKEN_SECRET);
    expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const everything = [fs.readFileSync(path.join(dir, `${cluster.name}.json`), 'utf8'), fs.readFileSync(r.logPath!, 'utf8'), JSON.stringify(r.events)].join('\n');
    expect(everything).not.toContain(token!);
    expect(everything).not.toContain(token!.split('.')[1]!);

    // Run again on the initialised master: verified, nothing run again.
    const again = await run(dir, ['control-plane', 'workers']);
    expect(again.outcome).toBe('done');
    expect(ends(again.events).every((e) => e.status === 'verified')).toBe(true);

    // Board reset: plan first, then every board back to "packages done", the context gone; then apply again.
    const s = openSession({ cluster, stateDir: dir, lab: true, log: false });
    try {
      const plan = boardResetPlan({ cluster, ports: s.ports, store: s.store }, cluster.nodes);
      expect(plan.filter((a) => a.type === 'command').map((a) => a.node)).toEqual(cluster.nodes.map((n) => n.name));
      const lines: string[] = [];
      const r = await runBoardReset({ cluster, ports: s.ports, store: s.store }, cluster.nodes, { signal: new AbortController().signal, log: (_n, l) => lines.push(l) });
      expect(r.failed).toEqual([]);
      expect(s.engine.stageStatus('control-plane')).toBe('not-started');
      expect(s.engine.stageStatus('workers')).toBe('not-started');
      expect(s.engine.stageStatus('configure')).toBe('done');
    } finally {
      await s.close();
    }
    expect(fs.readFileSync(path.join(dir, `${cluster.name}.lab-kubeconfig`), 'utf8')).not.toContain(`name: ${cluster.name}\n`);
    expect(fs.existsSync(path.join(dir, cluster.name, 'admin.conf'))).toBe(false);
    const after = await run(dir, ['control-plane', 'workers']);
    expect(ends(after.events).filter((e) => e.status === 'failed').map((e) => e.error)).toEqual([]);
    expect(ends(after.events).filter((e) => e.step === 'init')[0]?.status).toBe('done');
  });

  for (const [fault, check] of [
    ['swap-on', /\[Swap\][\s\S]*fix: turn swap off/],
    ['port-in-use', /\[Port-6443\][\s\S]*ss -ltnp/],
    ['cgroup-v1', /\[SystemVerification\][\s\S]*cgroup v2/],
  ] as const) {
    it(`preflight refuses the master with ${fault}, naming the fix`, async () => {
      const dir = await configured();
      const r = await run(dir, ['control-plane'], [`n2-master:${fault}`]);
      expect(r.outcome).toBe('failed');
      expect(errorOf(r.events, 'preflight')).toMatch(check);
      expect(r.steps['control-plane/init@n2-master']).toBeUndefined();
    });
  }

  it('a kubelet that never gets healthy (cgroup-driver mismatch) is named; the half-done init is not run over', async () => {
    const dir = await configured();
    const r = await run(dir, ['control-plane'], ['n2-master:cgroup-driver-mismatch']);
    expect(r.outcome).toBe('failed');
    expect(errorOf(r.events, 'init')).toMatch(/never became healthy[\s\S]*cgroup-driver mismatch/);
    const again = await run(dir, ['control-plane'], ['n2-master:none']);
    expect(again.outcome).toBe('failed');
    expect(errorOf(again.events, 'preflight') + errorOf(again.events, 'init')).toMatch(/boardkube reset -f FILE --boards --node n2-master/);
  });

  it('a worker that cannot reach port 6443 fails alone; resume joins it with a new token and verifies the other', async () => {
    const dir = await configured();
    const r = await run(dir, ['control-plane', 'workers'], ['n2-worker2:api-unreachable']);
    expect(r.outcome).toBe('failed');
    expect(errorOf(r.events, 'join', 'n2-worker2')).toMatch(/cannot reach the API server at 192\.168\.1\.40:6443/);
    expect(r.steps['workers/join@n2-worker1']?.status).toBe('done');
    const first = r.secrets.get(JOIN_TOKEN_SECRET);
    const again = await run(dir, ['workers'], ['n2-worker2:none']);
    expect(again.outcome).toBe('done');
    expect(ends(again.events).find((e) => e.node === 'n2-worker1')?.status).toBe('verified');
    expect(again.steps['workers/join@n2-worker1']?.runs).toBe(1);
    expect(again.secrets.get(JOIN_TOKEN_SECRET)).not.toBe(first);
  });

  it('an expired token is refused with the reason; with the clock right the next run joins', async () => {
    const dir = await configured();
    const r = await run(dir, ['control-plane', 'workers'], ['n2-master:expired-token']);
    expect(r.status('control-plane')).toBe('done');
    expect(errorOf(r.events, 'join', 'n2-worker1')).toMatch(/refused the join token as expired[\s\S]*clock/);
    const again = await run(dir, ['workers'], ['n2-master:none']);
    expect(again.outcome).toBe('done');
  });
});
