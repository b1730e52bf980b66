// Running stages of the practice lab in-process (BOARDKUBE_LAB_SPEED=0) for a stage's lab tests: one session per
// call on a state folder, every engine event kept, and what the test reads afterwards (status, a step's outputs,
// the plan, the run log's path, the secrets the run made).
import '../../src/lab/index.ts';
import { openSession } from '../../src/app/session.ts';
import { defaultCluster } from '../../src/cluster/spec.ts';
import { MemorySecrets } from '../../src/engine/secrets.ts';
import { stepKey } from '../../src/engine/state.ts';
import type { EngineEvent, StageId } from '../../src/engine/types.ts';

process.env.BOARDKUBE_LAB_SPEED = '0';

const base = defaultCluster('/nonexistent');
/** A master and two workers: enough for every per-node proof, quick to run. */
export const labCluster = { ...base, nodes: base.nodes.slice(0, 3) };

export interface LabRunOptions {
  faults?: string[];
  /** A trainer's fault plan file (--lab-faults). */
  plan?: string;
  /** The --set options of `stage`. */
  set?: Record<string, string>;
}

/** Runs `stages` in the lab; `stage` is the one under test (its options, outputs and plan). */
export async function runLab(stage: StageId, stateDir: string, stages: StageId[], o: LabRunOptions = {}) {
  const secrets = new MemorySecrets();
  const s = openSession({ cluster: labCluster, stateDir, lab: true, labFaults: o.faults ?? [], labFaultPlan: o.plan, secrets, options: { [stage]: { ...o.set } } });
  const events: EngineEvent[] = [];
  s.engine.on((e) => events.push(e));
  try {
    const outcome = await s.engine.run(s.engine.select({ only: stages }));
    return {
      outcome,
      events,
      secrets,
      logPath: s.log?.path,
      status: (id: StageId) => s.engine.stageStatus(id),
      outputs: (step: string) => s.store.step(stepKey(stage, step, null))?.outputs,
      plan: () => s.engine.plan([stage]),
    };
  } finally {
    await s.close();
  }
}

/** The errors of the steps that failed, in order. */
export const failures = (events: EngineEvent[]) =>
  events.filter((e): e is Extract<EngineEvent, { type: 'step-end' }> => e.type === 'step-end' && e.status === 'failed').map((e) => e.error);
