// Running and cancelling stages, and turning the engine's events into the snapshot: the live step grid of
// each stage in the run, the per-host log lines, the stage statuses and the pinned host keys.
import type { Session } from '../session.ts';
import type { LockHolder } from '../../engine/lock.ts';
import type { EngineEvent, StageId } from '../../engine/types.ts';
import { splitFix } from './errors.ts';
import type { HostLogs } from './logs.ts';
import type { RunView, SnapshotStore, StageView, StepCell, StepView } from './store.ts';
import { pinnedHostKeys } from './views.ts';

/** Whether the snapshot's run still goes on (a cancelled run goes on until its step stops). */
export function runGoesOn(run: RunView): boolean {
  return run.state === 'running' || run.state === 'cancelling';
}

export interface StageRunsOptions {
  store: SnapshotStore;
  logs: HostLogs;
  session: () => Session | undefined;
  stageViews: () => StageView[];
  /** The step grid of a stage as saved. */
  stepViews: (id: StageId) => StepView[];
}

export class StageRuns {
  readonly #o: StageRunsOptions;
  #abort: AbortController | undefined;
  #promise: Promise<void> | undefined;
  /** The step grid of each stage of the run, as the engine's events update it. */
  readonly #live = new Map<StageId, StepView[]>();

  constructor(o: StageRunsOptions) {
    this.#o = o;
  }

  get running(): boolean {
    return this.#promise !== undefined;
  }

  /** The grid of a stage of the current (or last) run, as its events left it. */
  liveSteps(id: StageId): StepView[] | undefined {
    return this.#live.get(id);
  }

  /** Runs the stages `pick` chooses (it throws to refuse, with the reason); one run at a time. */
  start(pick: () => StageId[], reverify: boolean, holder?: LockHolder): Promise<void> {
    const { store } = this.#o;
    const s = this.#o.session();
    if (!s || this.#promise) return this.#promise ?? Promise.resolve();
    const origin = store.snapshot.currentStage;
    let ids: StageId[];
    try {
      ids = pick();
    } catch (e) {
      const err = e as Error & { fix?: string };
      const split = splitFix(err.message);
      store.set({ run: { state: 'failed', stages: [], origin, reverify, error: split.message, fix: err.fix ?? split.fix }, notice: undefined });
      return Promise.resolve();
    }
    this.#abort = new AbortController();
    this.#live.clear();
    for (const id of ids) this.#live.set(id, this.#o.stepViews(id).map((v) => ({ ...v, cells: v.cells.map((c) => ({ ...c, status: c.status === 'done' ? 'done' : 'pending', error: undefined, fix: undefined })) })));
    const current = ids.includes(store.snapshot.currentStage) ? store.snapshot.currentStage : ids[0]!;
    // The log pane follows a board the run works on (flash: the card's board, not the first of the cluster).
    const boards = (this.#live.get(current) ?? []).flatMap((v) => v.cells.map((c) => c.node)).filter((n): n is string => n !== null);
    const logHost = boards.includes(store.snapshot.logHost) || boards.length === 0 ? store.snapshot.logHost : boards[0]!;
    store.set({
      logHost,
      run: { state: 'running', stages: ids, origin, reverify, startedAt: Date.now() },
      notice: undefined,
      currentStage: current,
      steps: this.#live.get(current) ?? [],
      commands: undefined,
      screen: 'stage',
    });
    const signal = this.#abort.signal;
    this.#promise = (async () => {
      let outcome: 'done' | 'failed' | 'cancelled';
      let error: { message: string; fix?: string } | undefined;
      try {
        const result = await s.engine.run(ids, signal, { holder });
        outcome = result === 'refused' ? 'failed' : result;
      } catch (e) {
        outcome = signal.aborted ? 'cancelled' : 'failed';
        error = splitFix((e as Error).message);
      }
      if (!error && outcome === 'failed') error = this.#firstError();
      this.#abort = undefined;
      this.#promise = undefined;
      const stages = this.#o.stageViews();
      const snap = store.snapshot;
      store.set({ run: { ...snap.run, state: outcome, endedAt: Date.now(), error: error?.message, fix: error?.fix }, stages, dialog: snap.dialog?.kind === 'confirm-cancel' ? undefined : snap.dialog });
    })();
    return this.#promise;
  }

