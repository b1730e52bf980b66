// The flash stage: one card per board of the inventory, written on this computer. Every change is a DiskOp
// (flows/flash/card.ts): `plan` shows its command line, `run` hands the very same op to the Disks port.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BoardProfile } from '../../src/boards/types.ts';
import type { ClusterSpec, NodeSpec } from '../../src/cluster/spec.ts';
import { InputError, type Check, type Json, type Outputs, type PlannedAction, type Stage, type Step, type StepContext } from '../../src/engine/types.ts';
import { commandLine, DiskError, type DiskOp, type TarballFacts } from '../../src/ports/disks.ts';
import { expandHome } from '../../src/util/paths.ts';
import {
  ALARM_SIGNING_KEY,
  bootConfigOps,
  bootloaderOps,
  bootloaderWrites,
  bootScript,
  expectedImage,
  extractOps,
  finishOps,
  formatOps,
  imageCacheDir,
  layoutBytes,
  makeCard,
  partitionOps,
  preconfigureOps,
  SECTOR,
  SSHD_INCLUDE,
  tableSpec,
  type BootloaderKind,
  type Card,
  type ImageFacts,
} from './card.ts';
import { chooseDevice, describeDevice, exclusion, formatBytes } from './select.ts';

export { eligibleDevices, chooseDevice, exclusion, describeDevice } from './select.ts';
export type { Excluded, ExclusionCode, EligibilityOptions } from './select.ts';

export interface FlashCard {
  node: string;
  device: string;
}

export interface FlashOptions {
  cards: FlashCard[];
  image?: string;
  yes: boolean;
  allDevices: boolean;
}

const STAGE = 'flash' as const;

// ---------------------------------------------------------------------------------------------------------
// Options

const list = (v: unknown): string[] =>
  (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : v === undefined || v === null ? [] : [String(v)]).map((s) => s.trim()).filter(Boolean);
const flag = (v: unknown): boolean => v === true || v === 'true' || v === '1' || v === 'yes' || v === '';

export function parseFlashOptions(raw: Record<string, unknown>, cluster: ClusterSpec): FlashOptions {
  const nodes = list(raw.node ?? raw.nodes);
  const devices = list(raw.device ?? raw.devices);
  if (nodes.length === 0) throw new InputError('--node', 'is missing: which board is this card for?', `name one of: ${cluster.nodes.map((n) => n.name).join(', ')}`);
  for (const n of nodes) {
    if (!cluster.nodes.some((x) => x.name === n)) throw new InputError('--node', `"${n}" is not a node of cluster "${cluster.name}"`, `use one of: ${cluster.nodes.map((x) => x.name).join(', ')}`);
  }
  if (new Set(nodes).size !== nodes.length) throw new InputError('--node', 'names a board twice', 'one card per board');
  if (devices.length === 0) throw new InputError('--device', 'is missing: which card reader device to write?', 'look at `lsblk` (or the wizard\'s list) and pass e.g. --device /dev/sdb');
  if (devices.length !== nodes.length) throw new InputError('--device', `${devices.length} devices for ${nodes.length} boards`, 'give one device per --node, in the same order (comma-separated)');
  if (new Set(devices).size !== devices.length) throw new InputError('--device', 'names a device twice', 'one card per device');
  for (const d of devices) if (!d.startsWith('/dev/')) throw new InputError('--device', `"${d}" is not a device path`, 'write it as /dev/NAME, e.g. /dev/sdb or /dev/mmcblk0');
  const image = typeof raw.image === 'string' && raw.image.trim() ? raw.image.trim() : undefined;
  if (image && !/^https?:\/\//.test(image)) {
    if (!existsSync(image)) throw new InputError('--image', `${image} does not exist`, 'give the path of an ArchLinuxARM-*.tar.gz, or its http(s) URL');
  }
  return {
    cards: nodes.map((node, i) => ({ node, device: devices[i]! })),
    image,
    yes: flag(raw.yes),
    allDevices: flag(raw['all-devices'] ?? raw.allDevices),
  };
}

function options(ctx: StepContext): FlashOptions {
  const o = ctx.options as Partial<FlashOptions>;
  if (!Array.isArray(o.cards)) return parseFlashOptions(ctx.options, ctx.cluster);
  return o as FlashOptions;
}

function deviceOf(ctx: StepContext): string {
  const c = options(ctx).cards.find((x) => x.node === ctx.node?.name);
  if (!c) throw new Error(`no card chosen for ${ctx.node?.name}`);
  return c.device;
}

