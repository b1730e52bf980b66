// What the flash steps share: the Card of a step (flows/flash/card.ts) built from its options and the image
// fetched, running DiskOps with progress, and the checks that the card in the reader is still the right one.
import { readFileSync } from 'node:fs';
import type { ClusterSpec } from '../../src/cluster/spec.ts';
import { InputError, type Outputs, type PlannedAction, type StepContext } from '../../src/engine/types.ts';
import { commandLine, DiskError, type DiskOp, type OpProgress } from '../../src/ports/disks.ts';
import { expandHome } from '../../src/util/paths.ts';
import { bytesProgressText } from '../../src/util/progress.ts';
import { expectedImage, makeCard, type BootloaderKind, type Card, type ImageFacts } from './card.ts';
import { deviceOf, flashOptions } from './options.ts';
import { describeDevice, exclusion, formatBytes } from './select.ts';

export const STAGE = 'flash' as const;

/** The final record of a card: once it is there, the card has left the reader and counts as done. */
const finished = new Set<string>();
const fetched = new Map<string, Outputs>();
const imageKey = (ctx: StepContext) => `${ctx.cluster.name}|${flashOptions(ctx).image ?? ctx.board.tarball.url}`;
const cardKey = (ctx: StepContext) => `${ctx.cluster.name}|${ctx.node?.name}|${deviceOf(ctx)}`;

/** The outputs of fetch-image (the tarball in the cache and what is in it), if it ran. */
export function fetchedImage(ctx: StepContext): Outputs | undefined {
  return ctx.outputOf(STAGE, 'fetch-image', null) ?? fetched.get(imageKey(ctx));
}

export function rememberImage(ctx: StepContext, out: Outputs): void {
  fetched.set(imageKey(ctx), out);
}

/** What check-device saw in the reader for this board (size, serial, transport). */
export function checkedDevice(ctx: StepContext): Outputs | undefined {
  return ctx.outputOf(STAGE, 'check-device', ctx.node?.name ?? null);
}

export function markFinished(ctx: StepContext): void {
  finished.add(cardKey(ctx));
}

/** The card was flashed and verified: every step's result is in place, whatever the reader shows now. */
export function cardDone(ctx: StepContext): boolean {
  if (finished.has(cardKey(ctx))) return true;
  const out = ctx.outputOf(STAGE, 'verify', ctx.node?.name ?? null);
  return out?.result === 'flashed' && out.device === deviceOf(ctx);
}

// ---------------------------------------------------------------------------------------------------------
// The card of a step

function imageFacts(ctx: StepContext): ImageFacts {
  const out = fetchedImage(ctx);
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
  // Not fetched yet (plan): what the board profile says the image will be.
  return expectedImage(ctx.board, flashOptions(ctx).image);
}

export function publicKey(cluster: ClusterSpec): string {
  const path = `${expandHome(cluster.ssh.keyPath)}.pub`;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    throw new InputError('ssh.keyPath', `the public key ${path} cannot be read`, `create the key pair with \`ssh-keygen -t ed25519 -f ${cluster.ssh.keyPath}\`, or point ssh.keyPath at an existing one`);
  }
}

/** withKey: read the SSH public key too (only the steps that write or read back root's authorized_keys need it). */
export function card(ctx: StepContext, withKey = false): Card {
  if (!ctx.node) throw new Error('the flash steps run per board');
  return makeCard({ profile: ctx.board, cluster: ctx.cluster, node: ctx.node, device: deviceOf(ctx), mountBase: ctx.ports.disks.ownMountBase, image: imageFacts(ctx), publicKey: withKey ? publicKey(ctx.cluster) : '' });
}

/** The card in the reader is still the one check-device looked at (not pulled out, not swapped). */
export async function sameCard(ctx: StepContext): Promise<void> {
  const device = deviceOf(ctx);
  const now = await ctx.ports.disks.get(device, ctx.signal);
  if (!now) throw new DiskError('gone', `${device} is not there any more (card pulled out?)`, 'put the card back and run the same command again');
  const seen = checkedDevice(ctx);
  if (seen && (seen.sizeBytes !== now.sizeBytes || (seen.serial ?? '') !== (now.serial ?? '') || (seen.backingFile ?? '') !== (now.backingFile ?? ''))) {
    throw new DiskError('gone', `the card in ${device} is not the one checked before (${formatBytes(Number(seen.sizeBytes))} ${seen.serial || ''} then, ${formatBytes(now.sizeBytes)} ${now.serial || ''} now)`, 'put the first card back, or start again with `--stage flash` after `boardkube reset --stage flash`');
  }
  const e = exclusion(now, ctx.board, { allDevices: true, ownMountBase: ctx.ports.disks.ownMountBase });
  if (e && (e.code === 'system' || e.code === 'mounted' || e.code === 'read-only')) throw new InputError('--device', `refusing ${describeDevice(now)}: ${e.reason}`);
}

/** The card of a step that writes: built first, then checked to be still in the reader. */
export async function cardInReader(ctx: StepContext, withKey = false): Promise<Card> {
  const c = card(ctx, withKey);
  await sameCard(ctx);
  return c;
}

/** The card's root partition is mounted where the steps write into it. */
export async function mounted(ctx: StepContext, c: Card): Promise<boolean> {
  return (await ctx.ports.disks.mountedAt(c.root)) === c.rootPart.path;
}

/** A file on the FAT boot partition, or null when it (or the partition) cannot be read. */
export function readBootPart(ctx: StepContext, c: Card, path: string): Promise<Buffer | null> {
  return ctx.ports.disks.readFat(c.bootPart.path, path).catch(() => null);
}

// ---------------------------------------------------------------------------------------------------------
// Plan and run the same DiskOps

export function toAction(op: DiskOp): PlannedAction {
  if (op.op === 'write-file') return { type: 'file', description: op.describe, path: op.path, content: op.content, mode: op.mode, sudo: true };
  return { type: 'local', description: op.describe, content: commandLine(op), path: op.device ?? ('path' in op ? op.path : undefined), sudo: true };
}

/** Bytes per second since `started` (ms). */
export function averageRate(done: number, started: number): number {
  return done / Math.max(0.001, (Date.now() - started) / 1000);
}

/** Progress in bytes, with MB/s and the time left when the rate is known. */
export function reportBytes(ctx: StepContext, p: OpProgress, rate: number | undefined, prefix = ''): void {
  ctx.progress({ done: p.done, total: p.total, unit: 'bytes', message: `${prefix}${bytesProgressText(p.done, p.total, rate)}` });
}

/** Runs the ops one by one, each logged with the command line `plan` shows for it. */
export async function execOps(ctx: StepContext, ops: DiskOp[]): Promise<void> {
  for (const op of ops) {
    ctx.signal.throwIfAborted();
    ctx.log(`$ ${commandLine(op).split('\n')[0]}`);
    const started = Date.now();
    await ctx.ports.disks.exec(op, {
      signal: ctx.signal,
      log: ctx.log,
      progress: (p) => reportBytes(ctx, p, p.rate ?? averageRate(p.done, started)),
    });
  }
}
