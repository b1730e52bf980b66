// Step boot-config: boot.txt and boot.scr (the script U-Boot runs) on the boot partition, and the boot files moved there.
import { join } from 'node:path';
import type { Step, StepContext } from '../../src/engine/types.ts';
import { bootConfigOps, bootScript, type Card } from './card.ts';
import { card, cardDone, cardInReader, execOps, mounted, readBootPart, toAction } from './common.ts';
import { cardNodes } from './options.ts';

/** mkimage's legacy image header magic and the script inside. */
export function bootScrText(scr: Buffer): string | null {
  if (scr.length < 72 || scr.readUInt32BE(0) !== 0x27051956) return null;
  const len = scr.readUInt32BE(64);
  return scr.subarray(72, 72 + len).toString();
}

/** How the boot partition differs from the plan (empty: not at all). checkStage: also that the boot files left the root tree. */
export async function bootConfigProblems(ctx: StepContext, c: Card, checkStage: boolean): Promise<string[]> {
  const problems: string[] = [];
  const txt = await readBootPart(ctx, c, '/boot.txt');
  if (!txt || txt.toString() !== bootScript(c)) problems.push('boot.txt on the boot partition is missing or differs');
  const scr = await readBootPart(ctx, c, '/boot.scr');
  const inner = scr ? bootScrText(scr) : null;
  if (inner === null) problems.push('boot.scr is missing or not an mkimage script');
  else if (inner !== bootScript(c)) problems.push('boot.scr does not hold the boot script');
  if (checkStage && (await mounted(ctx, c))) {
    const left = await ctx.ports.disks.stat(join(c.root, 'boot/boot.scr'));
    if (left) problems.push(`${c.root}/boot still holds the boot files`);
  }
  return problems;
}

export const bootConfigStep: Step = {
  id: 'boot-config',
  title: 'Write the boot configuration',
  explain: 'U-Boot runs boot.scr from the boot partition: it loads the mainline kernel, its device tree and initramfs, with the serial console and the root partition named by PARTUUID. Then the boot files move onto the boot partition.',
  nodes: cardNodes,
  plan: (ctx) => bootConfigOps(card(ctx)).map(toAction),
  async run(ctx) {
    const c = await cardInReader(ctx);
    if (c.image.bootloader === 'legacy') ctx.log(`the vendor U-Boot reads ${ctx.board.boot.legacyConfig?.join(', ') ?? 'boot.ini'} (kept as it is); boot.scr is for mainline U-Boot with ${ctx.board.kernelPackage}`);
    await execOps(ctx, bootConfigOps(c));
  },
  async verify(ctx) {
    if (cardDone(ctx)) return true;
    return (await bootConfigProblems(ctx, card(ctx), true).catch(() => ['unreadable'])).length === 0;
  },
};
