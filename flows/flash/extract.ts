// Step extract: the root filesystem tarball unpacked onto the card's root partition.
import { join } from 'node:path';
import type { Step } from '../../src/engine/types.ts';
import { extractOps } from './card.ts';
import { card, cardDone, cardInReader, execOps, mounted, toAction } from './common.ts';
import { cardNodes } from './options.ts';
import { formatBytes } from './select.ts';

export const extractStep: Step = {
  id: 'extract',
  title: 'Unpack Arch Linux ARM onto the card',
  explain: 'Unpacks the root filesystem tarball onto the card\'s root partition, keeping Arch\'s file owners and permissions. This is the long part: progress shows MB/s and the time left.',
  nodes: cardNodes,
  plan: (ctx) => extractOps(card(ctx)).map(toAction),
  async run(ctx) {
    const c = await cardInReader(ctx);
    const started = Date.now();
    await execOps(ctx, extractOps(c));
    const s = (Date.now() - started) / 1000;
    ctx.log(`unpacked ${formatBytes(c.image.bytes)} in ${s.toFixed(1)} s (${(c.image.bytes / 1e6 / Math.max(s, 0.001)).toFixed(1)} MB/s of tarball)`);
    return { seconds: Math.round(s * 10) / 10 };
  },
  async verify(ctx) {
    if (cardDone(ctx)) return true;
    const c = card(ctx);
    if (!(await mounted(ctx, c))) return false;
    const d = ctx.ports.disks;
    return (await d.stat(join(c.root, 'usr/bin'))) !== null && (await d.stat(join(c.root, 'etc'))) !== null;
  },
};