// ---------------------------------------------------------------------------------------------------------
// The card of a step

function imageFacts(ctx: StepContext): ImageFacts {
  const out = ctx.outputOf(STAGE, 'fetch-image', null) ?? fetched.get(imageKey(ctx));
  if (out && typeof out.tarball === 'string') {
    return {
      tarball: out.tarball,
      md5: String(out.md5 ?? ''),
      bytes: Number(out.bytes ?? 0),
      uncompressedBytes: Number(out.uncompressedBytes ?? 0),
      bootloader: (out.bootloader as BootloaderKind) ?? 'mainline',
      kernelVersions: Array.isArray(out.kernelVersions) ? out.kernelVersions.map(String) : [],
    };
  }
  return expectedImage(ctx.board, options(ctx).image);
}

function publicKey(cluster: ClusterSpec): string {
  const path = `${expandHome(cluster.ssh.keyPath)}.pub`;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    throw new InputError('ssh.keyPath', `the public key ${path} cannot be read`, `create the key pair with \`ssh-keygen -t ed25519 -f ${cluster.ssh.keyPath}\`, or point ssh.keyPath at an existing one`);
  }
}

function card(ctx: StepContext, withKey = false): Card {
  if (!ctx.node) throw new Error('the flash steps run per board');
  return makeCard({ profile: ctx.board, cluster: ctx.cluster, node: ctx.node, device: deviceOf(ctx), mountBase: ctx.ports.disks.ownMountBase, image: imageFacts(ctx), publicKey: withKey ? publicKey(ctx.cluster) : '' });
}

export function toAction(op: DiskOp): PlannedAction {
  if (op.op === 'write-file') return { type: 'file', description: op.describe, path: op.path, content: op.content, mode: op.mode, sudo: true };
  return { type: 'local', description: op.describe, content: commandLine(op), path: op.device ?? ('path' in op ? op.path : undefined), sudo: true };
}

function rateText(done: number, total: number, rate: number | undefined): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  const parts = [`${mb(done)} of ${mb(total)}`];
  if (rate && rate > 0) {
    parts.push(`${(rate / 1e6).toFixed(1)} MB/s`);
    const eta = Math.max(0, Math.round((total - done) / rate));
    parts.push(`ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}`);
  }
  return parts.join(' · ');
}

async function execOps(ctx: StepContext, ops: DiskOp[]): Promise<void> {
  for (const op of ops) {
    ctx.signal.throwIfAborted();
    ctx.log(`$ ${commandLine(op).split('\n')[0]}`);
    const started = Date.now();
    await ctx.ports.disks.exec(op, {
      signal: ctx.signal,
      log: ctx.log,
      progress: (p) => {
        const rate = p.rate ?? (p.done / Math.max(0.001, (Date.now() - started) / 1000));
        ctx.progress({ done: p.done, total: p.total, unit: 'bytes', message: rateText(p.done, p.total, rate) });
      },
    });
  }
}

/** The final record of a card: once it is there, the card has left the reader and counts as done. */
const finished = new Set<string>();
const fetched = new Map<string, Outputs>();
const imageKey = (ctx: StepContext) => `${ctx.cluster.name}|${options(ctx).image ?? ctx.board.tarball.url}`;
const cardKey = (ctx: StepContext) => `${ctx.cluster.name}|${ctx.node?.name}|${deviceOf(ctx)}`;

function cardDone(ctx: StepContext): boolean {
  if (finished.has(cardKey(ctx))) return true;
  const out = ctx.outputOf(STAGE, 'verify', ctx.node?.name ?? null);
  return out?.result === 'flashed' && out.device === deviceOf(ctx);
}

/** The card in the reader is still the one check-device looked at (not pulled out, not swapped). */
async function sameCard(ctx: StepContext): Promise<void> {
  const device = deviceOf(ctx);
  const now = await ctx.ports.disks.get(device, ctx.signal);
  if (!now) throw new DiskError('gone', `${device} is not there any more (card pulled out?)`, 'put the card back and run the same command again');
  const seen = ctx.outputOf(STAGE, 'check-device', ctx.node?.name ?? null);
  if (seen && (seen.sizeBytes !== now.sizeBytes || (seen.serial ?? '') !== (now.serial ?? '') || (seen.backingFile ?? '') !== (now.backingFile ?? ''))) {
    throw new DiskError('gone', `the card in ${device} is not the one checked before (${formatBytes(Number(seen.sizeBytes))} ${seen.serial || ''} then, ${formatBytes(now.sizeBytes)} ${now.serial || ''} now)`, 'put the first card back, or start again with `--stage flash` after `boardkube reset --stage flash`');
  }
  const e = exclusion(now, ctx.board, { allDevices: true, ownMountBase: ctx.ports.disks.ownMountBase });
  if (e && (e.code === 'system' || e.code === 'mounted' || e.code === 'read-only')) throw new InputError('--device', `refusing ${describeDevice(now)}: ${e.reason}`);
}

