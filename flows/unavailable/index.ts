// Stages of the journey that are not built yet. They are listed so the sidebar shows the whole way,
// and refused (never shown as done) when selected.
import type { Stage, StageId } from '../../src/engine/types.ts';

function notYet(id: StageId, title: string, summary: string, requires: StageId[]): Stage {
  return { id, title, summary, requires, unavailable: 'this stage is not available yet in this version of boardkube', steps: [] };
}

export const ciStage = notYet('ci', 'CI on the cluster', 'A CI server and runner on the cluster, deploying with a scoped account.', ['registry']);
