// Step preconfigure: the files that make the first boot need no keyboard (host name, address, SSH key, sshd, ...).
import { join } from 'node:path';
import type { Step, StepContext } from '../../src/engine/types.ts';
import type { DiskOp } from '../../src/ports/disks.ts';
import { preconfigureOps, SSHD_INCLUDE, type Card } from './card.ts';
import { card, cardDone, cardInReader, execOps, mounted, toAction } from './common.ts';
import { cardNodes } from './options.ts';

/** The tarball's sshd_config and whether it already includes sshd_config.d (undefined: not unpacked yet). */
export async function sshdState(ctx: StepContext, c: Card): Promise<{ hasInclude: boolean; content: string } | undefined> {
  const b = await ctx.ports.disks.readFile(join(c.root, 'etc/ssh/sshd_config'));
  if (!b) return undefined;
  const content = b.toString();
  const hasInclude = content.split('\n').some((l) => l.trim() === SSHD_INCLUDE);
  return { hasInclude, content };
}

/** How the card differs from what these ops write (empty: not at all): content and mode, links, removals, folders. */
export async function preconfigureProblems(ctx: StepContext, ops: DiskOp[]): Promise<string[]> {
  const d = ctx.ports.disks;
  const problems: string[] = [];
  for (const op of ops) {
    if (op.op === 'write-file') {
      const b = await d.readFile(op.path);
      const st = await d.stat(op.path);
      if (!b || b.toString() !== op.content) problems.push(`${op.path} is missing or differs`);
      else if (st && st.mode !== op.mode) problems.push(`${op.path} has mode ${st.mode.toString(8)}, expected ${op.mode.toString(8)}`);
    } else if (op.op === 'symlink') {
      const st = await d.stat(op.path);
      if (!st || st.type !== 'symlink' || st.target !== op.target) problems.push(`${op.path} is not a link to ${op.target}`);
    } else if (op.op === 'remove') {
      if (await d.stat(op.path)) problems.push(`${op.path} is still there`);
    } else if (op.op === 'mkdir' && op.device) {
      const st = await d.stat(op.path);
      if (!st || st.type !== 'dir' || st.mode !== op.mode) problems.push(`${op.path} is not a folder with mode ${op.mode.toString(8)}`);
    }
  }
  return problems;
}

/**
 * The preconfigure ops read back, less the sshd_config write: it is planned from the file as it is now (with the
 * Include line put in front), so the file never equals it. The Include line is what matters; verify checks it.
 */
export async function preconfiguredProblems(ctx: StepContext, c: Card): Promise<string[]> {
  const ops = preconfigureOps(c, { sshdConfig: await sshdState(ctx, c) });
  return preconfigureProblems(ctx, ops.filter((o) => !(o.op === 'write-file' && o.path.endsWith('sshd_config'))));
}

export const preconfigureStep: Step = {
  id: 'preconfigure',
  title: 'Pre-configure the card',
  explain: 'So the first boot needs no keyboard: host name, a static address, your SSH key for root, password login off, an empty machine-id (each board makes its own), the time zone and a clock seed for boards without a battery-backed clock.',
  nodes: cardNodes,
  async plan(ctx) {
    const c = card(ctx, true);
    return preconfigureOps(c, { sshdConfig: await sshdState(ctx, c) }).map(toAction);
  },
  async run(ctx) {
    const c = await cardInReader(ctx, true);
    const ops = preconfigureOps(c, { sshdConfig: await sshdState(ctx, c) });
    await execOps(ctx, ops);
  },
  async verify(ctx) {
    if (cardDone(ctx)) return true;
    const c = card(ctx, true);
    if (!(await mounted(ctx, c))) return false;
    return (await preconfiguredProblems(ctx, c)).length === 0;
  },
};
