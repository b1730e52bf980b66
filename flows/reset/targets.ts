// Which boards a reset started from a stage's screen takes back (the wizard's reset key). Kept apart from the
// reset itself so the wizard's views can ask it without loading the reset's code.
import type { ClusterSpec, NodeSpec } from '../../src/cluster/spec.ts';
import type { StageId } from '../../src/engine/types.ts';

/**
 * From control-plane every board: the master's reset undoes every stage after packages, and the workers joined to
 * it go with it. From workers the workers (the master stays). Other stages have no board reset: undefined.
 */
export function resetBoardsOf(stage: StageId, cluster: ClusterSpec): NodeSpec[] | undefined {
  if (stage === 'control-plane') return cluster.nodes;
  if (stage === 'workers') return cluster.nodes.filter((n) => n.role === 'worker');
  return undefined;
}
