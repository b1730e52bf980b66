// The stages and steps as the screens show them, read from the stage definitions and the saved progress.
import type { Session } from '../session.ts';
import type { NodeSpec } from '../../cluster/spec.ts';
import type { PinnedKey } from '../../engine/state.ts';
import type { Stage, StageId, StepRecord } from '../../engine/types.ts';
import { stageReport } from '../report.ts';
import { resetBoardsOf } from '../../../flows/reset/targets.ts';
import { STAGE_IDS } from '../../engine/types.ts';
import { splitFix } from './errors.ts';
import type { StageView, StepCell, StepView } from './store.ts';

/** Titles to show before the stage definitions are loaded (they are imported on first use). */
const STAGE_TITLES: Record<StageId, string> = {
  flash: 'Flash the cards',
  configure: 'Configure the boards',
  packages: 'Kubernetes packages',
  'control-plane': 'Control plane',
  workers: 'Workers',
  ttl: 'TTL after finished',
  webhook: 'Job TTL webhook',
  registry: 'Registry',
  ci: 'CI on the cluster',
  readonly: 'Read-only access',
};

/** Every stage in order; status 'unknown' until a session is open, titles only until the definitions load. */
export function stageViews(defs: readonly Stage[] | undefined, session: Session | undefined): StageView[] {
  return STAGE_IDS.map((id) => {
    const def = defs?.find((s) => s.id === id);
    const unavailable = def ? def.unavailable : defs ? 'this stage is not available yet in this version of boardkube' : undefined;
    let status: StageView['status'] = 'unknown';
    if (unavailable) status = 'unavailable';
    else if (session) status = cancelledOrStatus(session, id);
    const report = def && session && !unavailable ? stageReport(def, session) : undefined;
    const reset = session && !unavailable ? resetBoardsOf(id, session.cluster) : undefined;
    return { id, title: def?.title ?? STAGE_TITLES[id], summary: def?.summary ?? '', status, unavailable, requires: def?.requires ?? [], options: def?.options ?? [], ...(report ? { report } : {}), ...(reset?.length ? { resetBoards: reset.map((n) => n.name) } : {}) };
  });
}

/** The engine's status, except that a stage whose only failures are steps the user cancelled reads "cancelled". */
function cancelledOrStatus(session: Session, id: StageId): StageView['status'] {
  const status = session.engine.stageStatus(id);
  if (status !== 'failed') return status;
  const failed = Object.entries(session.store.steps()).filter(([key, r]) => key.startsWith(`${id}/`) && r.status === 'failed');
  return failed.length > 0 && failed.every(([, r]) => /: interrupted$/.test(r.error ?? '')) ? 'cancelled' : status;
}

/** Where to open a cluster: a stage cut off or failed; else the first one not done after the last done. */
export function firstOpenStage(views: StageView[]): StageId {
  const open = views.filter((v) => v.status !== 'unavailable');
  const active = open.find((v) => v.status === 'in-progress' || v.status === 'failed' || v.status === 'cancelled');
  if (active) return active.id;
  let lastDone = -1;
  open.forEach((v, i) => {
    if (v.status === 'done') lastDone = i;
  });
  const next = open.find((v, i) => i > lastDone && v.status !== 'done') ?? open.find((v) => v.status !== 'done');
  return (next ?? open[lastDone] ?? views[0]!).id;
}

/**
 * The steps of a stage with each node's status as the saved progress has it. `answers` gives the stage's
 * parsed answers (undefined when they do not parse), which decide the nodes of some steps.
 */
export function stepViews(stage: Stage | undefined, session: Session | undefined, answers: (stage: Stage) => Record<string, unknown> | undefined, live = false): StepView[] {
  const store = session?.store;
  if (!stage || !store) return [];
  const records = store.steps();
  const nodesOf = (step: Stage['steps'][number]): Array<NodeSpec | null> => {
    try {
      return step.nodes ? step.nodes(session.cluster, answers(stage) ?? {}) : [null];
    } catch {
      return [null];
    }
  };
  return stage.steps.map((step) => ({
    id: step.id,
    title: step.title,
    explain: step.explain,
    cells: nodesOf(step).map((node) => cellFromRecord(node?.name ?? null, records[`${stage.id}/${step.id}@${node?.name ?? '-'}`], live)),
  }));
}

/** The host keys pinned so far, as a copy (the snapshot never shares the progress store's objects). */
export function pinnedHostKeys(session: Session | undefined): Record<string, PinnedKey> {
  return { ...(session?.store.data.hostKeys ?? {}) };
}

/** `live`: another run is working on the cluster now, so a step recorded as running is running, not cut off. */
function cellFromRecord(node: string | null, r: StepRecord | undefined, live = false): StepCell {
  if (!r) return { node, status: 'pending' };
  const base = { node, runs: r.runs, outputs: r.outputs as Record<string, unknown> | undefined };
  switch (r.status) {
    case 'done':
      return { ...base, status: 'done' };
    case 'skipped':
      return { ...base, status: 'skipped', skipReason: r.skipReason };
    case 'running':
      if (live) return { ...base, status: 'running' };
      return { ...base, status: 'interrupted', error: 'cut off (the wizard stopped mid-step); it runs again on resume' };
    case 'failed': {
      const interrupted = /: interrupted$/.test(r.error ?? '');
      const split = splitFix(r.error ?? 'failed');
      return { ...base, status: interrupted ? 'interrupted' : 'failed', error: split.message, fix: split.fix };
    }
  }
}
