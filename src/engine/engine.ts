// The engine owns order, state and concurrency. It runs the selected stages' steps, fans per-node steps out
// in parallel with a limit, saves every state change before the next action starts, re-verifies (not re-runs)
// what a previous run finished, and reports everything as typed events.
import { findBoard } from '../boards/index.ts';
import { findRelease } from '../catalog/versions.ts';
import type { ClusterSpec, NodeSpec } from '../cluster/spec.ts';
import { mapLimit } from '../util/limit.ts';
import { performActions } from './actions.ts';
import { checkOptionNames, routeAnswers, type Answer } from './options.ts';
import { BoardLeases, type LeaseSettings } from './lease.ts';
import type { LockHolder } from './lock.ts';
import type { RunLog } from './runlog.ts';
import { redact } from './secrets.ts';
import { stepKey, type StateStore } from './state.ts';
import {
  InputError,
  STAGE_IDS,
  type Action,
  type EngineEvent,
  type Outputs,
  type Ports,
  type Secrets,
  type Json,
  type Stage,
  type StageId,
  type StageStatus,
  type Step,
  type StepContext,
} from './types.ts';

export interface EngineOptions {
  cluster: ClusterSpec;
  stages: readonly Stage[];
  store: StateStore;
  ports: Ports;
  secrets: Secrets;
  log?: RunLog;
  /** How many boards work at once in a per-node step. */
  parallel?: number;
  /** Raw answers per stage (CLI --set, wizard inputs); parsed by each stage before anything runs. */
  options?: Partial<Record<StageId, Record<string, unknown>>>;
  /** The state directory: stages write their files under it by default (StageWhere). */
  stateDir?: string;
  /** Answers given for the whole run (CLI --set, --node, ...): each goes to the selected stages that declare it. */
  answers?: readonly Answer[];
  /** Stages whose result the user brings (e.g. control-plane when --kubeconfig names an existing cluster). */
  assumeDone?: readonly StageId[];
  /** Boards' leases: a run given a holder (the cluster lock's) takes each board's before its first command there. */
  leases?: LeaseSettings;
}

export interface Selection {
  only?: readonly string[];
  skip?: readonly string[];
  /** plan: show a named stage's actions even while the stages it needs are not done (nothing runs). */
  ignoreRequires?: boolean;
}

/** 'refused': a step turned down the user's input (a device that must not be touched, ...) before changing anything. */
export type RunOutcome = 'done' | 'failed' | 'cancelled' | 'refused';

export class Engine {
  readonly #o: EngineOptions;
  readonly #listeners = new Set<(e: EngineEvent) => void>();
  readonly #parsed = new Map<StageId, Record<string, unknown>>();
  #refused = false;
  /** While a run holds boards' leases: the ports whose hosts take them. */
  #runPorts: Ports | undefined;
  #currentStage: StageId | undefined;

  constructor(options: EngineOptions) {
    this.#o = options;
  }

  get cluster(): ClusterSpec {
    return this.#o.cluster;
  }

  get stages(): readonly Stage[] {
    return this.#o.stages;
  }

