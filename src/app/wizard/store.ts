// The snapshot the screens render, and the store they read it from (useSyncExternalStore). Every part of the
// controller writes its slice of the snapshot through SnapshotStore.set; the screens only read it.
import type { FileProblem } from '../../cluster/file.ts';
import type { ClusterSpec } from '../../cluster/spec.ts';
import type { Problem } from '../../cluster/validate.ts';
import type { Action, Check, Progress, StageId, StageOption, StageReport, StageStatus } from '../../engine/types.ts';
import type { PinnedKey } from '../../engine/state.ts';
import type { BlockDevice } from '../../ports/disks.ts';

export type ScreenId = 'welcome' | 'inventory' | 'stage' | 'summary';

export interface SavedCluster {
  cluster: string;
  path: string;
  mode?: 'real' | 'lab';
  clusterFile?: string;
  updatedAt?: string;
  done: number;
  failed: number;
  running: number;
  /** Another run holds the cluster now: who (its steps recorded as running are running, not cut off). */
  busy?: string;
  /** Set when the file cannot be read. */
  error?: string;
}

export interface Draft {
  name: string;
  board: string;
  kubernetesVersion: string;
  lan: string;
  gateway: string;
  dns: string;
  podSubnet: string;
  serviceSubnet: string;
  sshUser: string;
  keyPath: string;
  /** As written in the file ('' when it names none: port 22). */
  sshPort: string;
  timezone: string;
  /** A role as written (the file may hold one that is not valid: it stays on screen with its problem). */
  nodes: Array<{ name: string; role: string; address: string; extra?: Record<string, unknown> }>;
  /** Fields of the file the inventory does not edit (kubernetes.*): kept as they are and written back. */
  extra?: Record<string, unknown>;
}

/** The cluster file the inventory writes to, and what the wizard found in it when it read it. */
export interface InventoryFile {
  path: string;
  /** The file was there when the inventory opened (saving keeps its previous version as PATH.bak). */
  exists: boolean;
  /** The line of each field in the file as read ("nodes[1].address" → 14). */
  lines: Record<string, number>;
  /** Problems of the file at fields the inventory has no row for (apiVersion, a misspelt field ...). */
  outside: FileProblem[];
}

/** Inventory fields, in screen order. Node fields are "nodes.I.name" / "nodes.I.role" / "nodes.I.address". */
export const DRAFT_FIELDS = ['name', 'board', 'kubernetesVersion', 'lan', 'gateway', 'dns', 'podSubnet', 'serviceSubnet', 'sshUser', 'keyPath'] as const;
export type DraftField = (typeof DRAFT_FIELDS)[number] | `nodes.${number}.${'name' | 'role' | 'address'}`;

export interface KeyState {
  /** The key path, expanded. */
  path: string;
  exists: boolean;
  creating: boolean;
  created?: boolean;
  error?: string;
}

export type CellStatus = 'pending' | 'running' | 'done' | 'verified' | 'failed' | 'skipped' | 'cancelled' | 'interrupted';

export interface StepCell {
  node: string | null;
  status: CellStatus;
  error?: string;
  fix?: string;
  ms?: number;
  progress?: Progress;
  failedChecks?: Check[];
  runs?: number;
  skipReason?: string;
  outputs?: Record<string, unknown>;
}

export interface StepView {
  id: string;
  title: string;
  explain: string;
  cells: StepCell[];
}

export interface StageView {
  id: StageId;
  title: string;
  summary: string;
  /** 'unknown': no cluster open yet; 'cancelled': stopped by the user (the step runs again next time), not failed. */
  status: StageStatus | 'unknown' | 'cancelled';
  unavailable?: string;
  requires: StageId[];
  /** Answers the stage takes (the CLI's --node, --device, --set NAME=VALUE ...). */
  options: StageOption[];
  /** What the stage has left the user with so far and what to do next (from its saved outputs). */
  report?: StageReport;
  /** The boards the stage's reset key takes back; absent where the stage has no board reset. */
  resetBoards?: string[];
}

export interface RunView {
  state: 'idle' | 'running' | 'cancelling' | 'done' | 'failed' | 'cancelled';
  stages: StageId[];
  /** The stage the run was started from: a run refused before it began shows its error there only. */
  origin?: StageId;
  reverify: boolean;
  error?: string;
  fix?: string;
  startedAt?: number;
  endedAt?: number;
}

export type Dialog =
  | { kind: 'corrupt'; cluster: string; path: string; reason: string; then: 'resume' | 'new' }
  | { kind: 'confirm-cancel' }
  | { kind: 'sudo-password' }
  /** Erasing needs the device's name typed (as the CLI asks on a terminal); `what` describes it. */
  | { kind: 'confirm-typed'; stage: StageId; option: string; expect: string; what: string; mismatch?: string }
  /** Board reset from a stage's screen: what will be undone on which boards (the reset's plan), y runs it. */
  | { kind: 'confirm-reset'; stage: StageId; boards: string[]; where: string; actions: string[] }
  | { kind: 'fresh-started'; copy: string }
  /** Another run holds the cluster: who (command, PID, computer) and since when (ISO). */
  | { kind: 'cluster-busy'; cluster: string; who: string; since: string };

