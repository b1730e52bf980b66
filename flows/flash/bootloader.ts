// Step bootloader: U-Boot written with dd to the fixed places at the start of the card the boot ROM reads.
import { basename, join } from 'node:path';
import type { Step, StepContext } from '../../src/engine/types.ts';
import { DiskError } from '../../src/ports/disks.ts';
import { bootloaderOps, bootloaderWrites, pathOnBootPartition, type Card } from './card.ts';
import { card, cardDone, cardInReader, execOps, readBootPart, toAction } from './common.ts';
import { cardNodes } from './options.ts';
import { formatBytes } from './select.ts';

/** The bootloader file's bytes: from the unpacked tree, or from the boot partition once the files moved there. */
async function bootFile(ctx: StepContext, c: Card, file: string): Promise<Buffer | null> {
  return (await ctx.ports.disks.readFile(join(c.root, file))) ?? (await readBootPart(ctx, c, pathOnBootPartition(file)));
}

/** boot-config already moved the bootloader files onto the boot partition (a re-run): dd reads a copy from there. */
async function needsFatCopy(ctx: StepContext, c: Card): Promise<boolean> {
  const w = bootloaderWrites(c)[0];
  if (!w) return false;
  if (await ctx.ports.disks.stat(join(c.root, w.file))) return false;
  return (await readBootPart(ctx, c, pathOnBootPartition(w.file))) !== null;
}

/** Where the bytes at the start of the card differ from the bootloader files (empty: nowhere). */
export async function bootloaderProblems(ctx: StepContext, c: Card): Promise<string[]> {
  const problems: string[] = [];
  for (const w of bootloaderWrites(c)) {
    const file = await bootFile(ctx, c, w.file);
    if (!file) {
      problems.push(`${w.file} is missing`);
      continue;
    }
    const from = w.skip * w.bs;
    const len = w.count !== undefined ? Math.min(w.count * w.bs, file.length - from) : file.length - from;
    const expected = file.subarray(from, from + len);
    const got = await ctx.ports.disks.readBytes(c.device, w.seek * w.bs, len);
    if (!got.equals(expected)) {
      let at = 0;
      while (at < len && got[at] === expected[at]) at++;
      problems.push(`bootloader bytes differ from ${basename(w.file)} at card byte ${w.seek * w.bs + at}`);
    }
  }
  return problems;
}

export const bootloaderStep: Step = {
  id: 'bootloader',
  title: 'Write the bootloader',
  explain: 'The board\'s boot ROM reads U-Boot from fixed places at the start of the card, outside any partition: two dd commands put it there without touching the partition table.',
  nodes: cardNodes,
  async plan(ctx) {
    const c = card(ctx);
    return bootloaderOps(c, await needsFatCopy(ctx, c)).map(toAction);
  },
  async run(ctx) {
    const c = await cardInReader(ctx);
    if (c.image.bootloader === 'legacy') ctx.log(ctx.board.bootloader.legacy?.note ?? '');
    const writes = bootloaderWrites(c);
    if (writes.length === 0) {
      ctx.log(`the ${ctx.board.name} needs no raw bootloader write`);
      return;
    }
    // The file must end before the first partition starts, or dd would overwrite it.
    const firstStart = Math.min(...ctx.board.partitions.map((p) => p.startMiB)) * 1024 * 1024;
    for (const w of writes) {
      const file = await bootFile(ctx, c, w.file);
      if (!file) throw new DiskError('missing', `${w.file} is not on the card: the tarball carries no bootloader`);
      const len = w.count !== undefined ? w.count * w.bs : file.length - w.skip * w.bs;
      const end = w.seek * w.bs + len;
      if (end > firstStart) throw new Error(`${basename(w.file)} (${formatBytes(file.length)}) would reach byte ${end}, past the start of partition 1 at ${formatBytes(firstStart)}: the board profile's layout must leave more room`);
      if (w.count !== undefined && end > 446 && w.seek === 0) throw new Error(`the write of ${basename(w.file)} (${end} bytes at byte 0) would overwrite the partition table at byte 446`);
    }
    await execOps(ctx, bootloaderOps(c, await needsFatCopy(ctx, c)));
  },
  async verify(ctx) {
    if (cardDone(ctx)) return true;
    try {
      return (await bootloaderProblems(ctx, card(ctx))).length === 0;
    } catch {
      return false;
    }
  },
};
