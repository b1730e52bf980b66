// The trainer's handout, built from the plan: the very actions `plan --json` lists, grouped by stage, step and
// node, with each step's explanation for a first-timer. It never has a second description that could drift.
import type { Action, Secrets, StageId } from '../engine/types.ts';
import type { Engine } from '../engine/engine.ts';

export interface RunbookStep {
  id: string;
  title: string;
  explain: string;
  /**
   * Actions grouped by where they run: nodes' names (several when each runs the very same actions), or [] for
   * this computer / the cluster API.
   */
  groups: Array<{ nodes: string[]; actions: Action[] }>;
  /** The command a person runs to see that the step is done, and what it shows then. */
  check: { command: string; shows: string };
}

export interface RunbookStage {
  id: StageId;
  title: string;
  summary: string;
  steps: RunbookStep[];
}

export interface Runbook {
  cluster: string;
  clusterFile: string;
  mode: 'real' | 'lab';
  generatedAt: string;
  stages: RunbookStage[];
  /** Placeholders that stand where a secret would be, with where to get the value. */
  placeholders: Array<{ placeholder: string; where: string }>;
  /** Stages left out because they cannot be planned yet, with the reason. */
  left: Array<{ stage: StageId; reason: string }>;
}

/** Where a participant finds each kind of secret the stages use; the handout prints these instead of values. */
export const SECRET_SOURCES: Record<string, string> = {
  'sudo-password': 'the password of the SSH user on the board (sudo asks for it)',
  'default-user-password': 'the password of the alarm user (alarm on a fresh Arch Linux ARM card)',
  'root-password': "root's password on the board (root on a fresh Arch Linux ARM card)",
  'join-token': 'the join token: `kubeadm token create` on the master',
  'registry-password': 'the registry password: the 0600 file the registry stage wrote',
};

export function placeholderFor(name: string): string {
  return `<${name.toUpperCase()}>`;
}

/**
 * Replaces every secret value the session holds by a placeholder, named where we know where the value comes from.
 * Only values, never shapes: the plan is secret-free by construction, and its commands must stay verbatim.
 */
export function withPlaceholders(text: string, secrets: Secrets): string {
  let out = text;
  for (const name of Object.keys(SECRET_SOURCES)) {
    const value = secrets.get(name);
    if (value && value.length >= 3) out = out.split(value).join(placeholderFor(name));
  }
  for (const value of secrets.values()) out = out.split(value).join('<SECRET>');
  return out;
}

export interface BuildRunbookOptions {
  engine: Engine;
  stages: readonly StageId[];
  left?: Array<{ stage: StageId; reason: string }>;
  cluster: string;
  clusterFile: string;
  mode: 'real' | 'lab';
  secrets: Secrets;
  now?: Date;
}

export async function buildRunbook(o: BuildRunbookOptions): Promise<Runbook> {
  const actions = await o.engine.plan(o.stages);
  const names = Object.keys(SECRET_SOURCES);
  const used = new Set<string>();
  const scrub = (a: Action): Action => {
    const out: Action = { ...a };
    for (const field of ['content', 'description', 'path'] as const) {
      const v = a[field];
      if (typeof v !== 'string') continue;
      const clean = withPlaceholders(v, o.secrets);
      if (clean !== v) for (const n of names) if (clean.includes(placeholderFor(n))) used.add(n);
      out[field] = clean;
    }
    return out;
  };
  const stages: RunbookStage[] = o.stages.map((id) => {
    const stage = o.engine.stage(id);
    return {
      id,
      title: stage.title,
      summary: stage.summary,
      steps: stage.steps.map((step) => {
        const mine = actions.filter((a) => a.stage === id && a.step === step.id).map(scrub);
        return { id: step.id, title: step.title, explain: step.explain, groups: groupByNodes(mine), check: { command: `boardkube status -f ${o.clusterFile} --verify`, shows: `${id}/${step.id} as still done` } };
      }),
    };
  });
  return {
    cluster: o.cluster,
    clusterFile: o.clusterFile,
    mode: o.mode,
    generatedAt: (o.now ?? new Date()).toISOString(),
    stages,
    placeholders: [...used].map((n) => ({ placeholder: placeholderFor(n), where: SECRET_SOURCES[n]! })),
    left: o.left ?? [],
  };
}

/** Boards that run exactly the same actions share one group, so a handout shows a command once, not five times. */
function groupByNodes(actions: readonly Action[]): RunbookStep['groups'] {
  const perNode = new Map<string | null, Action[]>();
  for (const a of actions) perNode.set(a.node, [...(perNode.get(a.node) ?? []), a]);
  const groups = new Map<string, { nodes: string[]; actions: Action[] }>();
  for (const [node, list] of perNode) {
    const same = JSON.stringify(list.map(({ node: _n, ...rest }) => rest));
    const g = groups.get(same);
    if (g && node !== null) g.nodes.push(node);
    else groups.set(node === null ? `-${same}` : same, { nodes: node === null ? [] : [node], actions: list });
  }
  return [...groups.values()];
}

export function modeText(mode: number | undefined): string {
  return mode === undefined ? '' : mode.toString(8).padStart(4, '0');
}

/** Where a group of actions runs, in a participant's words. */
export function whereText(nodes: readonly string[], actions: readonly Action[]): string {
  if (nodes.length === 1) return `on ${nodes[0]}`;
  if (nodes.length > 1) return `on each of ${nodes.join(', ')} (the same on every one)`;
  return actions.some((a) => a.type === 'manifest' || a.type === 'api') ? 'against the cluster API' : 'on this computer';
}