export interface CommandsView {
  stage: StageId;
  step: string;
  title: string;
  loading: boolean;
  actions: Action[];
  error?: string;
}

/** What a stage says about its answers: the field at fault ('' when it names none), what is wrong, the fix. */
export interface OptionProblem {
  field: string;
  message: string;
  fix?: string;
}

export interface WizardSnapshot {
  screen: ScreenId;
  /** Mode of the open (or drafted) cluster. */
  mode: 'real' | 'lab';
  stateDir: string;
  /** null while the saved clusters are being looked up. */
  saved: SavedCluster[] | null;
  /** The cluster file given with -f, if any, and what was found in it. */
  fileArg?: { path: string; name?: string; error?: string; problems?: number; reading?: boolean };
  notice?: string;
  error?: { message: string; fix?: string };
  dialog?: Dialog;
  /** The open cluster. */
  cluster?: ClusterSpec;
  clusterFile?: string;
  statePath?: string;
  logPath?: string;
  /** Inventory being edited. */
  draft: Draft;
  /** Where the inventory saves, and what was found in that file. */
  inventoryFile?: InventoryFile;
  /** Whether the draft edits the open cluster (false: a new one). */
  draftIsOpenCluster: boolean;
  problems: Problem[];
  problemsByField: Record<string, Problem[]>;
  submitted: boolean;
  key: KeyState;
  stages: StageView[];
  stagesLoaded: boolean;
  currentStage: StageId;
  steps: StepView[];
  selectedStep: number;
  run: RunView;
  hostKeys: Record<string, PinnedKey>;
  logHosts: string[];
  logHost: string;
  /** Bumped on every new log line (the lines themselves are read with logWindow()). */
  logRev: number;
  commands?: CommandsView;
  /** Stage answers as typed (strings), and the first problem the stage finds in them. */
  stageOptions: Partial<Record<StageId, Record<string, string>>>;
  optionProblems: Partial<Record<StageId, OptionProblem>>;
  /** Block devices of this computer (or the practice lab's card readers), for choosing a card. */
  disks?: { loading: boolean; list: BlockDevice[]; error?: string };
  /** The answers panel of the current stage is open. */
  optionsOpen: boolean;
  /** A sudo password is held in memory for this session (never saved, never shown). */
  sudoPasswordSet: boolean;
  exiting?: { code: number };
}

/** A draft with nothing in it: what a file that lacks a field shows for it (never a default). */
export function emptyDraft(): Draft {
  return { name: '', board: '', kubernetesVersion: '', lan: '', gateway: '', dns: '', podSubnet: '', serviceSubnet: '', sshUser: '', keyPath: '', sshPort: '', timezone: '', nodes: [] };
}

/** The first frame's snapshot: the welcome screen, with nothing looked up yet. */
export function initialSnapshot(o: { lab: boolean; stateDir: string; clusterFile?: string }, stages: StageView[]): WizardSnapshot {
  return {
    screen: 'welcome',
    mode: o.lab ? 'lab' : 'real',
    stateDir: o.stateDir,
    saved: null,
    fileArg: o.clusterFile ? { path: o.clusterFile, reading: true } : undefined,
    draft: emptyDraft(),
    draftIsOpenCluster: false,
    problems: [],
    problemsByField: {},
    submitted: false,
    key: { path: '', exists: false, creating: false },
    stages,
    stagesLoaded: false,
    currentStage: 'configure',
    steps: [],
    selectedStep: 0,
    run: { state: 'idle', stages: [], reverify: false },
    hostKeys: {},
    logHosts: [],
    logHost: '',
    logRev: 0,
    stageOptions: {},
    optionProblems: {},
    optionsOpen: false,
    sudoPasswordSet: Boolean(process.env.BOARDKUBE_SUDO_PASSWORD),
  };
}

/** Holds the snapshot: each change makes a new snapshot object, and listeners hear of it once per microtask. */
export class SnapshotStore {
  #snap: WizardSnapshot;
  readonly #listeners = new Set<() => void>();
  #notifyScheduled = false;

  constructor(initial: WizardSnapshot) {
    this.#snap = initial;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  getSnapshot = (): WizardSnapshot => this.#snap;

  /** The current snapshot (what getSnapshot returns). */
  get snapshot(): WizardSnapshot {
    return this.#snap;
  }

  /** Applies the patch at once (so later reads see it); listeners are told after the current burst of changes. */
  set(patch: Partial<WizardSnapshot>): void {
    this.#snap = { ...this.#snap, ...patch };
    if (this.#notifyScheduled) return;
    this.#notifyScheduled = true;
    queueMicrotask(() => {
      this.#notifyScheduled = false;
      for (const l of this.#listeners) l();
    });
  }
}
