// Board reset (for trainers between workshops): every named board back to "packages installed". kubeadm reset -f
// and what it leaves behind (script.ts), the runtime restarted, the cluster's context removed from the user's
// kubeconfig, the saved progress of the stages after packages forgotten. Planned first, run after a yes.
import * as fs from 'node:fs';
import { controlPlaneNode, type ClusterSpec, type NodeSpec } from '../../src/cluster/spec.ts';
import { stepKey, type StateStore } from '../../src/engine/state.ts';
import { InputError, STAGE_IDS, type Action, type Ports, type StageId } from '../../src/engine/types.ts';
import { mapLimit } from '../../src/util/limit.ts';
import { localAdminConf, userKubeconfig } from '../control-plane/common.ts';
import { writePrivate } from '../control-plane/admin-kubeconfig.ts';
import { removeFromKubeconfig } from '../control-plane/merge-kubeconfig.ts';
import { runtimeOf } from '../control-plane/settings.ts';
import { boardResetScript } from './script.ts';

/** The stages a reset of the master undoes: everything after packages. */
export const STAGES_AFTER_PACKAGES: StageId[] = STAGE_IDS.slice(STAGE_IDS.indexOf('packages') + 1);

/** The boards --node names (all when none), refusing unknown names. */
export function resetTargets(cluster: ClusterSpec, names: string[]): NodeSpec[] {
  for (const n of names) {
    if (!cluster.nodes.some((x) => x.name === n)) throw new InputError('--node', `no node "${n}" in the cluster file`, `use one of: ${cluster.nodes.map((x) => x.name).join(', ')}`);
  }
  return names.length ? cluster.nodes.filter((n) => names.includes(n.name)) : cluster.nodes;
}

export interface ResetContext {
  cluster: ClusterSpec;
  ports: Ports;
  store: StateStore;
}

const withMaster = (c: ResetContext, nodes: NodeSpec[]) => nodes.some((n) => n.name === controlPlaneNode(c.cluster).name);

export function boardResetPlan(c: ResetContext, nodes: NodeSpec[]): Action[] {
  const script = boardResetScript(runtimeOf(c.cluster));
  const at = { stage: 'workers' as StageId, step: 'board-reset' };
  const actions: Action[] = nodes.map((n) => ({ ...at, stage: n.role === 'control-plane' ? 'control-plane' : 'workers', node: n.name, type: 'command', sudo: true, description: `reset ${n.name}: kubeadm reset -f, CNI files and links, KUBE-/FLANNEL chains, /etc/kubernetes; restart ${runtimeOf(c.cluster).service}`, content: script }));
  if (withMaster(c, nodes)) {
    const ctx = { ports: c.ports, cluster: c.cluster };
    actions.push(
      { ...at, stage: 'control-plane', node: null, type: 'local', description: `remove the context ${c.cluster.name} from ${userKubeconfig(ctx)} (only the entries boardkube wrote) and ${localAdminConf(ctx)}`, path: userKubeconfig(ctx) },
      { ...at, stage: 'control-plane', node: null, type: 'local', description: `forget the saved progress of ${STAGES_AFTER_PACKAGES.join(', ')}: the cluster is back to "packages done"` },
    );
  } else {
    actions.push({ ...at, node: null, type: 'local', description: `forget the saved progress of the workers stage on ${nodes.map((n) => n.name).join(', ')}` });
  }
  return actions;
}

export interface ResetOutcome {
  failed: Array<{ node: string; error: string }>;
}

/** Runs the reset on the boards in parallel; a board that fails does not stop the others. */
export async function runBoardReset(c: ResetContext, nodes: NodeSpec[], o: { signal: AbortSignal; parallel?: number; log: (node: string | null, line: string) => void }): Promise<ResetOutcome> {
  const script = boardResetScript(runtimeOf(c.cluster));
  const failed: ResetOutcome['failed'] = [];
  await mapLimit(nodes, o.parallel ?? 5, async (n) => {
    try {
      const r = await c.ports.host(n).exec(script, { sudo: true, signal: o.signal, timeoutMs: 10 * 60_000, onStdout: (l) => o.log(n.name, l), onStderr: (l) => o.log(n.name, l) });
      if (r.code !== 0) throw new Error(`the reset script exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
      if (n.role === 'worker') {
        c.store.forgetStep(stepKey('workers', 'join', n.name));
        await forgetNode(c, n, o.log);
      }
    } catch (e) {
      failed.push({ node: n.name, error: (e as Error).message });
    }
  });
  if (withMaster(c, nodes) && !failed.some((f) => f.node === controlPlaneNode(c.cluster).name)) {
    const ctx = { ports: c.ports, cluster: c.cluster };
    const target = userKubeconfig(ctx);
    if (fs.existsSync(target)) {
      const r = removeFromKubeconfig(fs.readFileSync(target, 'utf8'), c.cluster.name);
      if (r.changed) {
        writePrivate(target, r.text);
        o.log(null, `removed the context ${c.cluster.name} from ${target}`);
      }
    }
    fs.rmSync(localAdminConf(ctx), { force: true });
    for (const id of STAGES_AFTER_PACKAGES) c.store.clearStage(id);
    o.log(null, `forgot the saved progress of ${STAGES_AFTER_PACKAGES.join(', ')}`);
  }
  return { failed };
}

/** A reset worker leaves its Node object behind on a master that stays: remove it, so the next join is clean. */
async function forgetNode(c: ResetContext, n: NodeSpec, log: (node: string | null, line: string) => void): Promise<void> {
  try {
    const cluster = await c.ports.cluster();
    if (await cluster.delete('v1', 'Node', n.name)) log(n.name, `deleted the node ${n.name} from the cluster`);
  } catch (e) {
    log(n.name, `could not delete the node ${n.name} from the cluster (${(e as Error).message.split('\n')[0]}); \`kubectl delete node ${n.name}\` does it`);
  }
}