// ---------------------------------------------------------------------------------------------------------
// Prerequisites

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
  return checks;
}

// ---------------------------------------------------------------------------------------------------------
// Steps

const checkDevice: Step = {
  id: 'check-device',
  title: 'Check the card',
  explain: 'Makes sure the device you named is a card and not this computer\'s own disk or anything mounted: a wrong device here is how flashing tools wipe laptops.',
  nodes: (cluster, o) => nodesOf(cluster, o),
  needs: flashPrerequisites,
  plan: () => [],
  async run(ctx) {
    const o = options(ctx);
    const device = deviceOf(ctx);
    const devices = await ctx.ports.disks.list(ctx.signal);
    const d = chooseDevice(device, devices, ctx.board, { allDevices: o.allDevices, ownMountBase: ctx.ports.disks.ownMountBase });
    if (!o.yes) throw new InputError('--yes', `flashing erases everything on ${describeDevice(d)}`, `check the name, then add --yes (the wizard asks you to type ${d.path})`);
    ctx.log(`card for ${ctx.node?.name}: ${describeDevice(d)}`);
    const own = d.mountpoints.filter(Boolean);
    if (own.length) ctx.log(`left mounted by an earlier run: ${own.join(', ')} (unmounted before partitioning)`);
    return { device: d.path, sizeBytes: d.sizeBytes, model: d.model, serial: d.serial ?? '', transport: d.transport, removable: d.removable, backingFile: d.backingFile ?? '' };
  },
  async verify(ctx) {
    if (cardDone(ctx)) return true;
    const d = await ctx.ports.disks.get(deviceOf(ctx), ctx.signal);
    if (!d) return false;
    return exclusion(d, ctx.board, { allDevices: options(ctx).allDevices, ownMountBase: ctx.ports.disks.ownMountBase }) === null;
  },
};

function md5Of(text: string): string | null {
  const m = /^\s*([0-9a-fA-F]{32})\b/.exec(text);
  return m ? m[1]!.toLowerCase() : null;
}

interface Sidecar {
  size: number;
  mtimeMs: number;
  facts: TarballFacts;
}

function sidecarPath(tarball: string, local: boolean): string {
  if (!local) return `${tarball}.boardkube.json`;
  return join(imageCacheDir(), `${basename(tarball)}-${Buffer.from(tarball).toString('base64url').slice(-24)}.boardkube.json`);
}

