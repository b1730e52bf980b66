// The contract between flows, the engine, screens and the CLI.
// A stage (what the sidebar shows) is an ordered list of steps; a step is one idempotent action
// with a plan (what it will do), a run (do it) and a verify (is it done?).
import type { BoardProfile } from '../boards/types.ts';
import type { KubernetesRelease } from '../catalog/versions.ts';
import type { ClusterSpec, NodeSpec } from '../cluster/spec.ts';
import type { CiPort } from '../ports/ci.ts';
import type { ClusterPort } from '../ports/cluster.ts';
import type { Host } from '../ports/host.ts';
import type { Local } from '../ports/local.ts';
import type { Disks } from '../ports/disks.ts';
import type { Workbench } from '../ports/workbench.ts';

export const STAGE_IDS = ['flash', 'configure', 'packages', 'control-plane', 'workers', 'ttl', 'webhook', 'registry', 'ci', 'readonly'] as const;
export type StageId = (typeof STAGE_IDS)[number];

export type ActionType = 'command' | 'file' | 'manifest' | 'api' | 'local';

/** One thing a run does. `plan --json` prints exactly these; the run performs exactly these. */
export interface Action {
  stage: StageId;
  step: string;
  /** Node the action runs on; null for this computer or the cluster API. */
  node: string | null;
  type: ActionType;
  description: string;
  /** command: the shell script; file: the file's text; manifest: YAML; api/local: what is sent or run. */
  content?: string;
  /** file: where it is written; local: the device or file it touches. */
  path?: string;
  /** file: mode, e.g. 0o644. */
  mode?: number;
  /** command/file: needs root on the board. */
  sudo?: boolean;
}

export type PlannedAction = Omit<Action, 'stage' | 'step' | 'node'>;

