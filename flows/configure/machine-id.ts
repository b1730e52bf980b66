// Unique machine-ids across the boards. Cards cloned from one image share /etc/machine-id; systemd derives the
// DHCP client id and more from it, so clones fight over one address and confuse the cluster.
import type { NodeSpec } from '../../src/cluster/spec.ts';
import type { Step } from '../../src/engine/types.ts';
import type { Host } from '../../src/ports/host.ts';
import { boardOf, probe, runScript } from './common.ts';
import { machineIdReadScript, machineIdRegenerateScript, machineIdVerdict, parseKeyValues, validMachineId, type ScriptOptions } from './scripts.ts';

export async function readMachineId(host: Host, opts: ScriptOptions & { signal?: AbortSignal } = {}): Promise<string> {
  return parseKeyValues(await probe(host, machineIdReadScript(opts), opts.signal))['machine-id'] ?? '';
}

export interface MachineIdBoard {
  node: string;
  host: Host;
  /** Prefix of /etc/machine-id on this board ('' on a real board; a temp dir in tests). */
  root?: string;
}

/**
 * Gives the board at `index` a fresh machine-id when its own is missing or an earlier board has the same one.
 * Reads every board's id; safe to run for every board at once (see machineIdVerdict).
 */
export async function reconcileMachineId(
  boards: readonly MachineIdBoard[],
  index: number,
  opts: { sudo?: boolean; signal?: AbortSignal; log?: (line: string) => void } = {},
): Promise<{ before: string; after: string; regenerated: boolean; reason?: string }> {
  const ids = await Promise.all(boards.map(async (b) => ({ node: b.node, id: await readMachineId(b.host, { root: b.root, signal: opts.signal }) })));
  const me = boards[index]!;
  const before = ids[index]!.id;
  const verdict = machineIdVerdict(index, ids);
  if (!verdict.regenerate) return { before, after: before, regenerated: false };
  opts.log?.(`${verdict.reason}: making a new one`);
  const r = await me.host.exec(machineIdRegenerateScript({ root: me.root }), { sudo: opts.sudo, signal: opts.signal });
  if (r.code !== 0) throw new Error(`cannot make a new machine-id on ${me.node} (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  const after = await readMachineId(me.host, { root: me.root, signal: opts.signal });
  if (!validMachineId(after)) throw new Error(`${me.node} still has no valid machine-id after systemd-machine-id-setup ("${after}")`);
  return { before, after, regenerated: true, reason: verdict.reason };
}

/** This board's id is valid and differs from every earlier board's (so all are unique once every board passes). */
export async function machineIdUnique(boards: readonly MachineIdBoard[], index: number, signal?: AbortSignal): Promise<boolean> {
  const ids = await Promise.all(boards.slice(0, index + 1).map(async (b) => ({ node: b.node, id: await readMachineId(b.host, { root: b.root, signal }) })));
  return !machineIdVerdict(index, ids).regenerate;
}

function boardsOf(nodes: NodeSpec[], host: (n: NodeSpec) => Host): MachineIdBoard[] {
  return nodes.map((n) => ({ node: n.name, host: host(n) }));
}

export const machineIdStep: Step = {
  id: 'machine-id',
  title: 'Make every machine-id unique',
  explain:
    'Cards cloned from one image share /etc/machine-id. systemd derives the network client id from it, so two clones can end up fighting over one address. A board whose id is missing or already taken by another board gets a new random one.',
  nodes: (c) => c.nodes,
  plan: () => [
    { type: 'command', description: "read every board's /etc/machine-id", content: machineIdReadScript() },
    {
      type: 'command',
      description: 'only if this board has no machine-id, or a board listed before it in the cluster file has the same one: make a new one',
      content: machineIdRegenerateScript(),
      sudo: true,
    },
  ],
  async run(ctx) {
    const { node } = boardOf(ctx);
    const boards = boardsOf(ctx.cluster.nodes, (n) => ctx.ports.host(n));
    const index = ctx.cluster.nodes.findIndex((n) => n.name === node.name);
    const r = await reconcileMachineId(boards, index, { sudo: true, signal: ctx.signal, log: ctx.log });
    ctx.log(r.regenerated ? `machine-id was ${r.before || '(empty)'}, now ${r.after}` : `machine-id ${r.after} is unique`);
    return { machineId: r.after, regenerated: r.regenerated };
  },
  async verify(ctx) {
    const { node } = boardOf(ctx);
    const boards = boardsOf(ctx.cluster.nodes, (n) => ctx.ports.host(n));
    return machineIdUnique(boards, ctx.cluster.nodes.findIndex((n) => n.name === node.name), ctx.signal);
  },
};
