// The saved clusters the welcome screen offers to resume (newest first), and what happens to one whose saved
// progress cannot be read: it is listed with its error, and a fresh start keeps a copy before going on.
// The progress store (conf) is imported on first use.
import type { StateSummary } from '../../engine/state.ts';
import type { SavedCluster, SnapshotStore } from './store.ts';

export class SavedClusters {
  readonly #store: SnapshotStore;
  readonly #stateDir: string;
  /** The cluster file whose progress was unreadable when it was opened, to open after a fresh start. */
  #unreadableFile: string | undefined;
  #unreadableLab: boolean | undefined;

  constructor(store: SnapshotStore, stateDir: string) {
    this.#store = store;
    this.#stateDir = stateDir;
  }

  /** Reads the list again from the state directory. */
  async refresh(): Promise<void> {
    const [{ StateStore }, { describeHolder, lockHolder }] = await Promise.all([import('../../engine/state.ts'), import('../../engine/lock.ts')]);
    let saved: SavedCluster[];
    try {
      saved = StateStore.list(this.#stateDir).map((s) =>
        'error' in s ? { cluster: s.cluster, path: s.path, error: s.error, done: 0, failed: 0, running: 0 } : { ...(s as StateSummary) },
      );
      for (const s of saved) {
        const h = lockHolder(this.#stateDir, s.cluster);
        if (h) s.busy = describeHolder(h);
      }
    } catch (e) {
      saved = [];
      this.#store.set({ error: { message: `cannot read the state directory ${this.#stateDir}: ${(e as Error).message}` } });
    }
    saved.sort((a, b) => (b.updatedAt ?? '').localeCompare(a.updatedAt ?? ''));
    this.#store.set({ saved });
  }

  /** Opening this file met unreadable progress: after a fresh start, it is the file to open. */
  rememberUnreadable(file: string, lab: boolean): void {
    this.#unreadableFile = file;
    this.#unreadableLab = lab;
  }

  /** The file to open after a fresh start (given once) and its mode (the last one remembered). */
  takeUnreadable(): { file: string | undefined; lab: boolean | undefined } {
    const file = this.#unreadableFile;
    this.#unreadableFile = undefined;
    return { file, lab: this.#unreadableLab };
  }

  /** Keeps a copy of the cluster's unreadable progress and starts it afresh; false (the snapshot says why) when it cannot. */
  async startFresh(cluster: string, path: string): Promise<boolean> {
    const { StateStore } = await import('../../engine/state.ts');
    let copy: string;
    try {
      copy = StateStore.startFresh(this.#stateDir, cluster);
    } catch (e) {
      this.#store.set({ dialog: undefined, error: { message: `could not keep a copy of ${path}: ${(e as Error).message}`, fix: 'move the file away by hand, then start again' } });
      return false;
    }
    this.#store.set({ dialog: { kind: 'fresh-started', copy }, notice: `The unreadable progress was kept as ${copy}.` });
    await this.refresh();
    return true;
  }
}
