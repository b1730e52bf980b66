// Stages of the journey that are not built yet are made with notYet(): listed so the sidebar shows the whole way,
// and refused (never shown as done) when selected. Every stage of this version is built; the helper stays for
// the next one (and the tests of how an unavailable stage is shown).
import type { Stage, StageId } from '../../src/engine/types.ts';

export function notYet(id: StageId, title: string, summary: string, requires: StageId[]): Stage {
  return { id, title, summary, requires, unavailable: 'this stage is not available yet in this version of boardkube', steps: [] };
}
