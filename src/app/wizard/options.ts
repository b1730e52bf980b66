// A stage's answers (the CLI's --node, --device, --set NAME=VALUE ...): typed as strings on the answers panel,
// checked by the stage as they are typed, like the CLI would, and handed parsed to the engine. Also the list
// of block devices, for the answer that chooses a card.
import type { Session } from '../session.ts';
import type { Stage, StageId, StageOption } from '../../engine/types.ts';
import { bytesText } from '../../util/progress.ts';
import { splitFix } from './errors.ts';
import type { OptionProblem, SnapshotStore, StepView, WizardSnapshot } from './store.ts';

export interface OptionChoice {
  label: string;
  value: string;
}

/** The values to choose from for an option with a known set (none: it is typed). Pure: read from the snapshot. */
export function optionChoices(o: StageOption, s: WizardSnapshot): OptionChoice[] | undefined {
  const c = o.choices;
  if (!c) return undefined;
  if (c === 'yes-no') return [{ label: 'no', value: 'false' }, { label: 'yes', value: 'true' }];
  if (c === 'nodes') return (s.cluster?.nodes ?? []).map((n) => ({ label: `${n.name}  ${n.address} (${n.role === 'control-plane' ? 'master' : 'worker'})`, value: n.name }));
  if (c === 'devices') {
    return (s.disks?.list ?? [])
      .filter((d) => !d.system)
      .map((d) => ({ label: `${d.path}  ${bytesText(d.sizeBytes)}  ${d.model || 'disk'} (${d.transport || '?'}${d.removable ? ', removable' : ''}${d.mountpoints.length ? ', mounted' : ''})`, value: d.path }));
  }
  return c.map((v) => ({ label: v.endsWith(':') ? `${v}NAME (type the name after it)` : v, value: v }));
}

/** Options the answers panel shows: a confirmation given by typing (flash's "yes") is asked for at run time instead. */
export function panelOptions(options: readonly StageOption[]): StageOption[] {
  return options.filter((o) => !o.confirmsBy);
}

/** A confirmation the stage still needs before it runs: the option, and the value to type (e.g. the device). */
export interface TypedConfirmation {
  option: string;
  expect: string;
}

export interface StageAnswersOptions {
  store: SnapshotStore;
  stage: (id: StageId) => Stage | undefined;
  session: () => Session | undefined;
  running: () => boolean;
  /** The step grid of a stage as saved (answers can change which nodes a step has). */
  stepViews: (id: StageId) => StepView[];
}

export class StageAnswers {
  /** The answers per stage as the engine takes them; the engine reads this very object when a stage starts. */
  readonly forEngine: Partial<Record<StageId, Record<string, unknown>>> = {};
  /** The cluster the answers belong to. */
  #cluster: string | undefined;
  readonly #o: StageAnswersOptions;

  constructor(o: StageAnswersOptions) {
    this.#o = o;
  }

  /** A cluster was opened: the answers given for another one are forgotten. */
  opened(cluster: string): void {
    if (this.#cluster === cluster) return;
    this.#cluster = cluster;
    for (const k of Object.keys(this.forEngine)) delete this.forEngine[k as StageId];
    this.#o.store.set({ stageOptions: {}, optionProblems: {}, disks: undefined });
  }

  /** The stage's answers with its defaults filled in, as strings. */
  values(id: StageId): Record<string, string> {
    const stage = this.#o.stage(id);
    const typed = this.#o.store.snapshot.stageOptions[id] ?? {};
    const out: Record<string, string> = {};
    for (const o of stage?.options ?? []) out[o.name] = typed[o.name] ?? o.default ?? '';
    return out;
  }

  /** The stage's answers parsed by the stage; undefined when they do not parse. */
  parsed(stage: Stage): Record<string, unknown> | undefined {
    const cluster = this.#o.session()?.cluster;
    const raw = this.forEngine[stage.id] ?? {};
    if (!cluster || !stage.parseOptions) return raw;
    try {
      return stage.parseOptions(raw, cluster);
    } catch {
      return undefined;
    }
  }

  /** One answer for a stage (flash: node, device, ...); the stage checks it at once. */
  set(id: StageId, name: string, value: string): void {
    const { stageOptions } = this.#o.store.snapshot;
    const typed = { ...(stageOptions[id] ?? {}), [name]: value };
    this.#o.store.set({ stageOptions: { ...stageOptions, [id]: typed } });
    this.check(id);
  }

  /** Hands the stage's answers to the engine and shows the first problem the stage finds in them. */
  check(id: StageId): void {
    const stage = this.#o.stage(id);
    if (!stage?.options?.length) return;
    // Only what the user answered, as the CLI hands over only what --set gives: the stage fills in its own
    // defaults (a default shown in the panel may describe a place, STATE_DIR/CLUSTER/..., that is not a path).
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.#o.store.snapshot.stageOptions[id] ?? {})) if (v !== '') raw[k] = v;
    this.forEngine[id] = raw;
    let problem: OptionProblem | undefined;
    const cluster = this.#o.session()?.cluster;
    if (cluster && stage.parseOptions) {
      try {
        stage.parseOptions(raw, cluster);
      } catch (e) {
        const err = e as Error & { field?: string; fix?: string };
        problem = err.field ? { field: err.field, message: err.message.replace(/ \(fix: [\s\S]*\)$/, '').replace(`${err.field}: `, ''), fix: err.fix } : { field: '', ...splitFix(err.message) };
      }
    }
    const snap = this.#o.store.snapshot;
    const optionProblems = { ...snap.optionProblems };
    if (problem) optionProblems[id] = problem;
    else delete optionProblems[id];
    this.#o.store.set({ optionProblems, steps: id === snap.currentStage && !this.#o.running() ? this.#o.stepViews(id) : snap.steps });
  }

  /** The typed confirmation a run of this stage needs first, if its answers do not give it already. */
  confirmationNeeded(id: StageId): TypedConfirmation | undefined {
    const stage = this.#o.stage(id);
    if (this.#o.store.snapshot.optionProblems[id]) return undefined;
    const values = this.values(id);
    for (const o of stage?.options ?? []) {
      if (!o.confirmsBy || /^(true|yes|1)$/.test(values[o.name] ?? '')) continue;
      const expect = values[o.confirmsBy] ?? '';
      if (expect) return { option: o.name, expect };
    }
    return undefined;
  }

  /** The user typed the confirmation: the next run of the stage has it (answers checked again drop it). */
  confirmOnce(id: StageId, option: string): void {
    this.forEngine[id] = { ...(this.forEngine[id] ?? {}), [option]: true };
  }

  /** Opens the answers panel of the current stage (when it takes answers and nothing runs). */
  show(): void {
    const snap = this.#o.store.snapshot;
    const st = snap.stages.find((x) => x.id === snap.currentStage);
    if (st?.options.length && !this.#o.running()) this.#o.store.set({ optionsOpen: true, commands: undefined });
  }

  hide(): void {
    this.#o.store.set({ optionsOpen: false });
    this.check(this.#o.store.snapshot.currentStage);
  }

  /** Lists this computer's block devices (the practice lab: its card readers) for choosing a card. */
  async listDisks(): Promise<void> {
    const s = this.#o.session();
    if (!s) return;
    const { store } = this.#o;
    store.set({ disks: { loading: true, list: store.snapshot.disks?.list ?? [] } });
    try {
      const list = await s.ports.disks.list();
      store.set({ disks: { loading: false, list } });
    } catch (e) {
      store.set({ disks: { loading: false, list: [], error: splitFix((e as Error).message).message } });
    }
  }
}
