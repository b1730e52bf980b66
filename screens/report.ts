// What a stage has left the user with and the next thing to do, as lines for the stage screen and the summary.
import type { StageView, WizardSnapshot } from '../src/app/wizard.ts';
import { STAGE_IDS } from '../src/engine/types.ts';
import { wrapLine, wrapLines } from './text.ts';

export interface ReportLine {
  text: string;
  tone: 'ok' | 'info' | 'muted' | undefined;
}

/** After `stage`: the next stage not done yet, and whether it can be run in this version. */
export function journeyNext(s: WizardSnapshot, stage: StageView): string | undefined {
  const after = s.stages.slice(s.stages.indexOf(stage) + 1).find((v) => v.status !== 'done');
  if (!after) return undefined;
  const key = (STAGE_IDS.indexOf(after.id) + 1) % 10;
  if (after.status === 'unavailable') return `Next in the journey: ${after.id} (${after.title}), not available yet in this version of boardkube.`;
  return `Then: ${after.id} (${after.title}): press ${key}, then Enter.`;
}

/** The report of a stage, wrapped to `width` (tables keep their columns); none when the stage has nothing to report. */
export function reportLines(s: WizardSnapshot, stage: StageView, width: number): ReportLine[] {
  const r = stage.report;
  if (!r) return [];
  const out: ReportLine[] = [{ text: 'What you have now:', tone: 'ok' }];
  for (const h of r.have) for (const [i, l] of wrapLine(h, width - 2).entries()) out.push({ text: `${i === 0 ? '  ' : '    '}${l}`, tone: undefined });
  const next = [...r.next];
  const j = journeyNext(s, stage);
  if (j) next.push(j);
  if (next.length) out.push({ text: 'Next:', tone: 'info' });
  for (const n of next) for (const l of wrapLines(n, width - 2)) out.push({ text: `  ${l}`, tone: 'info' });
  return out;
}
