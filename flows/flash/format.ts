// Step format: FAT for the boot partition, ext4 for the root filesystem, with the identifiers fstab names.
import type { Step, StepContext } from '../../src/engine/types.ts';
import { formatOps, type Card } from './card.ts';
import { card, cardDone, execOps, sameCard, toAction } from './common.ts';
import { cardNodes } from './options.ts';

/** Both partitions carry the filesystem and the identifier planned (read from the superblocks, no mount). */
async function superblockOk(ctx: StepContext, c: Card): Promise<boolean> {
  try {
    for (const p of [c.bootPart, c.rootPart]) {
      if (p.spec.filesystem === 'vfat') {
        const b = await ctx.ports.disks.readBytes(p.path, 0, 512);
        if (b.toString('latin1', 82, 87) !== 'FAT32' && b.toString('latin1', 54, 59) !== 'FAT16') return false;
        if (b.readUInt32LE(67).toString(16).toUpperCase().padStart(8, '0') !== c.ids.vfatId) return false;
      } else {
        const b = await ctx.ports.disks.readBytes(p.path, 1024, 1024);
        if (b.readUInt16LE(56) !== 0xef53) return false;
        const uuid = b.subarray(104, 120).toString('hex');
        if (uuid !== c.ids.ext4Uuid.replace(/-/g, '')) return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}

export const formatStep: Step = {
  id: 'format',
  title: 'Create the filesystems',
  explain: 'FAT32 for the boot partition (U-Boot reads it) and ext4 for the root filesystem, with identifiers that the card\'s fstab names.',
  nodes: cardNodes,
  plan: (ctx) => formatOps(card(ctx)).map(toAction),
  async run(ctx) {
    await sameCard(ctx);
    await execOps(ctx, formatOps(card(ctx)));
  },
  async verify(ctx) {
    return cardDone(ctx) || (await superblockOk(ctx, card(ctx)));
  },
};
