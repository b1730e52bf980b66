// The trainer's controls of the practice lab, as the CLI (--lab-fault, --lab-card) and the wizard give them:
// checked by name first (an unknown board, device or fault is bad input, exit 2), then applied.
import { InputError, type StageId } from '../engine/types.ts';
import { closest } from '../util/names.ts';
import { LAB_FAULTS, type LabFault } from './board.ts';
import { LAB_CARD_FAULTS, type LabCards, type LabCardFault } from './cards.ts';
import { LAB_DOWNLOAD_FAULTS, type LabDownloadFault, type LabWorkbench } from './workbench.ts';
import type { LabWorld } from './world.ts';
import { LAB_CLUSTER_FAULTS, type LabClusterFault } from './cluster/admission.ts';
import { LAB_CI_FAULTS, LabCi, type LabCiFault } from './ci.ts';

export type LabFaultSpec =
  | { kind: 'board'; node: string; fault: LabFault | 'none' }
  /** device undefined: every card ("cards:FAULT"). */
  | { kind: 'card'; device?: string; fault: LabCardFault | 'none' }
  /** "downloads:FAULT": the packages stage's downloads on this computer. */
  | { kind: 'downloads'; fault: LabDownloadFault | 'none' }
  /** The lab's cluster (the add-on stages): applied when the cluster is opened. */
  | { kind: 'cluster'; fault: LabClusterFault | 'none' }
  /** "ci:FAULT": the ci stage's forge and CI (applied when the CI port is opened). */
  | { kind: 'ci'; fault: LabCiFault | 'none' };

export interface LabNames {
  nodes: readonly string[];
  devices: readonly string[];
}

const BOARD_FAULTS = [...Object.keys(LAB_FAULTS), 'none'];
const CARD_FAULTS = [...Object.keys(LAB_CARD_FAULTS), 'none'];
const DOWNLOAD_FAULTS = [...Object.keys(LAB_DOWNLOAD_FAULTS), 'none'];
const CLUSTER_FAULTS = [...Object.keys(LAB_CLUSTER_FAULTS), 'none'];
const CI_FAULTS = [...Object.keys(LAB_CI_FAULTS), 'none'];

/** `"NAME" is not WHAT`, with the closest known name and every known one. */
export function unknownName(field: string, what: string, name: string, known: string[], more = ''): InputError {
  const guess = closest(name, known);
  return new InputError(field, `"${name}" is not ${what}`, `${guess ? `did you mean ${guess}? ` : ''}known: ${known.join(', ')}${more}`);
}

/** Where a fault came from, for its message: the option, or the fault plan's file, line and field. */
type FaultField = (spec: string, index: number, part: 'node' | 'fault') => string;

/**
 * `NODE:FAULT`, `cards:FAULT` or `DEV:FAULT` (FAULT may be none); anything unknown is refused by name. `field`
 * names where each came from in a message (default: `--lab-fault SPEC`; the fault plan names its file and line).
 */
export function parseLabFaults(specs: readonly string[], names: LabNames, field: FaultField = (spec) => `--lab-fault ${spec}`): LabFaultSpec[] {
  return specs.map((spec, index) => {
    const at = (part: 'node' | 'fault') => field(spec, index, part);
    const i = spec.lastIndexOf(':');
    if (i < 1 || i === spec.length - 1) throw new InputError(at('node'), 'is not NODE:FAULT', 'e.g. --lab-fault n2-worker2:unreachable, --lab-fault cards:card-pulled-out, or NODE:none to clear');
    const target = spec.slice(0, i);
    const fault = spec.slice(i + 1);
    if (target === 'cluster') {
      if (!CLUSTER_FAULTS.includes(fault)) throw unknownName(at('fault'), "a fault of the lab's cluster", fault, CLUSTER_FAULTS);
      return { kind: 'cluster', fault: fault as LabClusterFault | 'none' };
    }
    if (target === 'ci') {
      if (!CI_FAULTS.includes(fault)) throw unknownName(at('fault'), "a fault of the ci stage's forge and CI", fault, CI_FAULTS);
      return { kind: 'ci', fault: fault as LabCiFault | 'none' };
    }
    if (target === 'downloads') {
      if (!DOWNLOAD_FAULTS.includes(fault)) throw unknownName(at('fault'), 'a download fault', fault, DOWNLOAD_FAULTS);
      return { kind: 'downloads', fault: fault as LabDownloadFault | 'none' };
    }
    if (target === 'cards' || target.startsWith('/dev/')) {
      if (target !== 'cards' && !names.devices.includes(target)) throw unknownName(at('node'), 'a card reader of the practice lab', target, ['cards', ...names.devices]);
      if (!CARD_FAULTS.includes(fault)) throw unknownName(at('fault'), 'a card fault', fault, CARD_FAULTS);
      return { kind: 'card', device: target === 'cards' ? undefined : target, fault: fault as LabCardFault | 'none' };
    }
    if (!names.nodes.includes(target)) throw unknownName(at('node'), 'a board of the practice lab', target, [...names.nodes], `; card faults name cards or a device (${names.devices.join(', ')})`);
    if (!BOARD_FAULTS.includes(fault)) {
      const more = Object.hasOwn(LAB_CARD_FAULTS, fault) ? `; ${fault} is a card fault: --lab-fault cards:${fault}` : '';
      throw unknownName(at('fault'), 'a board fault', fault, BOARD_FAULTS, more);
    }
    return { kind: 'board', node: target, fault: fault as LabFault | 'none' };
  });
}

