// One run at a time per cluster, in the wizard too. The open cluster is only looked at (read-only: its progress
// is read afresh, never written) until a stage runs; then the wizard takes the cluster's lock, reopens the
// progress for writing (as it is now on disk, the lab included) and goes back to looking when the run ends.
// When another run holds the cluster, the wizard says who and since when, and can follow that run's progress
// read-only until it ends.
import type { ClusterLock, LockHolder } from '../../engine/lock.ts';
import type { SnapshotStore } from './store.ts';

export interface ClusterGuardOptions {
  store: SnapshotStore;
  stateDir: string;
  /** The open cluster's name. */
  cluster: () => string | undefined;
  /** Reopens the session: for writing while a run holds the lock, read-only otherwise. */
  reopen: (readOnly: boolean) => Promise<void>;
  /** Redraws the stages and steps from the saved progress (read afresh); live: the other run still goes on. */
  refresh: (live: boolean) => void;
  /** How often a watch looks at the progress. */
  everyMs?: number;
}

export class ClusterGuard {
  readonly #o: ClusterGuardOptions;
  #watch: ReturnType<typeof setInterval> | undefined;

  constructor(o: ClusterGuardOptions) {
    this.#o = o;
  }

  /** Takes the lock and reopens for writing; undefined when another run holds it (the dialog says who). */
  async acquire(): Promise<ClusterLock | undefined> {
    const name = this.#o.cluster();
    if (!name) return undefined;
    const { ClusterBusyError, lockCluster } = await import('../../engine/lock.ts');
    let lock: ClusterLock;
    try {
      lock = await lockCluster(this.#o.stateDir, name, { command: 'boardkube (the wizard)' });
    } catch (e) {
      if (!(e instanceof ClusterBusyError)) throw e;
      this.#o.store.set({ dialog: { kind: 'cluster-busy', cluster: name, ...(await this.#who(e.holder)) } });
      return undefined;
    }
    this.stopWatching();
    try {
      await this.#o.reopen(false);
    } catch (e) {
      lock.release();
      throw e;
    }
    return lock;
  }

  /** After the run: back to looking, then the lock goes. */
  async release(lock: ClusterLock): Promise<void> {
    try {
      await this.#o.reopen(true);
    } finally {
      lock.release();
    }
  }

  async #who(h: LockHolder | undefined): Promise<{ who: string; since: string }> {
    if (!h) return { who: 'a run whose details cannot be read', since: '' };
    const { describeHolder } = await import('../../engine/lock.ts');
    return { who: describeHolder(h), since: h.startedAt };
  }

  /** Follows the other run's saved progress, read-only, until it ends. */
  async watch(): Promise<void> {
    const d = this.#o.store.snapshot.dialog;
    if (d?.kind !== 'cluster-busy') return;
    const { lockHolder } = await import('../../engine/lock.ts');
    this.stopWatching();
    this.#o.store.set({ dialog: undefined, screen: 'stage', notice: `Watching (read-only) ${d.who}: the steps follow its saved progress until it ends.` });
    this.#watch = setInterval(() => {
      const live = lockHolder(this.#o.stateDir, d.cluster) !== undefined;
      this.#o.refresh(live);
      if (live) return;
      this.stopWatching();
      void this.#o.reopen(true).then(() => this.#o.store.set({ notice: `That run has ended (${d.who}); what it saved is shown.` }));
    }, this.#o.everyMs ?? 500);
    this.#watch.unref?.();
  }

  stopWatching(): void {
    if (this.#watch) clearInterval(this.#watch);
    this.#watch = undefined;
  }
}