/** Does the tarball belong to this board? Returns the problems (empty: yes) and the bootloader it carries. */
export function checkTarball(facts: TarballFacts, profile: BoardProfile): { problems: string[]; bootloader: BootloaderKind; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const has = (p: string) => (p.endsWith('/') ? facts.bootFiles.some((f) => f.startsWith(p) && f !== p) : facts.bootFiles.includes(p));
  for (const anyOf of profile.tarballMustHave ?? []) {
    if (!anyOf.some(has)) problems.push(`it has no ${anyOf.map((p) => `/${p}`).join(' or ')}`);
  }
  if (!facts.elf) problems.push('it holds no program under /usr/bin to tell its CPU architecture (not a root filesystem?)');
  else if (facts.elf.machine !== 183 || facts.elf.class !== 64) {
    const names: Record<number, string> = { 3: 'x86 (32-bit)', 40: 'ARM 32-bit', 62: 'x86-64', 183: 'AArch64', 243: 'RISC-V' };
    problems.push(`its programs are built for ${names[facts.elf.machine] ?? `ELF machine ${facts.elf.machine}`} (/${facts.elf.path}), the ${profile.name} needs AArch64`);
  }
  const mainline = profile.bootloader.writes.map((w) => w.file.replace(/^\//, ''));
  const legacy = profile.bootloader.legacy ? [profile.bootloader.legacy.file.replace(/^\//, '')] : [];
  let bootloader: BootloaderKind = 'none';
  if (mainline.length && mainline.every(has)) bootloader = 'mainline';
  else if (legacy.length && legacy.every(has)) bootloader = 'legacy';
  else if (profile.bootloader.writes.length) problems.push(`it carries no bootloader for the ${profile.name} (${[...new Set([...mainline, ...legacy])].map((p) => `/${p}`).join(' or ')})`);
  if (bootloader === 'mainline' && facts.kernelVersions.length && facts.kernelVersions.every((v) => /^[1-4]\./.test(v))) {
    warnings.push(`the tarball's only kernel is ${facts.kernelVersions.join(', ')} (vendor): mainline U-Boot cannot start it, and current Kubernetes needs ${profile.kernelPackage}. boot.scr is written for ${profile.kernelPackage}; install it on the card before the first boot, or use a tarball that carries it.`);
  }
  return { problems, bootloader, warnings };
}

const fetchImage: Step = {
  id: 'fetch-image',
  title: 'Get the Arch Linux ARM image',
  explain: 'Downloads the board\'s root filesystem tarball once into a cache (resuming a broken download) and checks it against the .md5 Arch Linux ARM publishes beside it, so a damaged download never reaches a card.',
  async needs(ctx) {
    const o = options(ctx);
    const img = expectedImage(ctx.board, o.image);
    if (o.image && !/^https?:\/\//.test(o.image)) return [];
    const cached = await ctx.ports.disks.stat(img.tarball);
    const free = await ctx.ports.disks.freeBytes(imageCacheDir()).catch(() => 0);
    const need = cached ? 0 : 1.5 * 1024 ** 3;
    return [{ ok: free >= need, what: `room for the download in ${imageCacheDir()} (${formatBytes(need)}, ${formatBytes(free)} free)`, fix: 'free some space, or set BOARDKUBE_CACHE_DIR to a folder with room, or pass --image PATH with a tarball you already have' }];
  },
  plan(ctx) {
    const o = options(ctx);
    const src = o.image ?? ctx.board.tarball.url;
    const img = expectedImage(ctx.board, o.image);
    const actions: PlannedAction[] = [];
    if (/^https?:\/\//.test(src)) {
      actions.push({ type: 'local', path: img.tarball, description: `download ${src} into the cache (continues a broken download where it stopped)`, content: `curl -fL -C - -o ${img.tarball}.part ${src} && mv ${img.tarball}.part ${img.tarball}` });
    }
    const md5Url = /^https?:\/\//.test(src) ? (src === ctx.board.tarball.url ? ctx.board.tarball.md5Url : `${src}.md5`) : `${src}.md5`;
    actions.push({ type: 'local', path: img.tarball, description: `check the tarball against ${md5Url} and that it is an AArch64 root filesystem for the ${ctx.board.name}`, content: `test "$(md5sum < ${img.tarball} | cut -d' ' -f1)" = "$(cut -d' ' -f1 ${/^https?:\/\//.test(md5Url) ? `<(curl -fsL ${md5Url})` : md5Url})"` });
    return actions;
  },
  async run(ctx) {
    const o = options(ctx);
    const disks = ctx.ports.disks;
    const src = o.image ?? ctx.board.tarball.url;
    const remote = /^https?:\/\//.test(src);
    const img = expectedImage(ctx.board, o.image);
    const md5Url = remote ? (src === ctx.board.tarball.url ? ctx.board.tarball.md5Url : `${src}.md5`) : `${src}.md5`;
    let expected: string | null;
    if (remote) {
      expected = md5Of(await disks.fetchText(md5Url, ctx.signal));
      if (!expected) throw new DiskError('io', `${md5Url} holds no md5 sum`);
    } else {
      const text = await disks.readFile(md5Url);
      if (!text) throw new InputError('--image', `there is no ${basename(md5Url)} beside ${src}`, `download it too (Arch Linux ARM publishes ${basename(src)}.md5 beside every tarball) and put it next to the tarball`);
      expected = md5Of(text.toString());
      if (!expected) throw new InputError('--image', `${md5Url} holds no md5 sum`, 'download the .md5 again');
    }
    const sideFile = sidecarPath(img.tarball, !remote);
    const readSidecar = async (): Promise<Sidecar | null> => {
      const b = await disks.readFile(sideFile);
      try {
        return b ? (JSON.parse(b.toString()) as Sidecar) : null;
      } catch {
        return null;
      }
    };
    let st = await disks.stat(img.tarball);
    let side = await readSidecar();
    let facts: TarballFacts | null = st && side && side.size === st.size && side.mtimeMs === st.mtimeMs && side.facts.md5 === expected ? side.facts : null;
    if (facts) ctx.log(`using the cached ${basename(img.tarball)} (md5 ${expected} checked before)`);
    if (!facts && remote) {
      if (st && side && side.size === st.size && side.mtimeMs === st.mtimeMs && side.facts.md5 !== expected) {
        ctx.log(`the cached ${basename(img.tarball)} is an older build (md5 ${side.facts.md5}, now ${expected}): downloading the new one`);
        await disks.discard(img.tarball);
        st = null;
      }
      if (!st) {
        ctx.log(`downloading ${src}`);
        const started = Date.now();
        const r = await disks.fetch(src, img.tarball, {
          signal: ctx.signal,
          log: ctx.log,
          progress: (p) => ctx.progress({ done: p.done, total: p.total, unit: 'bytes', message: rateText(p.done, p.total, (p.done - 0) / Math.max(0.001, (Date.now() - started) / 1000)) }),
        });
        ctx.log(`downloaded ${formatBytes(r.bytes)}${r.resumedFrom ? ` (continued at ${formatBytes(r.resumedFrom)})` : ''}${r.retries ? `, resumed ${r.retries} time(s) after a broken connection` : ''}`);
      }
    }
    if (!facts) {
      ctx.log('checking the md5 sum and looking inside the tarball');
      facts = await disks.inspectTarball(img.tarball, { signal: ctx.signal, progress: (p) => ctx.progress({ done: p.done, total: p.total, unit: 'bytes', message: `checking: ${rateText(p.done, p.total, undefined)}` }) });
      if (facts.md5 !== expected) {
        if (remote) await disks.discard(img.tarball);
        const msg = `checksum mismatch: ${basename(img.tarball)} has md5 ${facts.md5}, ${md5Url} says ${expected}`;
        if (remote) throw new DiskError('io', `${msg}; the download is damaged and was deleted`, 'run the same command again to download it anew');
        throw new InputError('--image', `${msg}: the file is damaged or not the one the .md5 belongs to`, 'download the tarball and its .md5 again');
      }
      if (facts.damaged) {
        throw new InputError('--image', `${basename(img.tarball)} matches its .md5 but cannot be read: ${facts.damaged}`, `use ${ctx.board.tarball.url}`);
      }
      st = await disks.stat(img.tarball);
      if (st) {
        await disks.writeLocalFile(sideFile, JSON.stringify({ size: st.size, mtimeMs: st.mtimeMs, facts } satisfies Sidecar)).catch((e: Error) => ctx.log(`could not remember the check in ${sideFile}: ${e.message} (the next run checks again)`));
      }
    }
    ctx.log(`md5 ${facts.md5} matches ${md5Url}`);
    const sigUrl = remote ? (src === ctx.board.tarball.url ? ctx.board.tarball.sigUrl : `${src}.sig`) : undefined;
    if (sigUrl) {
      const sig = await disks.verifySignature(img.tarball, sigUrl, ALARM_SIGNING_KEY, ctx.signal);
      if (sig.status === 'bad') throw new DiskError('io', `the signature of ${basename(img.tarball)} is BAD: ${sig.detail}`, 'do not use this tarball; download it again from another mirror');
      ctx.log(sig.status === 'good' ? `signature good (${ALARM_SIGNING_KEY})` : `signature NOT checked: ${sig.detail}. The md5 only proves the download is complete, not who made it (fix: gpg --recv-keys ${ALARM_SIGNING_KEY})`);
    } else {
      ctx.log('signature NOT checked: a local --image has no signature to check; the md5 only proves the file is complete');
    }
    const verdict = checkTarball(facts, ctx.board);
    if (verdict.problems.length) {
      throw new InputError('--image', `${basename(img.tarball)} is not an Arch Linux ARM tarball for the ${ctx.board.name}: ${verdict.problems.join('; ')}`, `use ${ctx.board.tarball.url}`);
    }
    for (const w of verdict.warnings) ctx.log(`WARNING: ${w}`);
    if (verdict.bootloader === 'legacy') ctx.log(ctx.board.bootloader.legacy?.note ?? 'older bootloader found');
    ctx.log(`${facts.entries} entries, ${formatBytes(facts.uncompressedBytes)} unpacked, kernel ${facts.kernelVersions.join(', ') || 'unknown'}, bootloader: ${verdict.bootloader}`);
    const out: Outputs = { tarball: img.tarball, source: src, md5: facts.md5, bytes: facts.compressedBytes, uncompressedBytes: facts.uncompressedBytes, bootloader: verdict.bootloader, kernelVersions: facts.kernelVersions };
    fetched.set(imageKey(ctx), out);
    return out;
  },
  async verify(ctx) {
    const out = ctx.outputOf(STAGE, 'fetch-image', null) ?? fetched.get(imageKey(ctx));
    if (!out || typeof out.tarball !== 'string') return false;
    const st = await ctx.ports.disks.stat(out.tarball);
    return st !== null && st.size === out.bytes;
  },
};

function nodesOf(cluster: ClusterSpec, raw: Record<string, unknown>): NodeSpec[] {
  let cards: FlashCard[];
  try {
    cards = Array.isArray((raw as Partial<FlashOptions>).cards) ? (raw as unknown as FlashOptions).cards : parseFlashOptions(raw, cluster).cards;
  } catch {
    return [];
  }
  return cards.map((c) => cluster.nodes.find((n) => n.name === c.node)).filter((n): n is NodeSpec => n !== undefined);
}

async function tableMatches(ctx: StepContext, c: Card): Promise<boolean> {
  const t = await ctx.ports.disks.readTable(c.device, ctx.signal).catch(() => null);
  if (!t) return false;
  return tableProblems(t, c).length === 0;
}

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

const partition: Step = {
  id: 'partition',
  title: 'Partition the card',
  explain: 'Writes a new MBR partition table with the layout the board\'s bootloader expects: a FAT boot partition after the space the bootloader occupies, and the root partition filling the rest.',
  nodes: (cluster, o) => nodesOf(cluster, o),
  plan: (ctx) => partitionOps(card(ctx)).map(toAction),
  async run(ctx) {
    const c = card(ctx);
    await sameCard(ctx);
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

const format: Step = {
  id: 'format',
  title: 'Create the filesystems',
  explain: 'FAT32 for the boot partition (U-Boot reads it) and ext4 for the root filesystem, with identifiers that the card\'s fstab names.',
  nodes: (cluster, o) => nodesOf(cluster, o),
  plan: (ctx) => formatOps(card(ctx)).map(toAction),
  async run(ctx) {
    await sameCard(ctx);
    await execOps(ctx, formatOps(card(ctx)));
  },
  async verify(ctx) {
    return cardDone(ctx) || (await superblockOk(ctx, card(ctx)));
  },
};

async function mounted(ctx: StepContext, c: Card): Promise<boolean> {
  return (await ctx.ports.disks.mountedAt(c.root)) === c.rootPart.path;
}

const extract: Step = {
  id: 'extract',
  title: 'Unpack Arch Linux ARM onto the card',
  explain: 'Unpacks the root filesystem tarball onto the card\'s root partition, keeping Arch\'s file owners and permissions. This is the long part: progress shows MB/s and the time left.',
  nodes: (cluster, o) => nodesOf(cluster, o),
  plan: (ctx) => extractOps(card(ctx)).map(toAction),
  async run(ctx) {
    const c = card(ctx);
    await sameCard(ctx);
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

/** The bootloader file's bytes: from the unpacked tree, or from the boot partition once the files moved there. */
async function bootFile(ctx: StepContext, c: Card, file: string): Promise<Buffer | null> {
  return (await ctx.ports.disks.readFile(join(c.root, file))) ?? (await ctx.ports.disks.readFat(c.bootPart.path, file.replace(/^\/boot/, '')).catch(() => null));
}

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

const bootloader: Step = {
  id: 'bootloader',
  title: 'Write the bootloader',
  explain: 'The board\'s boot ROM reads U-Boot from fixed places at the start of the card, outside any partition: two dd commands put it there without touching the partition table.',
  nodes: (cluster, o) => nodesOf(cluster, o),
  async plan(ctx) {
    const c = card(ctx);
    return bootloaderOps(c, await needsFatCopy(ctx, c)).map(toAction);
  },
  async run(ctx) {
    const c = card(ctx);
    await sameCard(ctx);
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

async function needsFatCopy(ctx: StepContext, c: Card): Promise<boolean> {
  const w = bootloaderWrites(c)[0];
  if (!w) return false;
  if (await ctx.ports.disks.stat(join(c.root, w.file))) return false;
  return (await ctx.ports.disks.readFat(c.bootPart.path, w.file.replace(/^\/boot/, '')).catch(() => null)) !== null;
}

/** mkimage's legacy image header magic and the script inside. */
export function bootScrText(scr: Buffer): string | null {
  if (scr.length < 72 || scr.readUInt32BE(0) !== 0x27051956) return null;
  const len = scr.readUInt32BE(64);
  return scr.subarray(72, 72 + len).toString();
}

export async function bootConfigProblems(ctx: StepContext, c: Card, checkStage: boolean): Promise<string[]> {
  const problems: string[] = [];
  const d = ctx.ports.disks;
  const txt = await d.readFat(c.bootPart.path, '/boot.txt').catch(() => null);
  if (!txt || txt.toString() !== bootScript(c)) problems.push('boot.txt on the boot partition is missing or differs');
  const scr = await d.readFat(c.bootPart.path, '/boot.scr').catch(() => null);
  const inner = scr ? bootScrText(scr) : null;
  if (inner === null) problems.push('boot.scr is missing or not an mkimage script');
  else if (inner !== bootScript(c)) problems.push('boot.scr does not hold the boot script');
  if (checkStage && (await mounted(ctx, c))) {
    const left = await d.stat(join(c.root, 'boot/boot.scr'));
    if (left) problems.push(`${c.root}/boot still holds the boot files`);
  }
  return problems;
}

const bootConfig: Step = {
  id: 'boot-config',
  title: 'Write the boot configuration',
  explain: 'U-Boot runs boot.scr from the boot partition: it loads the mainline kernel, its device tree and initramfs, with the serial console and the root partition named by PARTUUID. Then the boot files move onto the boot partition.',
  nodes: (cluster, o) => nodesOf(cluster, o),
  plan: (ctx) => bootConfigOps(card(ctx)).map(toAction),
  async run(ctx) {
    const c = card(ctx);
    await sameCard(ctx);
    if (c.image.bootloader === 'legacy') ctx.log(`the vendor U-Boot reads ${ctx.board.boot.legacyConfig?.join(', ') ?? 'boot.ini'} (kept as it is); boot.scr is for mainline U-Boot with ${ctx.board.kernelPackage}`);
    await execOps(ctx, bootConfigOps(c));
  },
  async verify(ctx) {
    if (cardDone(ctx)) return true;
    return (await bootConfigProblems(ctx, card(ctx), true).catch(() => ['unreadable'])).length === 0;
  },
};

async function sshdState(ctx: StepContext, c: Card): Promise<{ hasInclude: boolean; content: string } | undefined> {
  const b = await ctx.ports.disks.readFile(join(c.root, 'etc/ssh/sshd_config'));
  if (!b) return undefined;
  const content = b.toString();
  const hasInclude = content.split('\n').some((l) => l.trim() === SSHD_INCLUDE);
  return { hasInclude, content };
}

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

const preconfigure: Step = {
  id: 'preconfigure',
  title: 'Pre-configure the card',
  explain: 'So the first boot needs no keyboard: host name, a static address, your SSH key for root, password login off, an empty machine-id (each board makes its own), the time zone and a clock seed for boards without a battery-backed clock.',
  nodes: (cluster, o) => nodesOf(cluster, o),
  async plan(ctx) {
    const c = card(ctx, true);
    return preconfigureOps(c, { sshdConfig: await sshdState(ctx, c) }).map(toAction);
  },
  async run(ctx) {
    const c = card(ctx, true);
    await sameCard(ctx);
    const ops = preconfigureOps(c, { sshdConfig: await sshdState(ctx, c) });
    await execOps(ctx, ops);
  },
  async verify(ctx) {
    if (cardDone(ctx)) return true;
    const c = card(ctx, true);
    if (!(await mounted(ctx, c))) return false;
    const ops = preconfigureOps(c, { sshdConfig: await sshdState(ctx, c) });
    return (await preconfigureProblems(ctx, ops.filter((o) => !(o.op === 'write-file' && o.path.endsWith('sshd_config'))))).length === 0;
  },
};

function readBackActions(c: Card): PlannedAction[] {
  const dev = c.device;
  const actions: PlannedAction[] = [
    { type: 'local', path: dev, description: 'read back the partition table and compare it with the board profile', content: `sfdisk --dump ${dev}` },
  ];
  for (const w of bootloaderWrites(c)) {
    const from = w.skip * w.bs;
    const at = w.seek * w.bs;
    actions.push({ type: 'local', path: dev, description: `read back the bootloader bytes at card byte ${at}`, content: `cmp ${w.count !== undefined ? `-n ${w.count * w.bs} ` : ''}-i ${from}:${at} <(mcopy -n -i ${c.bootPart.path} ::${w.file.replace(/^\/boot/, '')} -) ${dev}` });
  }
  actions.push({ type: 'local', path: c.bootPart.path, description: 'read back boot.txt and boot.scr from the boot partition', content: `mcopy -n -i ${c.bootPart.path} ::/boot.txt - ; mkimage -l <(mcopy -n -i ${c.bootPart.path} ::/boot.scr -)` });
  actions.push({ type: 'local', path: c.root, description: 'read back every file written into the root filesystem (content and mode)', content: `cat ${c.root}/etc/hostname ${c.root}/etc/hosts ${c.root}/etc/fstab; stat -c '%a %n' ${c.root}/root/.ssh ${c.root}/root/.ssh/authorized_keys; test ! -s ${c.root}/etc/machine-id` });
  return actions;
}

const verify: Step = {
  id: 'verify',
  title: 'Read back, sync and eject',
  explain: 'Reads everything back from the card (partition table, boot files, bootloader bytes, the files written) and compares it with the plan, then flushes, unmounts and ejects: a card that passes is ready for the board.',
  nodes: (cluster, o) => nodesOf(cluster, o),
  plan(ctx) {
    const c = card(ctx, true);
    const seen = ctx.outputOf(STAGE, 'check-device', ctx.node?.name ?? null);
    return [...readBackActions(c), ...finishOps(c, { eject: ejectable(seen) }).map(toAction)];
  },
  async run(ctx) {
    const c = card(ctx, true);
    await sameCard(ctx);
    const problems: string[] = [];
    const t = await ctx.ports.disks.readTable(c.device, ctx.signal);
    if (!t) problems.push('no partition table');
    else problems.push(...tableProblems(t, c));
    problems.push(...(await bootloaderProblems(ctx, c)));
    problems.push(...(await bootConfigProblems(ctx, c, true)));
    const ops = preconfigureOps(c, { sshdConfig: await sshdState(ctx, c) });
    problems.push(...(await preconfigureProblems(ctx, ops.filter((o) => !(o.op === 'write-file' && o.path.endsWith('sshd_config'))))));
    const sshd = await sshdState(ctx, c);
    if (sshd && !sshd.hasInclude) problems.push('sshd_config does not include sshd_config.d: password login would stay on');
    if (problems.length) throw new Error(`the card does not read back as written: ${problems.join('; ')}`);
    ctx.log('read back: partition table, bootloader bytes, boot.txt/boot.scr and every file written match');
    const seen = ctx.outputOf(STAGE, 'check-device', ctx.node?.name ?? null);
    await execOps(ctx, finishOps(c, { eject: ejectable(seen) }));
    finished.add(cardKey(ctx));
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

function ejectable(seen: Outputs | undefined): boolean {
  return seen !== undefined && (seen.transport === 'usb' || seen.transport === 'mmc') && seen.removable === true;
}

export const FLASH_STEPS: Step[] = [checkDevice, fetchImage, partition, format, extract, bootloader, bootConfig, preconfigure, verify];

export const flashStage: Stage = {
  id: 'flash',
  title: 'Flash the cards',
  summary: 'Write Arch Linux ARM onto one card per board, with its bootloader, boot script, address and SSH key, and check it by reading it back.',
  requires: [],
  onlyWhenNamed: 'flashing erases the card: name it with --stage flash --node NAME --device DEV',
  options: [
    { name: 'node', description: 'the board (node name) this card is for; several: comma-separated' },
    { name: 'device', description: 'the card\'s block device, e.g. /dev/sdb; several: comma-separated, in the order of --node' },
    { name: 'image', description: 'a tarball you already have (PATH, with its .md5 beside it) or another URL' },
    { name: 'yes', description: 'confirm that everything on the device may be erased', default: 'false' },
    { name: 'all-devices', description: 'also offer fixed (non-removable) disks', default: 'false' },
  ],
  parseOptions: (raw, cluster) => parseFlashOptions(raw, cluster) as unknown as Record<string, unknown>,
  steps: FLASH_STEPS,
};

export { SECTOR };
