// The flash stage's options: which board gets which card reader device, the image, and the two confirmations.
// Checked once by parseOptions; the steps read them back with flashOptions(ctx).
import { existsSync } from 'node:fs';
import type { ClusterSpec, NodeSpec } from '../../src/cluster/spec.ts';
import { InputError, type StepContext } from '../../src/engine/types.ts';

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

/** --image may be a download instead of a file. */
export const isUrl = (s: string): boolean => /^https?:\/\//.test(s);

// The CLI gives strings ("a,b"), the wizard arrays and booleans: accept both.
// --node may be repeated and each may name several: "a,b".
const list = (v: unknown): string[] =>
  (Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
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
  if (image && !isUrl(image)) {
    if (!existsSync(image)) throw new InputError('--image', `${image} does not exist`, 'give the path of an ArchLinuxARM-*.tar.gz, or its http(s) URL');
  }
  return {
    cards: nodes.map((node, i) => ({ node, device: devices[i]! })),
    image,
    yes: flag(raw.yes),
    allDevices: flag(raw['all-devices'] ?? raw.allDevices),
  };
}

/** The parsed options of the running stage (parsed here when a caller handed the raw ones). */
export function flashOptions(ctx: StepContext): FlashOptions {
  const o = ctx.options as Partial<FlashOptions>;
  if (!Array.isArray(o.cards)) return parseFlashOptions(ctx.options, ctx.cluster);
  return o as FlashOptions;
}

/** The boards that get a card: every flash step runs once per card, on these nodes. Options that do not parse name none. */
export function cardNodes(cluster: ClusterSpec, raw: Record<string, unknown>): NodeSpec[] {
  let cards: FlashCard[];
  try {
    cards = Array.isArray((raw as Partial<FlashOptions>).cards) ? (raw as unknown as FlashOptions).cards : parseFlashOptions(raw, cluster).cards;
  } catch {
    return [];
  }
  return cards.map((c) => cluster.nodes.find((n) => n.name === c.node)).filter((n): n is NodeSpec => n !== undefined);
}

/** The device chosen for the step's board. */
export function deviceOf(ctx: StepContext): string {
  const c = flashOptions(ctx).cards.find((x) => x.node === ctx.node?.name);
  if (!c) throw new Error(`no card chosen for ${ctx.node?.name}`);
  return c.device;
}