  on(listener: (e: EngineEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(e: EngineEvent): void {
    if (e.type === 'log') this.#o.log?.write(`${e.stage}/${e.step}${e.node ? `@${e.node}` : ''}`, e.line);
    else if (e.type === 'step-end' && e.error) this.#o.log?.write(`${e.stage}/${e.step}${e.node ? `@${e.node}` : ''}`, `FAILED: ${e.error}`);
    for (const l of this.#listeners) l(e);
  }

  stage(id: StageId): Stage {
    const s = this.#o.stages.find((x) => x.id === id);
    if (!s) throw new InputError('--stage', `unknown stage "${id}"`, `use one of: ${STAGE_IDS.join(', ')}`);
    return s;
  }

  /**
   * Turns --stage/--skip into an ordered list, refusing unknown names, unavailable stages and missing
   * prerequisites before anything runs. No --stage: every available stage that is not done yet, except those
   * that run only when named.
   */
  select(sel: Selection = {}): StageId[] {
    for (const name of [...(sel.only ?? []), ...(sel.skip ?? [])]) {
      if (!(STAGE_IDS as readonly string[]).includes(name)) {
        throw new InputError('--stage', `unknown stage "${name}"`, `use one of: ${STAGE_IDS.join(', ')}`);
      }
    }
    const skip = new Set(sel.skip ?? []);
    const explicit = (sel.only ?? []).length > 0;
    let chosen = this.#o.stages
      .filter((s) => (explicit ? sel.only!.includes(s.id) : !s.unavailable && !s.onlyWhenNamed && this.stageStatus(s.id) !== 'done'))
      .filter((s) => !skip.has(s.id));
    // Without --stage: every stage that can run now, in order; one whose prerequisites cannot be met in this run
    // (a stage not available yet, or left out) waits, with the stages after it that need it.
    if (!explicit) {
      const runnable: Stage[] = [];
      for (const s of chosen) {
        if (s.requires.every((req) => runnable.some((x) => x.id === req) || (this.#o.assumeDone ?? []).includes(req) || this.stageStatus(req) === 'done')) runnable.push(s);
      }
      chosen = runnable;
    }
    for (const s of chosen) {
      if (s.unavailable) throw new InputError('--stage', `stage "${s.id}" is not available yet: ${s.unavailable}`, 'leave it out for now');
    }
    const ids = chosen.map((s) => s.id);
    const assumed = new Set(this.#o.assumeDone ?? []);
    for (const s of sel.ignoreRequires ? [] : chosen) {
      for (const req of s.requires) {
        if (ids.indexOf(req) > -1 && ids.indexOf(req) < ids.indexOf(s.id)) continue;
        if (assumed.has(req) || this.stageStatus(req) === 'done') continue;
        throw new InputError('--stage', `stage "${s.id}" needs stage "${req}" to be done first (it is ${this.stageStatus(req)})`, `run --stage ${req} first${req === 'control-plane' ? ', or name an existing cluster with --kubeconfig PATH' : ''}`);
      }
    }
    return ids;
  }

  /**
   * What can be planned now without --stage: every available stage not run only when named, less those whose
   * prerequisites are neither done nor planned before them (each with the reason, for the plan's footer).
   */
  plannable(): { stages: StageId[]; left: Array<{ stage: StageId; reason: string }> } {
    const stages: StageId[] = [];
    const left: Array<{ stage: StageId; reason: string }> = [];
    for (const s of this.#o.stages) {
      if (s.unavailable || s.onlyWhenNamed) continue;
      try {
        this.select({ only: [...stages, s.id] });
        stages.push(s.id);
      } catch (e) {
        left.push({ stage: s.id, reason: (e as Error).message });
      }
    }
    return { stages, left };
  }

  /**
   * Parses every selected stage's options up front: bad input (an unknown name, a bad value) stops here, before
   * anything is touched.
   */
  prepare(stages: readonly StageId[]): void {
    const routed = routeAnswers(this.#o.stages, stages, this.#o.answers ?? []);
    for (const id of stages) {
      const stage = this.stage(id);
      const raw = { ...(this.#o.options?.[id] ?? {}), ...(routed[id] ?? {}) };
      checkOptionNames(stage, raw);
      this.#parsed.set(id, stage.parseOptions ? stage.parseOptions(raw, this.#o.cluster, { stateDir: this.#o.stateDir }) : raw);
    }
  }

  #nodesFor(stage: Stage, step: Step): Array<NodeSpec | null> {
    return step.nodes ? step.nodes(this.#o.cluster, this.#parsed.get(stage.id) ?? this.#o.options?.[stage.id] ?? {}) : [null];
  }

  /** The boards a stage's step must be done on for the stage to count as done. */
  #statusNodes(stage: Stage, step: Step): Array<NodeSpec | null> {
    return step.nodes && stage.coversEveryNode ? this.#o.cluster.nodes : this.#nodesFor(stage, step);
  }

  /** Boards whose address in the cluster file is not the one the stage last ran with. */
  movedNodes(id: StageId): string[] {
    return this.#o.cluster.nodes.filter((n) => {
      const was = this.#o.store.ranWith(id, n.name)?.address;
      return was !== undefined && was !== n.address;
    }).map((n) => n.name);
  }

  #context(stage: Stage, step: Step, node: NodeSpec | null, signal: AbortSignal, options = this.#parsed.get(stage.id) ?? {}): StepContext {
    const board = findBoard(this.#o.cluster.board);
    const release = findRelease(this.#o.cluster.kubernetesVersion);
    if (!board || !release) throw new Error('the cluster file was not validated');
    const store = this.#o.store;
    return {
      cluster: this.#o.cluster,
      board,
      release,
      node,
      ports: this.#runPorts ?? this.#o.ports,
      signal,
      secrets: this.#o.secrets,
      options,
      log: (line) => this.#emit({ type: 'log', stage: stage.id, step: step.id, node: node?.name ?? null, line: redact(line, this.#o.secrets) }),
      progress: (progress) => this.#emit({ type: 'progress', stage: stage.id, step: step.id, node: node?.name ?? null, progress }),
      outputOf: (st, sp, n) => store.step(stepKey(st, sp, n ?? null))?.outputs,
    };
  }

  /** The actions the selected stages would perform, in order: the single source for plan, runbook and run. */
  async plan(stages: readonly StageId[], signal = new AbortController().signal): Promise<Action[]> {
    this.prepare(stages);
    const out: Action[] = [];
    for (const id of stages) {
      const stage = this.stage(id);
      for (const step of stage.steps) {
        for (const node of this.#nodesFor(stage, step)) {
          const ctx = this.#context(stage, step, node, signal);
          for (const a of await step.plan(ctx)) out.push({ stage: id, step: step.id, node: node?.name ?? null, ...a });
        }
      }
    }
    return out;
  }

  stageStatus(id: StageId): StageStatus {
    const stage = this.#o.stages.find((s) => s.id === id);
    if (!stage || stage.unavailable) return 'unavailable';
    const records = this.#o.store.steps();
    let total = 0;
    let done = 0;
    let any = false;
    let failed = false;
    for (const step of stage.steps) {
      for (const node of this.#statusNodes(stage, step)) {
        total++;
        const r = records[stepKey(id, step.id, node?.name ?? null)];
        if (!r) continue;
        any = true;
        if (r.status === 'done' || r.status === 'skipped') done++;
        if (r.status === 'failed') failed = true;
      }
    }
    if (total > 0 && done === total) return this.movedNodes(id).length > 0 ? 'recheck' : 'done';
    if (failed) return 'failed';
    return any ? 'in-progress' : 'not-started';
  }

  /**
   * Runs the stages in order. Never throws for a failing step: the outcome and events say what happened.
   * With `holder` (the run that holds the cluster's lock) every board's lease is taken before the first command
   * on it, renewed while the run goes on and freed at its end.
   */
  async run(stages: readonly StageId[], signal: AbortSignal = new AbortController().signal, run: { holder?: LockHolder } = {}): Promise<RunOutcome> {
    this.prepare(stages);
    this.#refused = false;
    this.#emit({ type: 'run-start', stages: [...stages] });
    const leases = run.holder ? this.#leases(run.holder, (node, line) => this.#emit({ type: 'log', stage: this.#currentStage ?? stages[0]!, step: 'lease', node, line })) : undefined;
    this.#runPorts = leases?.ports;
    let status: 'done' | 'failed' | 'cancelled' = 'done';
    try {
      for (const id of stages) {
        this.#currentStage = id;
        status = await this.#runStage(this.stage(id), signal);
        if (status !== 'done') break;
      }
    } finally {
      this.#runPorts = undefined;
      this.#currentStage = undefined;
      await leases?.release();
    }
    this.#emit({ type: 'run-end', status });
    return status === 'failed' && this.#refused ? 'refused' : status;
  }

  #leases(holder: LockHolder, note: (node: string, line: string) => void): BoardLeases | undefined {
    return this.#o.leases ? new BoardLeases({ ports: this.#o.ports, holder, cluster: this.#o.cluster.name, settings: this.#o.leases, note }) : undefined;
  }

  /** Work on boards outside the stages (reset --boards) holds their leases as a run does, through these ports. */
  async withLeases<T>(holder: LockHolder, note: (node: string, line: string) => void, work: (ports: Ports) => Promise<T>): Promise<T> {
    const leases = this.#leases(holder, note);
    try {
      return await work(leases?.ports ?? this.#o.ports);
    } finally {
      await leases?.release();
    }
  }

  /** The boards (null: cluster-wide steps) this run of the stage works on. */
  #runNodes(stage: Stage): Array<NodeSpec | null> {
    const seen = new Map<string, NodeSpec | null>();
    for (const step of stage.steps) for (const n of this.#nodesFor(stage, step)) seen.set(n?.name ?? '-', n);
    return [...seen.values()];
  }

  async #runStage(stage: Stage, signal: AbortSignal): Promise<'done' | 'failed' | 'cancelled'> {
    const outcome = await this.#runStageSteps(stage, signal);
    // What the stage ran with, for status --verify; the boards' addresses once it is done on them.
    const options = (this.#parsed.get(stage.id) ?? {}) as Json;
    this.#o.store.setRanWith(stage.id, this.#runNodes(stage).map((n) => ({ node: n?.name ?? null, options, ...(outcome === 'done' && n ? { address: n.address } : {}) })));
    return outcome;
  }

  async #runStageSteps(stage: Stage, signal: AbortSignal): Promise<'done' | 'failed' | 'cancelled'> {
    this.#emit({ type: 'stage-start', stage: stage.id });
    const verified = new Set<string>();
    for (const c of await this.#reverify(stage, signal)) {
      if (c.ok) verified.add(stepKey(c.stage, c.step, c.node));
      else this.#emit({ type: 'log', stage: stage.id, step: c.step, node: c.node, line: `recorded as done, but the check does not pass now${c.error ? ` (${c.error})` : ''}: it is checked again when its turn comes, and run again if it still does not pass` });
    }
    for (const step of stage.steps) {
      const nodes = this.#nodesFor(stage, step);
      const results = await mapLimit(nodes, this.#o.parallel ?? 5, (node) => this.#runStepOn(stage, step, node, verified, signal));
      const outcomes = results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed'));
      if (signal.aborted || outcomes.includes('cancelled')) {
        this.#emit({ type: 'stage-end', stage: stage.id, status: 'cancelled' });
        return 'cancelled';
      }
      if (outcomes.includes('failed')) {
        this.#emit({ type: 'stage-end', stage: stage.id, status: 'failed' });
        return 'failed';
      }
    }
    this.#emit({ type: 'stage-end', stage: stage.id, status: 'done' });
    return 'done';
  }

  /**
   * Probes every step recorded as done in these stages, in parallel, with the options each board last ran with
   * (status --verify: nothing is given on the command line); changes nothing.
   */
  async recheck(stages: readonly StageId[], signal: AbortSignal = new AbortController().signal): Promise<Array<{ stage: StageId; step: string; node: string | null; ok: boolean; error?: string }>> {
    const results = await Promise.all(stages.map((id) => this.#reverify(this.stage(id), signal, 'saved')));
    return results.flat();
  }

  /** Steps recorded as done are probed again, all at once (bounded), instead of being run again. */
  async #reverify(stage: Stage, signal: AbortSignal, options: 'this-run' | 'saved' = 'this-run'): Promise<Array<{ stage: StageId; step: string; node: string | null; ok: boolean; error?: string }>> {
    const records = this.#o.store.steps();
    const candidates: Array<{ step: Step; node: NodeSpec | null }> = [];
    for (const step of stage.steps) {
      for (const node of options === 'saved' ? this.#statusNodes(stage, step) : this.#nodesFor(stage, step)) {
        if (records[stepKey(stage.id, step.id, node?.name ?? null)]?.status === 'done') candidates.push({ step, node });
      }
    }
    const optionsFor = (node: NodeSpec | null): Record<string, unknown> => {
      if (options === 'this-run') return this.#parsed.get(stage.id) ?? {};
      const saved = this.#o.store.ranWith(stage.id, node?.name ?? null)?.options ?? this.#o.store.ranWith(stage.id, null)?.options;
      if (saved && typeof saved === 'object' && !Array.isArray(saved)) return saved as Record<string, unknown>;
      // Progress saved before options were kept: the stage's defaults.
      return stage.parseOptions ? stage.parseOptions({}, this.#o.cluster, { stateDir: this.#o.stateDir }) : {};
    };
    // Boards in parallel. On each board the first probe (reaching it) goes first and may wait for a board that is
    // still rebooting; the board's other probes then run together instead of failing beside it.
    const byNode = new Map<string, typeof candidates>();
    for (const c of candidates) {
      const k = c.node?.name ?? '';
      byNode.set(k, [...(byNode.get(k) ?? []), c]);
    }
    const verdicts = new Map<(typeof candidates)[number], { ok: boolean; error?: string }>();
    const probe = async (c: (typeof candidates)[number]) => {
      try {
        verdicts.set(c, { ok: await c.step.verify(this.#context(stage, c.step, c.node, signal, optionsFor(c.node))) });
      } catch (e) {
        verdicts.set(c, { ok: false, error: redact((e as Error).message ?? String(e), this.#o.secrets) });
      }
    };
    await mapLimit([...byNode.values()], Math.max(this.#o.parallel ?? 5, 8), async ([first, ...rest]) => {
      await probe(first!);
      await Promise.all(rest.map(probe));
    });
    return candidates.map((c) => ({ stage: stage.id, step: c.step.id, node: c.node?.name ?? null, ...verdicts.get(c)! }));
  }

  async #runStepOn(stage: Stage, step: Step, node: NodeSpec | null, verified: Set<string>, signal: AbortSignal): Promise<'done' | 'failed' | 'cancelled'> {
    const where = node ? ` on ${node.name}` : '';
    const nodeName = node?.name ?? null;
    const key = stepKey(stage.id, step.id, nodeName);
    const store = this.#o.store;
    const started = Date.now();
    const end = (status: 'done' | 'verified' | 'failed' | 'skipped' | 'cancelled', error?: string) =>
      this.#emit({ type: 'step-end', stage: stage.id, step: step.id, node: nodeName, status, error, ms: Date.now() - started });

    if (verified.has(key)) {
      end('verified');
      return 'done';
    }
    if (signal.aborted) return 'cancelled';
    const ctx = this.#context(stage, step, node, signal);
    const previous = store.step(key);
    try {
      // Done before but not confirmed by the first look (a board still rebooting, a neighbour not up yet):
      // look once more now that the steps before this one have run, before doing the work again.
      if (previous?.status === 'done' && (await step.verify(ctx).catch(() => false))) {
        end('verified');
        return 'done';
      }
      this.#emit({ type: 'step-start', stage: stage.id, step: step.id, node: nodeName, title: step.title });
      const skipReason = await step.skip?.(ctx);
      if (skipReason) {
        store.setStep(key, { status: 'skipped', startedAt: new Date(started).toISOString(), endedAt: new Date().toISOString(), skipReason, runs: previous?.runs ?? 0 });
        ctx.log(`skipped: ${skipReason}`);
        end('skipped');
        return 'done';
      }
      if (step.needs) {
        const checks = await step.needs(ctx);
        this.#emit({ type: 'needs', stage: stage.id, step: step.id, node: nodeName, checks });
        const missing = checks.filter((c) => !c.ok);
        if (missing.length > 0) {
          throw new Error(`prerequisites missing: ${missing.map((c) => `${c.what} (fix: ${c.fix})`).join('; ')}`);
        }
      }
      const actions = await step.plan(ctx);
      store.setStep(key, { status: 'running', startedAt: new Date(started).toISOString(), runs: (previous?.runs ?? 0) + 1 });
      const outputs: Outputs = (step.run ? await step.run(ctx, actions) : await performActions(ctx, actions)) ?? {};
      signal.throwIfAborted();
      if (!(await step.verify(ctx))) throw new Error('the step finished but its check does not pass');
      store.setStep(key, { status: 'done', startedAt: new Date(started).toISOString(), endedAt: new Date().toISOString(), outputs, runs: (previous?.runs ?? 0) + 1 });
      end('done');
      return 'done';
    } catch (e) {
      const cancelled = signal.aborted;
      if (e instanceof InputError) this.#refused = true;
      const cause = cancelled ? 'interrupted' : redact((e as Error).message ?? String(e), this.#o.secrets);
      const error = `${stage.id}/${step.id}${where}: ${cause}`;
      const rec = store.step(key);
      store.setStep(key, { status: 'failed', startedAt: new Date(started).toISOString(), endedAt: new Date().toISOString(), error, runs: rec?.runs ?? previous?.runs ?? 0 });
      end(cancelled ? 'cancelled' : 'failed', error);
      return cancelled ? 'cancelled' : 'failed';
    }
  }
}
