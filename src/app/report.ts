// A stage's report (what the user now has, the next thing to do) from its saved outputs: the wizard shows it
// after the stage, the CLI prints it at the end of apply, in the same words.
import { findBoard } from '../boards/index.ts';
import type { Stage, StageReport } from '../engine/types.ts';
import type { Session } from './session.ts';

/** The stage's report; none when it has nothing to say yet (or cannot say it). */
export function stageReport(stage: Stage, session: Session): StageReport | undefined {
  const board = findBoard(session.cluster.board);
  if (!stage.report || !board) return undefined;
  const records = session.store.steps();
  try {
    const r = stage.report({ cluster: session.cluster, board, outputOf: (step, node) => records[`${stage.id}/${step}@${node ?? '-'}`]?.outputs });
    return r.have.length > 0 ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The report as plain lines, for the headless output. */
export function reportText(stage: Stage, r: StageReport): string[] {
  return [`${stage.id}: what you have now:`, ...r.have.map((h) => `  ${h}`), ...(r.next.length ? ['next:', ...r.next.map((n) => `  ${n}`)] : [])];
}
