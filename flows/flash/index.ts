// The flash stage: one card per board of the inventory, written on this computer. Every change is a DiskOp
// (card.ts): `plan` shows its command line, `run` hands the very same op to the Disks port.
//
// The folder: one file per step, named by its id, in the order below. options.ts reads --node/--device/--image,
// select.ts says which block devices may be a card, card.ts turns a board profile + node + image into the
// DiskOps of every step, common.ts holds what the steps share. A new board needs a profile (src/boards/), not code here.
import type { Stage, Step } from '../../src/engine/types.ts';
import { bootConfigStep } from './boot-config.ts';
import { bootloaderStep } from './bootloader.ts';
import { SECTOR } from './card.ts';
import { checkDeviceStep } from './check-device.ts';
import { extractStep } from './extract.ts';
import { fetchImageStep } from './fetch-image.ts';
import { formatStep } from './format.ts';
import { parseFlashOptions } from './options.ts';
import { partitionStep } from './partition.ts';
import { preconfigureStep } from './preconfigure.ts';
import { verifyStep } from './verify.ts';

// What tests and other code import from flows/flash/index.ts.
export { eligibleDevices, chooseDevice, exclusion, describeDevice } from './select.ts';
export type { Excluded, ExclusionCode, EligibilityOptions } from './select.ts';
export { parseFlashOptions, type FlashCard, type FlashOptions } from './options.ts';
export { toAction } from './common.ts';
export { flashPrerequisites } from './check-device.ts';
export { checkTarball } from './fetch-image.ts';
export { tableProblems } from './partition.ts';
export { bootloaderProblems } from './bootloader.ts';
export { bootScrText, bootConfigProblems } from './boot-config.ts';
export { preconfigureProblems } from './preconfigure.ts';
export { SECTOR };

export const FLASH_STEPS: Step[] = [checkDeviceStep, fetchImageStep, partitionStep, formatStep, extractStep, bootloaderStep, bootConfigStep, preconfigureStep, verifyStep];

export const flashStage: Stage = {
  id: 'flash',
  title: 'Flash the cards',
  summary: 'Write Arch Linux ARM onto one card per board, with its bootloader, boot script, address and SSH key, and check it by reading it back.',
  requires: [],
  onlyWhenNamed: 'flashing erases the card: name it with --stage flash --node NAME --device DEV',
  coversEveryNode: true,
  options: [
    { name: 'node', description: 'the board (node name) this card is for; several: comma-separated', choices: 'nodes' },
    { name: 'device', description: 'the card\'s block device, e.g. /dev/sdb; several: comma-separated, in the order of --node', choices: 'devices' },
    { name: 'image', description: 'a tarball you already have (PATH, with its .md5 beside it) or another URL' },
    { name: 'yes', description: 'confirm that everything on the device may be erased', default: 'false', confirmsBy: 'device' },
    { name: 'all-devices', description: 'also offer fixed (non-removable) disks', default: 'false', choices: 'yes-no' },
  ],
  parseOptions: (raw, cluster) => parseFlashOptions(raw, cluster) as unknown as Record<string, unknown>,
  report({ cluster, board, outputOf }) {
    const have = cluster.nodes.flatMap((n) => {
      const o = outputOf('verify', n.name);
      return o ? [`${n.name}: card ${String(o.device)}${o.model ? ` (${String(o.model)})` : ''} flashed and read back: ${board.name}, address ${n.address}, your SSH key`] : [];
    });
    const left = cluster.nodes.filter((n) => !outputOf('verify', n.name)).map((n) => n.name);
    const next = [...board.firstBootHints];
    if (left.length) next.push(`Cards still to flash: ${left.join(', ')} (the next run: choose the board and its card reader).`);
    return { have, next };
  },
  steps: FLASH_STEPS,
};