  /**
   * Work that is not a stage run (a board reset) shown as one on `stage`'s screen: its lines in the boards' logs,
   * its end as the stage's error or a notice. Cancelled through the same AbortSignal as a run.
   */
  startTask(stage: StageId, task: (signal: AbortSignal, log: (node: string | null, line: string) => void) => Promise<{ error?: string; fix?: string; notice?: string }>): Promise<void> {
    const { store } = this.#o;
    if (this.#promise) return this.#promise;
    this.#abort = new AbortController();
    this.#live.clear();
    store.set({ run: { state: 'running', stages: [stage], origin: stage, reverify: false, startedAt: Date.now() }, notice: undefined, commands: undefined, screen: 'stage' });
    const signal = this.#abort.signal;
    const log = (node: string | null, line: string) => {
      this.#log(node, line);
      store.set({ logRev: store.snapshot.logRev + 1 });
    };
    this.#promise = (async () => {
      let r: { error?: string; fix?: string; notice?: string };
      try {
        r = await task(signal, log);
      } catch (e) {
        const err = e as Error & { fix?: string };
        const split = splitFix(err.message);
        r = { error: split.message, fix: err.fix ?? split.fix };
      }
      this.#abort = undefined;
      this.#promise = undefined;
      // stages: [] — the stage's own status line tells where it stands now, not "done in".
      const state = signal.aborted ? 'cancelled' : r.error ? 'failed' : 'done';
      store.set({ run: { ...store.snapshot.run, state, stages: [], endedAt: Date.now(), error: r.error, fix: r.fix }, notice: r.notice, stages: this.#o.stageViews(), steps: this.#o.stepViews(store.snapshot.currentStage) });
    })();
    return this.#promise;
  }

  #firstError(): { message: string; fix?: string } | undefined {
    for (const steps of this.#live.values()) for (const st of steps) for (const c of st.cells) if (c.status === 'failed' && c.error) return { message: c.error, fix: c.fix };
    return undefined;
  }

  /** Cancels the running step through its AbortSignal; resolves when the progress is saved. */
  async cancel(): Promise<void> {
    if (!this.#promise) return;
    this.#o.store.set({ run: { ...this.#o.store.snapshot.run, state: 'cancelling' } });
    this.#abort?.abort();
    await this.#promise;
  }

  /** Stops the run, if any, before the session closes (the snapshot's run state is left as it ends). */
  async stop(): Promise<void> {
    if (!this.#promise) return;
    this.#abort?.abort();
    await this.#promise;
  }

  // --- engine events ------------------------------------------------------------------------------------

  #log(host: string | null, line: string): void {
    const key = host ?? 'cluster';
    if (this.#o.logs.append(key, line)) this.#o.store.set({ logHosts: [...this.#o.store.snapshot.logHosts, key] });
  }

  #updateCell(stage: StageId, step: string, node: string | null, f: (c: StepCell) => StepCell): void {
    const views = this.#live.get(stage);
    if (!views) return;
    const next = views.map((v) => (v.id !== step ? v : { ...v, cells: v.cells.some((c) => c.node === node) ? v.cells.map((c) => (c.node === node ? f(c) : c)) : [...v.cells, f({ node, status: 'pending' })] }));
    this.#live.set(stage, next);
    if (this.#o.store.snapshot.currentStage === stage) this.#o.store.set({ steps: next });
  }

  onEvent(e: EngineEvent): void {
    const { store } = this.#o;
    switch (e.type) {
      case 'stage-start':
        if (store.snapshot.currentStage !== e.stage) store.set({ currentStage: e.stage, steps: this.#live.get(e.stage) ?? [], selectedStep: 0 });
        store.set({ stages: this.#o.stageViews() });
        break;
      case 'step-start': {
        this.#updateCell(e.stage, e.step, e.node, (c) => ({ ...c, status: 'running', error: undefined, fix: undefined, failedChecks: undefined }));
        const idx = store.snapshot.steps.findIndex((s) => s.id === e.step);
        if (idx >= 0 && store.snapshot.currentStage === e.stage) store.set({ selectedStep: idx });
        this.#log(e.node, `▸ ${e.step}: ${e.title}`);
        break;
      }
      case 'log':
        this.#log(e.node, `${e.line}`);
        store.set({ logRev: store.snapshot.logRev + 1 });
        break;
      case 'progress':
        this.#updateCell(e.stage, e.step, e.node, (c) => ({ ...c, progress: e.progress }));
        break;
      case 'needs': {
        const failed = e.checks.filter((c) => !c.ok);
        if (failed.length > 0) this.#updateCell(e.stage, e.step ?? '', e.node, (c) => ({ ...c, failedChecks: failed }));
        break;
      }
      case 'step-end': {
        const split = e.error ? splitFix(e.error) : undefined;
        const session = this.#o.session();
        const rec = session?.store.step(`${e.stage}/${e.step}@${e.node ?? '-'}`);
        this.#updateCell(e.stage, e.step, e.node, (c) => ({ ...c, status: e.status, ms: e.ms, error: split?.message, fix: split?.fix, runs: rec?.runs, outputs: (rec?.outputs as Record<string, unknown> | undefined) ?? c.outputs, skipReason: rec?.skipReason }));
        if (e.status === 'failed' && e.error) this.#log(e.node, `✗ ${e.error}`);
        else if (e.status === 'verified') this.#log(e.node, `✓ ${e.step}: already done (checked again, not re-run)`);
        else if (e.status === 'done') this.#log(e.node, `✓ ${e.step} done in ${(e.ms / 1000).toFixed(1)} s`);
        else if (e.status === 'cancelled') this.#log(e.node, `■ ${e.step}: cancelled; it will run again next time`);
        store.set({ logRev: store.snapshot.logRev + 1, hostKeys: pinnedHostKeys(session), stages: this.#o.stageViews() });
        break;
      }
      case 'stage-end':
        store.set({ stages: this.#o.stageViews() });
        break;
      default:
        break;
    }
  }
}
