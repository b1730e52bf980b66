// Step check-device: the named device is a card that may be erased. Before it, what flashing needs on this
// computer: root rights and the disk tools.
import { InputError, type Check, type Step, type StepContext } from '../../src/engine/types.ts';
import { cardDone, publicKey } from './common.ts';
import { cardNodes, deviceOf, flashOptions } from './options.ts';
import { chooseDevice, describeDevice, exclusion } from './select.ts';

/** The tools the DiskOps run, with the package that brings each (Debian/Ubuntu, Arch). */
const TOOLS: Array<{ name: string; apt: string; pacman: string }> = [
  { name: 'lsblk', apt: 'util-linux', pacman: 'util-linux' },
  { name: 'findmnt', apt: 'util-linux', pacman: 'util-linux' },
  { name: 'sfdisk', apt: 'fdisk', pacman: 'util-linux' },
  { name: 'partx', apt: 'util-linux', pacman: 'util-linux' },
  { name: 'mkfs.vfat', apt: 'dosfstools', pacman: 'dosfstools' },
  { name: 'mkfs.ext4', apt: 'e2fsprogs', pacman: 'e2fsprogs' },
  { name: 'bsdtar', apt: 'libarchive-tools', pacman: 'libarchive' },
  { name: 'mcopy', apt: 'mtools', pacman: 'mtools' },
  { name: 'mdir', apt: 'mtools', pacman: 'mtools' },
  { name: 'mkimage', apt: 'u-boot-tools', pacman: 'uboot-tools' },
  { name: 'dd', apt: 'coreutils', pacman: 'coreutils' },
  { name: 'mount', apt: 'mount', pacman: 'util-linux' },
];

export async function flashPrerequisites(ctx: StepContext): Promise<Check[]> {
  const checks: Check[] = [];
  let root = ctx.ports.local.isRoot();
  if (!root) {
    const r = await ctx.ports.local.run('true', [], { sudo: true, signal: ctx.signal }).catch(() => ({ code: 1, stdout: '', stderr: '' }));
    root = r.code === 0;
  }
  checks.push({ ok: root, what: 'root rights (or sudo) to write cards', fix: 'run boardkube with sudo, or run `sudo -v` first so sudo works without asking (the wizard asks for the password once and never stores it)' });
  const tools = await Promise.all(TOOLS.map(async (t) => ({ t, info: await ctx.ports.local.tool(t.name) })));
  for (const { t, info } of tools) {
    checks.push({ ok: info.path !== null, what: `${t.name} is installed`, fix: `apt-get install ${t.apt}  (Arch: pacman -S ${t.pacman})` });
  }
  // The card gets your public key; without it the board could not be reached after the first boot.
  let keyProblem: InputError | undefined;
  try {
    publicKey(ctx.cluster);
  } catch (e) {
    keyProblem = e as InputError;
  }
  checks.push({ ok: !keyProblem, what: `your SSH public key ${ctx.cluster.ssh.keyPath}.pub can be read`, fix: keyProblem?.fix ?? '' });
  return checks;
}

export const checkDeviceStep: Step = {
  id: 'check-device',
  title: 'Check the card',
  explain: 'Makes sure the device you named is a card and not this computer\'s own disk or anything mounted: a wrong device here is how flashing tools wipe laptops.',
  nodes: cardNodes,
  needs: flashPrerequisites,
  plan: () => [],
  async run(ctx) {
    const o = flashOptions(ctx);
    const device = deviceOf(ctx);
    const devices = await ctx.ports.disks.list(ctx.signal);
    const d = chooseDevice(device, devices, ctx.board, { allDevices: o.allDevices, ownMountBase: ctx.ports.disks.ownMountBase });
    if (!o.yes) throw new InputError('--yes', `flashing erases everything on ${describeDevice(d)}`, `check the name, then add --yes (the wizard asks you to type ${d.path})`);
    ctx.log(`card for ${ctx.node?.name}: ${describeDevice(d)}`);
    const own = d.mountpoints.filter(Boolean);
    if (own.length) ctx.log(`left mounted by an earlier run: ${own.join(', ')} (unmounted before partitioning)`);
    // Outputs: what sameCard compares with before every later step, and what verify reports.
    return { device: d.path, sizeBytes: d.sizeBytes, model: d.model, serial: d.serial ?? '', transport: d.transport, removable: d.removable, backingFile: d.backingFile ?? '' };
  },
  async verify(ctx) {
    if (cardDone(ctx)) return true;
    const d = await ctx.ports.disks.get(deviceOf(ctx), ctx.signal);
    if (!d) return false;
    return exclusion(d, ctx.board, { allDevices: flashOptions(ctx).allDevices, ownMountBase: ctx.ports.disks.ownMountBase }) === null;
  },
};