/** Switches the faults on (or off, for none), in the order given. */
export function applyLabFaults(world: LabWorld, cards: LabCards, specs: readonly LabFaultSpec[], workbench?: LabWorkbench): void {
  for (const s of specs) {
    if (s.kind === 'cluster') continue;
    if (s.kind === 'ci') {
      LabCi.setFaults(world, [s.fault]);
      continue;
    }
    if (s.kind === 'downloads') {
      for (const f of Object.keys(LAB_DOWNLOAD_FAULTS) as LabDownloadFault[]) if (s.fault === 'none' || s.fault === f) workbench?.setFault(f, s.fault === f);
    } else if (s.kind === 'board') {
      if (s.fault === 'none') world.clearFaults(s.node);
      else world.setFault(s.node, s.fault, true);
    } else if (s.fault === 'none') cards.clearFaults(s.device);
    else cards.setFault(s.fault, true, s.device);
  }
}

/** `--lab-card insert:DEV`: puts an ejected or pulled-out card back, so a flash can be rehearsed again. */
export function parseLabCards(specs: readonly string[], names: LabNames): string[] {
  return specs.map((spec) => {
    const m = /^([a-z-]+):(.+)$/.exec(spec);
    if (!m || m[1] !== 'insert') throw new InputError(`--lab-card ${spec}`, 'is not insert:DEVICE', `e.g. --lab-card insert:${names.devices.find((d) => d !== '/dev/nvme0n1') ?? '/dev/sdb'}`);
    if (!names.devices.includes(m[2]!)) throw unknownName(`--lab-card ${spec}`, 'a card reader of the practice lab', m[2]!, [...names.devices]);
    return m[2]!;
  });
}

/** Every fault that is on, as the trainer would write it ("n2-worker2:slow", "cards:checksum-mismatch"). */
export function activeLabFaults(world: LabWorld, cards: LabCards): string[] {
  return [...world.boards().flatMap((b) => b.faults.map((f) => `${b.node}:${f}`)), ...cards.activeFaults(), ...LabCi.faultsOf(world).map((f) => `ci:${f}`)];
}

/** The trainer's controls of an open practice lab, for the wizard (its header, a lab menu) and the CLI. */
export interface LabControls {
  /** Faults that are on, as written on the command line ("n2-worker2:slow", "cards:checksum-mismatch"). */
  faults(): string[];
  /** Switches faults on or off ("NODE:none", "cards:none"); an unknown name throws InputError and changes nothing. */
  setFaults(specs: readonly string[]): void;
  /** Card readers whose card was ejected (after flashing) or pulled out. */
  removedCards(): string[];
  /** Puts a card back into its reader, so it can be flashed again. */
  insertCard(device: string): void;
  /** Keeps the lab as it is before a stage first runs (the session calls it as each stage starts). */
  checkpoint(stage: StageId): void;
}

export function labControls(world: LabWorld, cards: LabCards, nodes: readonly string[]): LabControls {
  const names = (): LabNames => ({ nodes, devices: cards.devices() });
  return {
    faults: () => activeLabFaults(world, cards),
    setFaults: (specs) => applyLabFaults(world, cards, parseLabFaults(specs, names())),
    removedCards: () => cards.removed(),
    insertCard: (device) => {
      for (const d of parseLabCards([`insert:${device}`], names())) cards.insert(d);
    },
    checkpoint: (stage) => world.checkpoint(stage),
  };
}