/** A prerequisite: what is checked, whether it holds, and how to make it hold. */
export interface Check {
  ok: boolean;
  what: string;
  fix: string;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Outputs = Record<string, Json>;

export interface Progress {
  done?: number;
  total?: number;
  unit?: string;
  message?: string;
}

/** Values the user gave that must never be saved or logged (sudo password, ...). */
export interface Secrets {
  get(name: string): string | undefined;
  set(name: string, value: string): void;
  /** Every secret value, for redaction. */
  values(): string[];
}

/** Where a stage reaches the world. Real adapters or the practice lab: flows cannot tell the difference. */
export interface Ports {
  /** For display only ("real boards" / "practice lab"). Flows must not branch on it. */
  readonly mode: 'real' | 'lab';
  host(node: NodeSpec): Host;
  local: Local;
  disks: Disks;
  /** Downloads and package builds on this computer (the packages stage); absent where no stage needs it. */
  workbench?: Workbench;
  /** The forge and CI APIs (the ci stage); absent where no stage needs it. */
  ci?(): Promise<CiPort>;
  cluster(): Promise<ClusterPort>;
  close(): Promise<void>;
}

export interface StepContext {
  cluster: ClusterSpec;
  board: BoardProfile;
  release: KubernetesRelease;
  /** The node this run is for; null for cluster-wide steps. */
  node: NodeSpec | null;
  ports: Ports;
  signal: AbortSignal;
  log(line: string): void;
  progress(p: Progress): void;
  /** Outputs a step recorded earlier (this run or a previous one). */
  outputOf(stage: StageId, step: string, node?: string | null): Outputs | undefined;
  /** Answers for the running stage (CLI flags, wizard inputs), already validated by the stage. */
  options: Record<string, unknown>;
  secrets: Secrets;
}

export interface Step {
  id: string;
  title: string;
  /** One or two sentences for a first-timer: why this step exists. */
  explain: string;
  /** Which nodes the step runs on, in parallel. Absent: once for the whole cluster. */
  nodes?(cluster: ClusterSpec, options: Record<string, unknown>): NodeSpec[];
  needs?(ctx: StepContext): Promise<Check[]>;
  /** A reason to skip this step here (e.g. a board that needs no kernel change); recorded with the progress. */
  skip?(ctx: StepContext): Promise<string | undefined> | string | undefined;
  plan(ctx: StepContext): Promise<PlannedAction[]> | PlannedAction[];
  /** Does the work. Absent: the engine performs the planned actions one by one. */
  run?(ctx: StepContext, actions: PlannedAction[]): Promise<Outputs | void>;
  /** A cheap probe: is this step's result in place? Used on resume instead of re-running. */
  verify(ctx: StepContext): Promise<boolean>;
}

export interface StageOption {
  name: string;
  description: string;
  default?: string;
  /**
   * A known set of values, chosen from a list in the wizard: the cluster's nodes, the block devices listed, yes or
   * no, or these (a value ending in ":" takes a name typed after it, e.g. "namespace:").
   */
  choices?: 'nodes' | 'devices' | 'yes-no' | readonly string[];
  /** A confirmation given by typing the value of this other option (flash: the device name), never picked from a list. */
  confirmsBy?: string;
}

/** What a finished stage leaves the user with (boards, versions, files and where), and the next thing to do. */
export interface StageReport {
  have: string[];
  next: string[];
}

/** What a stage's report is made from: the saved outputs of its steps. */
export interface StageReportInput {
  cluster: ClusterSpec;
  board: BoardProfile;
  outputOf(step: string, node?: string | null): Outputs | undefined;
}

/** Where a stage keeps the files it writes by default (the state directory, not the current one). */
export interface StageWhere {
  stateDir?: string;
}

export interface Stage {
  id: StageId;
  title: string;
  summary: string;
  /** Stages that must be done first. */
  requires: StageId[];
  /** Present when the stage is not built yet: shown as "not available yet", never run. */
  unavailable?: string;
  /** Run only when named with --stage (e.g. flash: it erases disks and needs a device per card); the reason. */
  onlyWhenNamed?: string;
  /** Options the stage takes (CLI --set name=value, wizard inputs). */
  options?: StageOption[];
  /**
   * Its per-board steps run on the boards chosen for one run (flash: the cards in the readers): the stage is done
   * only when they are done on every board of the cluster.
   */
  coversEveryNode?: boolean;
  /** Checks and normalises the options; throws InputError naming the option. */
  parseOptions?(raw: Record<string, unknown>, cluster: ClusterSpec, where?: StageWhere): Record<string, unknown>;
  /** The summary after the stage (the wizard shows it when the stage is done). */
  report?(r: StageReportInput): StageReport;
  steps: Step[];
}

export type StepStatus = 'running' | 'done' | 'failed' | 'skipped';

export interface StepRecord {
  status: StepStatus;
  startedAt: string;
  endedAt?: string;
  error?: string;
  skipReason?: string;
  outputs?: Outputs;
  /** How many times run() was called for this step and node (resume tests count this). */
  runs: number;
}

/** recheck: done, but a board's address changed since: its steps must be checked again. */
export type StageStatus = 'not-started' | 'in-progress' | 'done' | 'recheck' | 'failed' | 'unavailable';

export type EngineEvent =
  | { type: 'run-start'; stages: StageId[] }
  | { type: 'stage-start'; stage: StageId }
  | { type: 'needs'; stage: StageId; step?: string; node: string | null; checks: Check[] }
  | { type: 'step-start'; stage: StageId; step: string; node: string | null; title: string }
  | { type: 'log'; stage: StageId; step: string; node: string | null; line: string }
  | { type: 'progress'; stage: StageId; step: string; node: string | null; progress: Progress }
  | { type: 'step-end'; stage: StageId; step: string; node: string | null; status: 'done' | 'verified' | 'failed' | 'skipped' | 'cancelled'; error?: string; ms: number }
  | { type: 'stage-end'; stage: StageId; status: 'done' | 'failed' | 'cancelled' }
  | { type: 'run-end'; status: 'done' | 'failed' | 'cancelled'; error?: string };

/** Bad input from the user: exit code 2, nothing touched. */
export class InputError extends Error {
  constructor(readonly field: string, message: string, readonly fix?: string) {
    super(`${field}: ${message}${fix ? ` (fix: ${fix})` : ''}`);
    this.name = 'InputError';
  }
}
