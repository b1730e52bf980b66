// Step verify: everything read back from the card and compared with the plan, then sync, unmount and eject.
import type { Json, Outputs, PlannedAction, Step } from '../../src/engine/types.ts';
import { bootloaderWrites, finishOps, pathOnBootPartition, type Card } from './card.ts';
import { bootConfigProblems } from './boot-config.ts';
import { bootloaderProblems } from './bootloader.ts';
import { card, cardDone, cardInReader, checkedDevice, execOps, markFinished, toAction } from './common.ts';
import { cardNodes } from './options.ts';
import { readTableProblems } from './partition.ts';
import { preconfiguredProblems, sshdState } from './preconfigure.ts';

/** The read-back as shell commands, for `plan` (run reads through the Disks port). */
function readBackActions(c: Card): PlannedAction[] {
  const dev = c.device;
  const actions: PlannedAction[] = [
    { type: 'local', path: dev, description: 'read back the partition table and compare it with the board profile', content: `sfdisk --dump ${dev}` },
  ];
  for (const w of bootloaderWrites(c)) {
    const from = w.skip * w.bs;
    const at = w.seek * w.bs;
    actions.push({ type: 'local', path: dev, description: `read back the bootloader bytes at card byte ${at}`, content: `cmp ${w.count !== undefined ? `-n ${w.count * w.bs} ` : ''}-i ${from}:${at} <(mcopy -n -i ${c.bootPart.path} ::${pathOnBootPartition(w.file)} -) ${dev}` });
  }
  actions.push({ type: 'local', path: c.bootPart.path, description: 'read back boot.txt and boot.scr from the boot partition', content: `mcopy -n -i ${c.bootPart.path} ::/boot.txt - ; mkimage -l <(mcopy -n -i ${c.bootPart.path} ::/boot.scr -)` });
  actions.push({ type: 'local', path: c.root, description: 'read back every file written into the root filesystem (content and mode)', content: `cat ${c.root}/etc/hostname ${c.root}/etc/hosts ${c.root}/etc/fstab; stat -c '%a %n' ${c.root}/root/.ssh ${c.root}/root/.ssh/authorized_keys; test ! -s ${c.root}/etc/machine-id` });
  return actions;
}

/** Eject only removable media on USB or an SD slot (mmc); anything else is synced and unmounted, not ejected. */
function ejectable(seen: Outputs | undefined): boolean {
  return seen !== undefined && (seen.transport === 'usb' || seen.transport === 'mmc') && seen.removable === true;
}

export const verifyStep: Step = {
  id: 'verify',
  title: 'Read back, sync and eject',
  explain: 'Reads everything back from the card (partition table, boot files, bootloader bytes, the files written) and compares it with the plan, then flushes, unmounts and ejects: a card that passes is ready for the board.',
  nodes: cardNodes,
  plan(ctx) {
    const c = card(ctx, true);
    return [...readBackActions(c), ...finishOps(c, { eject: ejectable(checkedDevice(ctx)) }).map(toAction)];
  },
  async run(ctx) {
    const c = await cardInReader(ctx, true);
    // The read-backs are independent: run them together (each is a few small reads of the card).
    const [table, boot, config, files, sshd] = await Promise.all([
      readTableProblems(ctx, c),
      bootloaderProblems(ctx, c),
      bootConfigProblems(ctx, c, true),
      preconfiguredProblems(ctx, c),
      sshdState(ctx, c),
    ]);
    const problems = [...table, ...boot, ...config, ...files];
    if (sshd && !sshd.hasInclude) problems.push('sshd_config does not include sshd_config.d: password login would stay on');
    if (problems.length) throw new Error(`the card does not read back as written: ${problems.join('; ')}`);
    ctx.log('read back: partition table, bootloader bytes, boot.txt/boot.scr and every file written match');
    const seen = checkedDevice(ctx);
    await execOps(ctx, finishOps(c, { eject: ejectable(seen) }));
    markFinished(ctx);
    for (const h of ctx.board.firstBootHints) ctx.log(`next: ${h}`);
    const result: Record<string, Json> = {
      result: 'flashed',
      node: c.node.name,
      device: c.device,
      model: String(seen?.model ?? ''),
      serial: String(seen?.serial ?? ''),
      sizeBytes: Number(seen?.sizeBytes ?? 0),
      imageMd5: c.image.md5,
      bootloader: c.image.bootloader,
      address: c.node.address,
      finishedAt: new Date().toISOString(),
    };
    return result;
  },
  async verify(ctx) {
    return cardDone(ctx);
  },
};
