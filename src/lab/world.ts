// The practice lab: simulated boards (and, as stages add them, cards and a cluster) that plug in behind the
// same ports as the real adapters. Everything the lab knows is saved with the progress.
import type { BoardProfile } from '../boards/types.ts';
import type { ClusterSpec } from '../cluster/spec.ts';
import type { StateStore } from '../engine/state.ts';
import type { Json, StageId } from '../engine/types.ts';
import { isFaultName, LAB_FAULTS, newLabBoard, type LabBoardData, type LabFault } from './board.ts';
import type { LabWorldHandle } from './host.ts';

interface LabSnapshot {
  boards: Record<string, LabBoardData>;
  /** Other parts of the lab (cards, cluster), each saved by its own module. */
  parts: Record<string, Json>;
}

export class LabWorld implements LabWorldHandle {
  readonly #boards: Map<string, LabBoardData>;
  readonly #parts: Record<string, Json>;
  #persistHooks: Array<() => void> = [];

  private constructor(snapshot: LabSnapshot, private readonly store: StateStore | undefined, public speed: number) {
    this.#boards = new Map(Object.entries(snapshot.boards));
    this.#parts = snapshot.parts;
  }

  /** Opens the lab saved in the progress, adding boards for nodes it does not know yet. */
  static open(cluster: ClusterSpec, board: BoardProfile, store: StateStore | undefined, speed = labSpeed()): LabWorld {
    const saved = store?.lab() as LabSnapshot | undefined;
    const world = new LabWorld(saved && typeof saved === 'object' && 'boards' in saved ? saved : { boards: {}, parts: {} }, store, speed);
    for (const n of cluster.nodes) {
      const b = world.#boards.get(n.name);
      if (!b) world.#boards.set(n.name, newLabBoard(n.name, n.address, board));
      else b.address = n.address;
    }
    world.persist();
    return world;
  }

  boards(): LabBoardData[] {
    return [...this.#boards.values()];
  }

  board(node: string): LabBoardData {
    const b = this.#boards.get(node);
    if (!b) throw new Error(`the practice lab has no board "${node}"`);
    return b;
  }

  setFault(node: string, fault: string, on: boolean): void {
    if (!isFaultName(fault)) throw new Error(`unknown lab fault "${fault}"; known: ${Object.keys(LAB_FAULTS).join(', ')}`);
    const b = this.board(node);
    b.faults = b.faults.filter((f) => f !== fault);
    if (on) b.faults.push(fault as LabFault);
    this.persist();
  }

  clearFaults(node: string): void {
    this.board(node).faults = [];
    this.persist();
  }

  part(name: string): Json | undefined {
    return this.#parts[name];
  }

  /** A lab part (cards, cluster) registers how to snapshot itself; it is saved with every persist. */
  attach(name: string, snapshot: () => Json): void {
    this.#persistHooks.push(() => {
      this.#parts[name] = snapshot();
    });
  }

  /** The whole world as saved: boards and every part (cards, cluster). */
  snapshot(): Json {
    for (const h of this.#persistHooks) h();
    const snap: LabSnapshot = { boards: Object.fromEntries(this.#boards), parts: this.#parts };
    return snap as unknown as Json;
  }

  /** Saves the world (the store writes it only when it changed). */
  persist(): void {
    const snap = this.snapshot();
    this.store?.setLab(snap);
  }

  /** Keeps the world as it is now, before `stage` first runs, so `reset --lab --stage` can bring it back. */
  checkpoint(stage: StageId): void {
    this.store?.checkpointLab(stage, this.snapshot());
  }
}

/** BOARDKUBE_LAB_SPEED: 1 = realistic timings, 0 = instant (tests), 0.2 = five times faster. */
export function labSpeed(): number {
  const v = Number(process.env.BOARDKUBE_LAB_SPEED ?? '1');
  return Number.isFinite(v) && v >= 0 ? v : 1;
}
