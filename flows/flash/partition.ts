// Step partition: a new MBR partition table with the board profile's layout.
import { InputError, type Step, type StepContext } from '../../src/engine/types.ts';
import { layoutBytes, partitionOps, tableSpec, type Card } from './card.ts';
import { card, cardDone, cardInReader, execOps, toAction } from './common.ts';
import { cardNodes } from './options.ts';
import { formatBytes } from './select.ts';

/** How the partition table read back from the card differs from the one planned (empty: not at all). */
export function tableProblems(t: { label: string; id: string; partitions: Array<{ start: number; size: number; type: string }> }, c: Card): string[] {
  const spec = tableSpec(c);
  const problems: string[] = [];
  if (t.label !== 'dos') problems.push(`partition table is ${t.label}, not MBR (dos)`);
  if (t.id.toLowerCase() !== spec.id.toLowerCase()) problems.push(`disk identifier ${t.id}, expected ${spec.id}`);
  if (t.partitions.length !== spec.partitions.length) problems.push(`${t.partitions.length} partitions, expected ${spec.partitions.length}`);
  spec.partitions.forEach((p, i) => {
    const got = t.partitions[i];
    if (!got) return;
    if (got.start !== p.start) problems.push(`partition ${i + 1} starts at sector ${got.start}, expected ${p.start}`);
    if (p.size !== undefined && got.size !== p.size) problems.push(`partition ${i + 1} has ${got.size} sectors, expected ${p.size}`);
    if (got.type.toLowerCase() !== p.type.toLowerCase()) problems.push(`partition ${i + 1} has type ${got.type}, expected ${p.type}`);
  });
  return problems;
}

/** Reads the card's partition table and compares it with the plan. */
export async function readTableProblems(ctx: StepContext, c: Card): Promise<string[]> {
  const t = await ctx.ports.disks.readTable(c.device, ctx.signal);
  return t ? tableProblems(t, c) : ['no partition table'];
}

async function tableMatches(ctx: StepContext, c: Card): Promise<boolean> {
  const t = await ctx.ports.disks.readTable(c.device, ctx.signal).catch(() => null);
  if (!t) return false;
  return tableProblems(t, c).length === 0;
}

export const partitionStep: Step = {
  id: 'partition',
  title: 'Partition the card',
  explain: 'Writes a new MBR partition table with the layout the board\'s bootloader expects: a FAT boot partition after the space the bootloader occupies, and the root partition filling the rest.',
  nodes: cardNodes,
  plan: (ctx) => partitionOps(card(ctx)).map(toAction),
  async run(ctx) {
    const c = await cardInReader(ctx);
    const dev = await ctx.ports.disks.get(c.device, ctx.signal);
    const need = layoutBytes(ctx.board, c.image.uncompressedBytes);
    if (dev && dev.sizeBytes < need) {
      throw new InputError('--device', `${c.device} is too small for this image: ${formatBytes(dev.sizeBytes)}, it needs about ${formatBytes(need)} (${formatBytes(c.image.uncompressedBytes)} unpacked)`, 'use a bigger card');
    }
    await execOps(ctx, partitionOps(c));
  },
  async verify(ctx) {
    return cardDone(ctx) || (await tableMatches(ctx, card(ctx)));
  },
};
