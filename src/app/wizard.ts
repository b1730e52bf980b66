// The wizard's controller: every bit of I/O the screens need lives here (saved clusters, the session, the
// cluster file, SSH key creation, running and cancelling stages, per-host logs). Screens subscribe to a
// snapshot (useSyncExternalStore) and call the methods below; they never touch a file, a board or a socket.
//
// Start-up: nothing heavy is imported at module load. The engine, the saved progress (conf), the flows and
// the YAML writer are imported on first use, so the first frame of the wizard does not wait for them.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Session } from './session.ts';
import type { ClusterSpec, NodeRole, NodeSpec } from '../cluster/spec.ts';
import type { Problem } from '../cluster/validate.ts';
import type { Action, Check, EngineEvent, Progress, Stage, StageId, StageOption, StageStatus, StepRecord } from '../engine/types.ts';
import type { BlockDevice } from '../ports/disks.ts';
import { STAGE_IDS } from '../engine/types.ts';
import type { PinnedKey, StateSummary } from '../engine/state.ts';
import { expandHome } from '../util/paths.ts';
import { BOARDS } from '../boards/index.ts';
import { RELEASES } from '../catalog/versions.ts';

// ---------------------------------------------------------------------------------------------------------
// A bounded ring buffer: the log pane keeps at most `capacity` lines per host; the full log is in the run log.

export class RingBuffer<T> {
  readonly #buf: T[] = [];
  #start = 0;
  #dropped = 0;

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new Error('a ring buffer needs a capacity above 0');
  }

  push(item: T): void {
    if (this.#buf.length < this.capacity) this.#buf.push(item);
    else {
      this.#buf[this.#start] = item;
      this.#start = (this.#start + 1) % this.capacity;
      this.#dropped++;
    }
  }

  get length(): number {
    return this.#buf.length;
  }

  /** How many lines were pushed out at the front. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Items oldest first. */
  toArray(): T[] {
    return [...this.#buf.slice(this.#start), ...this.#buf.slice(0, this.#start)];
  }

  /** `count` items ending `fromEnd` items before the newest (for a scrolled view). */
  window(count: number, fromEnd = 0): T[] {
    const all = this.toArray();
    const end = Math.max(0, all.length - Math.max(0, fromEnd));
    return all.slice(Math.max(0, end - count), end);
  }

  clear(): void {
    this.#buf.length = 0;
    this.#start = 0;
  }
}

/** Strips terminal control sequences and control characters so a board's output cannot redraw the screen. */
export function cleanLine(line: string): string {
  return line
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, '')
    .replace(/\t/g, '  ')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

/** Splits an engine/host error into what went wrong and the fix it names, if any. */
export function splitFix(error: string): { message: string; fix?: string } {
  const m = /^([\s\S]*?)\n\s*fix: ([\s\S]*)$/.exec(error);
  if (m) return { message: m[1]!.trim(), fix: m[2]!.trim() };
  const p = /^([\s\S]*) \(fix: ([^()]*(?:\([^()]*\)[^()]*)*)\)$/.exec(error);
  if (p) return { message: p[1]!.trim(), fix: p[2]!.trim() };
  return { message: error.trim() };
}

// ---------------------------------------------------------------------------------------------------------
// Snapshot types: what the screens render.

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
  timezone: string;
  nodes: Array<{ name: string; role: NodeRole; address: string }>;
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
  /** 'unknown': no cluster open yet. */
  status: StageStatus | 'unknown';
  unavailable?: string;
  requires: StageId[];
  /** Answers the stage takes (the CLI's --node, --device, --set NAME=VALUE ...). */
  options: StageOption[];
}

export interface RunView {
  state: 'idle' | 'running' | 'cancelling' | 'done' | 'failed' | 'cancelled';
  stages: StageId[];
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
  | { kind: 'fresh-started'; copy: string };

export interface CommandsView {
  stage: StageId;
  step: string;
  title: string;
  loading: boolean;
  actions: Action[];
  error?: string;
}

export interface WizardSnapshot {
  screen: ScreenId;
  /** Mode of the open (or drafted) cluster. */
  mode: 'real' | 'lab';
  stateDir: string;
  /** null while the saved clusters are being looked up. */
  saved: SavedCluster[] | null;
  /** The cluster file given with -f, if any, and what was found in it. */
  fileArg?: { path: string; name?: string; error?: string };
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
  optionProblems: Partial<Record<StageId, { field: string; message: string; fix?: string }>>;
  /** Block devices of this computer (or the practice lab's card readers), for choosing a card. */
  disks?: { loading: boolean; list: BlockDevice[]; error?: string };
  /** The answers panel of the current stage is open. */
  optionsOpen: boolean;
  /** A sudo password is held in memory for this session (never saved, never shown). */
  sudoPasswordSet: boolean;
  exiting?: { code: number };
}

export interface WizardOptions {
  stateDir: string;
  /** Start in the practice lab (boardkube --lab). */
  lab: boolean;
  clusterFile?: string;
  parallel?: number;
  labFaults?: string[];
  /** Lines kept per host in the log pane. */
  logLines?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Draft <-> cluster file.

export function draftFromSpec(spec: ClusterSpec): Draft {
  return {
    name: spec.name,
    board: spec.board,
    kubernetesVersion: spec.kubernetesVersion,
    lan: spec.network.lan,
    gateway: spec.network.gateway,
    dns: spec.network.dns.join(', '),
    podSubnet: spec.network.podSubnet,
    serviceSubnet: spec.network.serviceSubnet,
    sshUser: spec.ssh.user,
    keyPath: spec.ssh.keyPath,
    timezone: spec.timezone,
    nodes: spec.nodes.map((n) => ({ ...n })),
  };
}

/** The raw cluster-file object for a draft, as validateCluster reads it. */
export function draftToRaw(d: Draft): Record<string, unknown> {
  return {
    apiVersion: 'boardkube.dev/v1alpha1',
    kind: 'Cluster',
    name: d.name,
    board: d.board,
    kubernetesVersion: d.kubernetesVersion,
    network: {
      lan: d.lan,
      gateway: d.gateway,
      dns: d.dns
        .split(/[,\s]+/)
        .map((s) => s.trim())
        .filter(Boolean),
      podSubnet: d.podSubnet,
      serviceSubnet: d.serviceSubnet,
    },
    ssh: { user: d.sshUser, keyPath: d.keyPath, port: 22 },
    timezone: d.timezone,
    nodes: d.nodes.map((n) => ({ name: n.name, role: n.role, address: n.address })),
  };
}

/** Which inventory field a validation problem belongs to. */
export function fieldOfProblem(field: string): string {
  const map: Record<string, string> = {
    name: 'name',
    board: 'board',
    kubernetesVersion: 'kubernetesVersion',
    'network.lan': 'lan',
    'network.gateway': 'gateway',
    'network.dns': 'dns',
    'network.podSubnet': 'podSubnet',
    'network.serviceSubnet': 'serviceSubnet',
    'ssh.user': 'sshUser',
    'ssh.keyPath': 'keyPath',
    'ssh.port': 'sshUser',
    timezone: 'name',
    nodes: 'nodes',
  };
  if (map[field]) return map[field];
  if (field.startsWith('network.dns')) return 'dns';
  const m = /^nodes\[(\d+)\](?:\.(name|role|address))?$/.exec(field);
  if (m) return `nodes.${m[1]}.${m[2] ?? 'name'}`;
  return field;
}

function nextFreeName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

/** Lab key kept in the state directory: the practice lab needs a key file but never uses it on a real board. */
export function labKeyPath(stateDir: string): string {
  return join(stateDir, 'lab_ed25519');
}

export function createSshKey(path: string): Promise<void> {
  const full = expandHome(path);
  if (existsSync(full)) return Promise.resolve();
  mkdirSync(dirname(full), { recursive: true, mode: 0o700 });
  return new Promise((res, rej) => {
    execFile('ssh-keygen', ['-t', 'ed25519', '-N', '', '-C', 'boardkube', '-f', full], { timeout: 30_000 }, (err, _out, stderr) => {
      if (err) rej(new Error(`ssh-keygen failed: ${(stderr || err.message).trim()}`));
      else res();
    });
  });
}

const STAGE_TITLES: Record<StageId, string> = {
  flash: 'Flash the cards',
  configure: 'Configure the boards',
  packages: 'Kubernetes packages',
  'control-plane': 'Control plane',
  workers: 'Workers',
  ttl: 'TTL after finished',
  webhook: 'Job TTL webhook',
  registry: 'Registry',
  ci: 'CI on the cluster',
  readonly: 'Read-only access',
};

// ---------------------------------------------------------------------------------------------------------

export class WizardController {
  readonly opts: WizardOptions;
  #snap: WizardSnapshot;
  readonly #listeners = new Set<() => void>();
  #notifyScheduled = false;
  #session: Session | undefined;
  #stages: readonly Stage[] | undefined;
  #abort: AbortController | undefined;
  #runPromise: Promise<void> | undefined;
  readonly #logs = new Map<string, RingBuffer<string>>();
  #offEngine: (() => void) | undefined;
  readonly #exit: { promise: Promise<number>; resolve: (code: number) => void } = (() => {
    let resolve!: (code: number) => void;
    const promise = new Promise<number>((r) => (resolve = r));
    return { promise, resolve };
  })();
  #quitRequested = false;
  #keyJob: Promise<void> | undefined;
  #validateMod: typeof import('../cluster/validate.ts') | undefined;

  constructor(opts: WizardOptions) {
    this.opts = { ...opts, stateDir: resolve(opts.stateDir), clusterFile: opts.clusterFile ? resolve(opts.clusterFile) : undefined };
    const empty: Draft = { name: '', board: '', kubernetesVersion: '', lan: '', gateway: '', dns: '', podSubnet: '', serviceSubnet: '', sshUser: '', keyPath: '', timezone: 'UTC', nodes: [] };
    this.#snap = {
      screen: 'welcome',
      mode: opts.lab ? 'lab' : 'real',
      stateDir: this.opts.stateDir,
      saved: null,
      fileArg: this.opts.clusterFile ? { path: this.opts.clusterFile } : undefined,
      draft: empty,
      draftIsOpenCluster: false,
      problems: [],
      problemsByField: {},
      submitted: false,
      key: { path: '', exists: false, creating: false },
      stages: STAGE_IDS.map((id) => ({ id, title: STAGE_TITLES[id], summary: '', status: 'unknown', requires: [], options: [] })),
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

  // --- store --------------------------------------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  getSnapshot = (): WizardSnapshot => this.#snap;

  #set(patch: Partial<WizardSnapshot>): void {
    this.#snap = { ...this.#snap, ...patch };
    if (this.#notifyScheduled) return;
    this.#notifyScheduled = true;
    queueMicrotask(() => {
      this.#notifyScheduled = false;
      for (const l of this.#listeners) l();
    });
  }

  /** Resolves with the exit code once the user quits. */
  get exited(): Promise<number> {
    return this.#exit.promise;
  }

  get session(): Session | undefined {
    return this.#session;
  }

  // --- start-up -----------------------------------------------------------------------------------------

  /** Starts the slow look-ups after the first frame is on screen. */
  async start(): Promise<void> {
    await Promise.all([this.refreshSaved(), this.#loadStages(), this.#readFileArg(), this.#validator()]);
  }

  async #loadStages(): Promise<readonly Stage[]> {
    if (this.#stages) return this.#stages;
    const { STAGES } = await import('../../flows/index.ts');
    this.#stages = STAGES;
    this.#set({ stages: this.#stageViews(), stagesLoaded: true });
    return STAGES;
  }

  async #validator(): Promise<typeof import('../cluster/validate.ts')> {
    return (this.#validateMod ??= await import('../cluster/validate.ts'));
  }

  async #readFileArg(): Promise<void> {
    const path = this.opts.clusterFile;
    if (!path) return;
    if (!existsSync(path)) {
      this.#set({ fileArg: { path, error: 'does not exist yet: the inventory will write it' } });
      return;
    }
    try {
      const { parse } = await import('yaml');
      const { readFileSync } = await import('node:fs');
      const raw = parse(readFileSync(path, 'utf8')) as { name?: unknown } | null;
      const name = raw && typeof raw.name === 'string' ? raw.name : undefined;
      this.#set({ fileArg: { path, name } });
    } catch (e) {
      this.#set({ fileArg: { path, error: `is not valid YAML: ${(e as Error).message.split('\n')[0]}` } });
    }
  }

  async refreshSaved(): Promise<void> {
    const { StateStore } = await import('../engine/state.ts');
    let saved: SavedCluster[];
    try {
      saved = StateStore.list(this.opts.stateDir).map((s) =>
        'error' in s ? { cluster: s.cluster, path: s.path, error: s.error, done: 0, failed: 0, running: 0 } : { ...(s as StateSummary) },
      );
    } catch (e) {
      saved = [];
      this.#set({ error: { message: `cannot read the state directory ${this.opts.stateDir}: ${(e as Error).message}` } });
    }
    saved.sort((a, b) => (b.updatedAt ?? '').localeCompare(a.updatedAt ?? ''));
    this.#set({ saved });
  }

  // --- welcome ------------------------------------------------------------------------------------------

  dismiss(): void {
    this.#set({ notice: undefined, error: undefined, dialog: this.#snap.dialog?.kind === 'fresh-started' ? undefined : this.#snap.dialog });
  }

  /** Opens a saved cluster and continues its first unfinished stage (reverify: re-check what is done instead). */
  async resume(cluster: string, how: { reverify?: boolean } = {}): Promise<void> {
    const entry = this.#snap.saved?.find((s) => s.cluster === cluster);
    if (entry?.error) {
      this.#set({ dialog: { kind: 'corrupt', cluster, path: entry.path, reason: entry.error, then: 'resume' } });
      return;
    }
    const file = entry?.clusterFile ?? (this.#snap.fileArg?.name === cluster ? this.opts.clusterFile : undefined);
    if (!file || !existsSync(file)) {
      this.#set({
        error: { message: `the cluster file of "${cluster}" ${file ? `(${file}) is gone` : 'is not recorded'}`, fix: 'fill in the inventory again: it writes a new cluster file and keeps the saved progress' },
      });
      await this.startNew(entry?.mode === 'lab', { name: cluster });
      return;
    }
    await this.openFile(file, { lab: entry?.mode ? entry.mode === 'lab' : this.opts.lab, reverify: how.reverify, autoRun: true });
  }

  /** Opens a cluster file: straight to its stages when it is valid, else to the inventory with the problems. */
  async openFile(file: string, o: { lab: boolean; reverify?: boolean; autoRun?: boolean }): Promise<void> {
    const { loadClusterFile } = await import('../cluster/file.ts');
    const { InvalidClusterError } = await this.#validator();
    let spec: ClusterSpec;
    try {
      spec = loadClusterFile(file, { checkKeyFile: true });
    } catch (e) {
      if (e instanceof InvalidClusterError) {
        await this.#draftFromFile(file, o.lab);
        this.#set({ screen: 'inventory', submitted: true, error: { message: `${file} has problems: correct them below` } });
        return;
      }
      throw e;
    }
    if (!(await this.#open(spec, file, o.lab))) return;
    if (o.reverify) void this.reverify();
    else if (o.autoRun && this.#snap.run.state === 'idle') {
      const st = this.#snap.stages.find((s) => s.id === this.#snap.currentStage);
      if (st && (st.status === 'in-progress' || st.status === 'failed')) void this.runStage();
    }
  }

  async #draftFromFile(file: string, lab: boolean): Promise<void> {
    const { parse } = await import('yaml');
    const { readFileSync } = await import('node:fs');
    const { defaultCluster } = await import('../cluster/spec.ts');
    const base = draftFromSpec(defaultCluster(lab ? labKeyPath(this.opts.stateDir) : '~/.ssh/id_ed25519'));
    let raw: Record<string, unknown> = {};
    try {
      raw = (parse(readFileSync(file, 'utf8')) as Record<string, unknown>) ?? {};
    } catch {
      /* the problems list says it */
    }
    const net = (raw.network ?? {}) as Record<string, unknown>;
    const ssh = (raw.ssh ?? {}) as Record<string, unknown>;
    const s = (v: unknown, d: string) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : d);
    const draft: Draft = {
      name: s(raw.name, base.name),
      board: s(raw.board, base.board),
      kubernetesVersion: s(raw.kubernetesVersion, base.kubernetesVersion),
      lan: s(net.lan, base.lan),
      gateway: s(net.gateway, base.gateway),
      dns: Array.isArray(net.dns) ? net.dns.map(String).join(', ') : base.dns,
      podSubnet: s(net.podSubnet, base.podSubnet),
      serviceSubnet: s(net.serviceSubnet, base.serviceSubnet),
      sshUser: s(ssh.user, base.sshUser),
      keyPath: s(ssh.keyPath, base.keyPath),
      timezone: s(raw.timezone, base.timezone),
      nodes: Array.isArray(raw.nodes)
        ? raw.nodes.map((n) => {
            const o = (n ?? {}) as Record<string, unknown>;
            return { name: s(o.name, ''), role: o.role === 'control-plane' ? 'control-plane' : 'worker', address: s(o.address, '') } as Draft['nodes'][number];
          })
        : base.nodes,
    };
    this.#targetFile = file;
    this.#set({ mode: lab ? 'lab' : 'real', draftIsOpenCluster: false });
    await this.#setDraft(draft);
  }

  #targetFile: string | undefined;

  /** A new cluster: the inventory, prefilled with the default (1 master + 4 workers). */
  async startNew(lab: boolean, o: { name?: string } = {}): Promise<void> {
    const { defaultCluster } = await import('../cluster/spec.ts');
    if (this.opts.clusterFile && existsSync(this.opts.clusterFile) && !o.name) {
      await this.#draftFromFile(this.opts.clusterFile, lab);
      this.#set({ screen: 'inventory', submitted: false });
      if (lab) this.#ensureLabKey();
      return;
    }
    const spec = defaultCluster(lab ? labKeyPath(this.opts.stateDir) : '~/.ssh/id_ed25519');
    const taken = new Set((this.#snap.saved ?? []).map((s) => s.cluster));
    spec.name = o.name ?? nextFreeName(lab ? 'lab' : spec.name, taken);
    this.#targetFile = this.opts.clusterFile;
    this.#set({ screen: 'inventory', mode: lab ? 'lab' : 'real', submitted: false, draftIsOpenCluster: false });
    await this.#setDraft(draftFromSpec(spec));
    if (lab) this.#ensureLabKey();
  }

  /** The practice lab makes its own key in the state directory, so a newcomer has nothing to prepare. */
  #ensureLabKey(): void {
    const path = labKeyPath(this.opts.stateDir);
    if (expandHome(this.#snap.draft.keyPath) !== path || existsSync(path)) return;
    void this.createKey();
  }

  /** Back to the inventory of the open cluster. */
  editInventory(): void {
    if (this.#snap.run.state === 'running' || this.#snap.run.state === 'cancelling') return;
    const spec = this.#session?.cluster;
    if (spec) {
      this.#targetFile = this.#snap.clusterFile;
      this.#set({ screen: 'inventory', draftIsOpenCluster: true, submitted: false });
      void this.#setDraft(draftFromSpec(spec));
    } else this.#set({ screen: 'inventory' });
  }

  /** The user chose a fresh start for an unreadable progress file: a copy is kept, then we go on. */
  async freshStart(): Promise<void> {
    const d = this.#snap.dialog;
    if (d?.kind !== 'corrupt') return;
    const { StateStore } = await import('../engine/state.ts');
    let copy: string;
    try {
      copy = StateStore.startFresh(this.opts.stateDir, d.cluster);
    } catch (e) {
      this.#set({ dialog: undefined, error: { message: `could not keep a copy of ${d.path}: ${(e as Error).message}`, fix: 'move the file away by hand, then start again' } });
      return;
    }
    this.#set({ dialog: { kind: 'fresh-started', copy }, notice: `The unreadable progress was kept as ${copy}.` });
    await this.refreshSaved();
    const file = this.#pendingFile;
    this.#pendingFile = undefined;
    if (file && existsSync(file)) await this.openFile(file, { lab: this.#pendingLab ?? this.opts.lab });
    else await this.startNew(this.#pendingLab ?? this.opts.lab, { name: d.cluster });
  }

  #pendingFile: string | undefined;
  #pendingLab: boolean | undefined;

  cancelDialog(): void {
    this.#set({ dialog: undefined });
  }

  // --- inventory ----------------------------------------------------------------------------------------

  /** Takes the draft at once (so fast typing never loses a key), then validates it. */
  #setDraft(draft: Draft): Promise<void> {
    this.#set({ draft });
    if (this.#validateMod) {
      this.#validateDraft();
      return Promise.resolve();
    }
    return this.#validator().then(() => this.#validateDraft());
  }

  #validateDraft(): void {
    const draft = this.#snap.draft;
    const { validateCluster } = this.#validateMod!;
    const { problems } = validateCluster(draftToRaw(draft), { checkKeyFile: true });
    const extra: Problem[] = [];
    const taken = this.#snap.saved?.some((s) => s.cluster === draft.name) ?? false;
    const isOpen = this.#snap.draftIsOpenCluster && this.#session?.cluster.name === draft.name;
    if (taken && !isOpen && draft.name) {
      extra.push({ field: 'name', message: `a saved cluster is already called "${draft.name}"`, fix: 'choose another name, or resume that cluster from the welcome screen' });
    }
    const all = [...extra, ...problems];
    const byField: Record<string, Problem[]> = {};
    for (const p of all) (byField[fieldOfProblem(p.field)] ??= []).push(p);
    const keyFull = expandHome(draft.keyPath);
    const key: KeyState = { ...this.#snap.key, path: keyFull, exists: draft.keyPath !== '' && existsSync(keyFull) };
    if (key.path !== this.#snap.key.path) {
      key.error = undefined;
      key.created = false;
    }
    this.#set({ problems: all, problemsByField: byField, key });
  }

  /** Choices for a choice field (board, Kubernetes version, node role). */
  choices(field: DraftField): string[] {
    if (field === 'board') return BOARDS.map((b) => b.id);
    if (field === 'kubernetesVersion') return [...RELEASES].reverse().map((r) => r.patch);
    if (/^nodes\.\d+\.role$/.test(field)) return ['control-plane', 'worker'];
    return [];
  }

  static isChoiceField(field: string): boolean {
    return field === 'board' || field === 'kubernetesVersion' || /^nodes\.\d+\.role$/.test(field);
  }

  getField(field: DraftField, d = this.#snap.draft): string {
    const m = /^nodes\.(\d+)\.(name|role|address)$/.exec(field);
    if (m) return d.nodes[Number(m[1])]?.[m[2] as 'name' | 'role' | 'address'] ?? '';
    return d[field as (typeof DRAFT_FIELDS)[number]] ?? '';
  }

  setField(field: DraftField, value: string): Promise<void> {
    const d: Draft = { ...this.#snap.draft, nodes: this.#snap.draft.nodes.map((n) => ({ ...n })) };
    const m = /^nodes\.(\d+)\.(name|role|address)$/.exec(field);
    if (m) {
      const node = d.nodes[Number(m[1])];
      if (!node) return Promise.resolve();
      if (m[2] === 'role') node.role = value === 'control-plane' ? 'control-plane' : 'worker';
      else node[m[2] as 'name' | 'address'] = value;
    } else d[field as (typeof DRAFT_FIELDS)[number]] = value;
    return this.#setDraft(d);
  }

  cycleField(field: DraftField, dir: 1 | -1): Promise<void> {
    const options = this.choices(field);
    if (options.length === 0) return Promise.resolve();
    const i = options.indexOf(this.getField(field));
    const next = options[(i + dir + options.length) % options.length]!;
    return this.setField(field, next);
  }

  addNode(): Promise<void> {
    const d = this.#snap.draft;
    const names = new Set(d.nodes.map((n) => n.name));
    let name = '';
    for (let i = d.nodes.length; ; i++) if (!names.has((name = `n2-worker${i}`))) break;
    const last = d.nodes[d.nodes.length - 1]?.address ?? '';
    const m = /^(\d+\.\d+\.\d+\.)(\d+)$/.exec(last);
    const address = m ? `${m[1]}${Math.min(254, Number(m[2]) + 1)}` : '';
    return this.#setDraft({ ...d, nodes: [...d.nodes.map((n) => ({ ...n })), { name, role: d.nodes.length === 0 ? 'control-plane' : 'worker', address }] });
  }

  removeNode(index: number): Promise<void> {
    const d = this.#snap.draft;
    if (!d.nodes[index]) return Promise.resolve();
    return this.#setDraft({ ...d, nodes: d.nodes.filter((_, i) => i !== index).map((n) => ({ ...n })) });
  }

  /** Creates an ed25519 key at the draft's key path (ssh-keygen, no passphrase), when the user asks. */
  async createKey(): Promise<void> {
    if (this.#keyJob) return this.#keyJob;
    const path = expandHome(this.#snap.draft.keyPath);
    if (!path) return;
    if (existsSync(path)) {
      this.#set({ key: { ...this.#snap.key, path, exists: true } });
      return;
    }
    this.#set({ key: { path, exists: false, creating: true } });
    this.#keyJob = createSshKey(path)
      .then(async () => {
        this.#set({ key: { path, exists: true, creating: false, created: true } });
        await this.#setDraft(this.#snap.draft);
      })
      .catch((e: Error) => this.#set({ key: { path, exists: false, creating: false, error: e.message } }))
      .finally(() => (this.#keyJob = undefined));
    return this.#keyJob;
  }

  /** Checks the inventory, writes cluster.yaml and opens the cluster. False when something needs fixing. */
  async submitInventory(): Promise<boolean> {
    if (this.#keyJob) await this.#keyJob;
    await this.#setDraft(this.#snap.draft);
    this.#set({ submitted: true });
    if (this.#snap.problems.length > 0) return false;
    const { validateCluster } = await this.#validator();
    const { spec } = validateCluster(draftToRaw(this.#snap.draft), { checkKeyFile: true });
    if (!spec) return false;
    const file = this.#clusterFileFor(spec.name);
    try {
      const { writeClusterFile } = await import('../cluster/file.ts');
      writeClusterFile(file, spec);
    } catch (e) {
      this.#set({ error: { message: `could not write ${file}: ${(e as Error).message}`, fix: 'check that the folder exists and is writable, or start boardkube with -f PATH' } });
      return false;
    }
    const ok = await this.#open(spec, file, this.#snap.mode === 'lab');
    if (ok) await this.refreshSaved();
    return ok;
  }

  /** Where the inventory writes: -f FILE; else beside the progress (lab) or ./cluster.yaml (real boards). */
  #clusterFileFor(name: string): string {
    if (this.#targetFile) return this.#targetFile;
    if (this.#snap.mode === 'lab') return join(this.opts.stateDir, `${name}.cluster.yaml`);
    const plain = resolve('cluster.yaml');
    return existsSync(plain) ? resolve(`${name}.cluster.yaml`) : plain;
  }

  // --- session ------------------------------------------------------------------------------------------

  async #open(spec: ClusterSpec, file: string, lab: boolean): Promise<boolean> {
    await this.#closeSession();
    const [{ openSession }, { CorruptStateError }, { MemorySecrets }] = await Promise.all([import('./session.ts'), import('../engine/state.ts'), import('../engine/secrets.ts'), this.#loadStages()]);
    // Secrets live in memory only; a sudo password given earlier (or in BOARDKUBE_SUDO_PASSWORD) is kept.
    const secrets = new MemorySecrets();
    const pw = this.#sudoPassword ?? process.env.BOARDKUBE_SUDO_PASSWORD;
    if (pw) secrets.set('sudo-password', pw);
    let session: Session;
    try {
      session = openSession({
        cluster: spec,
        clusterFile: file,
        stateDir: this.opts.stateDir,
        lab,
        parallel: this.opts.parallel,
        labFaults: lab ? this.opts.labFaults : undefined,
        // The engine reads this object when a stage starts, so answers given later in the wizard count.
        options: this.#engineOptions,
        secrets,
        onHostKeyPinned: () => this.#set({ hostKeys: { ...(this.#session?.store.data.hostKeys ?? {}) } }),
      });
    } catch (e) {
      if (e instanceof CorruptStateError) {
        this.#pendingFile = file;
        this.#pendingLab = lab;
        this.#set({ dialog: { kind: 'corrupt', cluster: spec.name, path: e.path, reason: e.reason, then: 'resume' } });
        return false;
      }
      this.#set({ error: splitFix((e as Error).message) });
      return false;
    }
    this.#session = session;
    if (this.#optionsCluster !== spec.name) {
      this.#optionsCluster = spec.name;
      for (const k of Object.keys(this.#engineOptions)) delete this.#engineOptions[k as StageId];
      this.#set({ stageOptions: {}, optionProblems: {}, disks: undefined });
    }
    this.#offEngine = session.engine.on((e) => this.#onEvent(e));
    this.#logs.clear();
    const hosts = [...spec.nodes.map((n) => n.name), 'cluster'];
    for (const h of hosts) this.#logs.set(h, new RingBuffer(this.opts.logLines ?? 500));
    const stagesView = this.#stageViews();
    const current = this.#firstStageToDo(stagesView);
    this.#set({
      screen: 'stage',
      mode: lab ? 'lab' : 'real',
      cluster: spec,
      clusterFile: file,
      statePath: session.store.path,
      logPath: session.log?.path,
      hostKeys: { ...session.store.data.hostKeys },
      stages: stagesView,
      currentStage: current,
      steps: this.#stepViews(current),
      selectedStep: 0,
      run: { state: 'idle', stages: [], reverify: false },
      logHosts: hosts,
      logHost: hosts[0]!,
      logRev: this.#snap.logRev + 1,
      commands: undefined,
      error: undefined,
      notice: undefined,
    });
    this.#checkStageOptions(current);
    return true;
  }

  async #closeSession(): Promise<void> {
    if (this.#runPromise) {
      this.#abort?.abort();
      await this.#runPromise;
    }
    this.#offEngine?.();
    this.#offEngine = undefined;
    const s = this.#session;
    this.#session = undefined;
    if (s) await s.close();
  }

  /** Where to open a cluster: a stage cut off or failed; else the first one not done after the last done. */
  #firstStageToDo(views: StageView[]): StageId {
    const open = views.filter((v) => v.status !== 'unavailable');
    const active = open.find((v) => v.status === 'in-progress' || v.status === 'failed');
    if (active) return active.id;
    let lastDone = -1;
    open.forEach((v, i) => {
      if (v.status === 'done') lastDone = i;
    });
    const next = open.find((v, i) => i > lastDone && v.status !== 'done') ?? open.find((v) => v.status !== 'done');
    return (next ?? open[lastDone] ?? views[0]!).id;
  }

  #stageViews(): StageView[] {
    const defs = this.#stages ?? [];
    return STAGE_IDS.map((id) => {
      const def = defs.find((s) => s.id === id);
      const unavailable = def ? def.unavailable : this.#stages ? 'this stage is not available yet in this version of boardkube' : undefined;
      let status: StageView['status'] = 'unknown';
      if (unavailable) status = 'unavailable';
      else if (this.#session) status = this.#session.engine.stageStatus(id);
      return { id, title: def?.title ?? STAGE_TITLES[id], summary: def?.summary ?? '', status, unavailable, requires: def?.requires ?? [], options: def?.options ?? [] };
    });
  }

  #nodesOf(stage: Stage, step: Stage['steps'][number]): Array<NodeSpec | null> {
    const cluster = this.#session?.cluster;
    if (!cluster) return [];
    try {
      return step.nodes ? step.nodes(cluster, this.#parsedOptions(stage) ?? {}) : [null];
    } catch {
      return [null];
    }
  }

  /** The steps of a stage with each node's status as the saved progress has it. */
  #stepViews(id: StageId): StepView[] {
    const stage = this.#stages?.find((s) => s.id === id);
    const store = this.#session?.store;
    if (!stage || !store) return [];
    const records = store.steps();
    return stage.steps.map((step) => ({
      id: step.id,
      title: step.title,
      explain: step.explain,
      cells: this.#nodesOf(stage, step).map((node) => cellFromRecord(node?.name ?? null, records[`${id}/${step.id}@${node?.name ?? '-'}`])),
    }));
  }

  // --- stage options ------------------------------------------------------------------------------------

  readonly #engineOptions: Partial<Record<StageId, Record<string, unknown>>> = {};
  #optionsCluster: string | undefined;

  /** The stage's answers with its defaults filled in, as strings. */
  optionValues(id: StageId): Record<string, string> {
    const stage = this.#stages?.find((s) => s.id === id);
    const typed = this.#snap.stageOptions[id] ?? {};
    const out: Record<string, string> = {};
    for (const o of stage?.options ?? []) out[o.name] = typed[o.name] ?? o.default ?? '';
    return out;
  }

  #parsedOptions(stage: Stage): Record<string, unknown> | undefined {
    const cluster = this.#session?.cluster;
    const raw = this.#engineOptions[stage.id] ?? {};
    if (!cluster || !stage.parseOptions) return raw;
    try {
      return stage.parseOptions(raw, cluster);
    } catch {
      return undefined;
    }
  }

  /** One answer for a stage (flash: node, device, ...); the stage checks it at once, like the CLI would. */
  setStageOption(id: StageId, name: string, value: string): void {
    const typed = { ...(this.#snap.stageOptions[id] ?? {}), [name]: value };
    this.#set({ stageOptions: { ...this.#snap.stageOptions, [id]: typed } });
    this.#checkStageOptions(id);
  }

  #checkStageOptions(id: StageId): void {
    const stage = this.#stages?.find((s) => s.id === id);
    if (!stage?.options?.length) return;
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.optionValues(id))) if (v !== '') raw[k] = v;
    this.#engineOptions[id] = raw;
    let problem: { field: string; message: string; fix?: string } | undefined;
    const cluster = this.#session?.cluster;
    if (cluster && stage.parseOptions) {
      try {
        stage.parseOptions(raw, cluster);
      } catch (e) {
        const err = e as Error & { field?: string; fix?: string };
        problem = err.field ? { field: err.field, message: err.message.replace(/ \(fix: [\s\S]*\)$/, '').replace(`${err.field}: `, ''), fix: err.fix } : { field: '', ...splitFix(err.message) };
      }
    }
    const optionProblems = { ...this.#snap.optionProblems };
    if (problem) optionProblems[id] = problem;
    else delete optionProblems[id];
    this.#set({ optionProblems, steps: id === this.#snap.currentStage && !this.running ? this.#stepViews(id) : this.#snap.steps });
  }

  showOptions(): void {
    const st = this.#snap.stages.find((x) => x.id === this.#snap.currentStage);
    if (st?.options.length && !this.running) this.#set({ optionsOpen: true, commands: undefined });
  }

  hideOptions(): void {
    this.#set({ optionsOpen: false });
    this.#checkStageOptions(this.#snap.currentStage);
  }

  #sudoPassword: string | undefined;

  /** Asks for the sudo password of the boards (for a login other than root). */
  askSudoPassword(): void {
    if (!this.running) this.#set({ dialog: { kind: 'sudo-password' } });
  }

  /** Keeps the password in memory for this session: never saved, never logged, never on a command line. */
  setSudoPassword(password: string | undefined): void {
    if (this.#snap.dialog?.kind === 'sudo-password') this.#set({ dialog: undefined });
    if (password === undefined) return;
    this.#sudoPassword = password;
    this.#session?.secrets.set('sudo-password', password);
    this.#set({ sudoPasswordSet: password !== '' });
  }

  /** Lists this computer's block devices (the practice lab: its card readers) for choosing a card. */
  async listDisks(): Promise<void> {
    const s = this.#session;
    if (!s) return;
    this.#set({ disks: { loading: true, list: this.#snap.disks?.list ?? [] } });
    try {
      const list = await s.ports.disks.list();
      this.#set({ disks: { loading: false, list } });
    } catch (e) {
      this.#set({ disks: { loading: false, list: [], error: splitFix((e as Error).message).message } });
    }
  }

  // --- navigation ---------------------------------------------------------------------------------------

  selectStage(id: StageId): void {
    if (!this.#session) {
      this.#set({ currentStage: id });
      return;
    }
    const running = this.#snap.run.state === 'running' || this.#snap.run.state === 'cancelling';
    // While a run goes on, the grid keeps following the events of the running stage.
    const steps = running && this.#snap.run.stages.includes(id) ? this.#liveSteps.get(id) ?? this.#stepViews(id) : this.#stepViews(id);
    this.#set({ currentStage: id, steps, selectedStep: 0, commands: undefined, optionsOpen: false, screen: 'stage' });
    this.#checkStageOptions(id);
  }

  moveStage(dir: 1 | -1): void {
    const i = STAGE_IDS.indexOf(this.#snap.currentStage);
    const next = STAGE_IDS[Math.max(0, Math.min(STAGE_IDS.length - 1, i + dir))]!;
    this.selectStage(next);
  }

  selectStep(index: number): void {
    const n = this.#snap.steps.length;
    if (n === 0) return;
    this.#set({ selectedStep: Math.max(0, Math.min(n - 1, index)) });
  }

  showScreen(screen: ScreenId): void {
    if (screen === 'stage' && !this.#session) return;
    if (screen === 'summary') this.#set({ stages: this.#stageViews() });
    this.#set({ screen, commands: undefined });
  }

  cycleLogHost(dir: 1 | -1 = 1): void {
    const hosts = this.#snap.logHosts;
    if (hosts.length === 0) return;
    const i = hosts.indexOf(this.#snap.logHost);
    this.#set({ logHost: hosts[(i + dir + hosts.length) % hosts.length]! });
  }

  setLogHost(host: string): void {
    if (this.#snap.logHosts.includes(host)) this.#set({ logHost: host });
  }

  /** Up to `count` log lines of a host, ending `fromEnd` lines before the newest. */
  logWindow(host: string, count: number, fromEnd = 0): { lines: string[]; total: number; dropped: number } {
    const buf = this.#logs.get(host);
    if (!buf) return { lines: [], total: 0, dropped: 0 };
    return { lines: buf.window(count, fromEnd), total: buf.length, dropped: buf.dropped };
  }

  // --- show commands ------------------------------------------------------------------------------------

  /** The plan of the selected step (the same actions the run performs). */
  async showCommands(): Promise<void> {
    const s = this.#session;
    const step = this.#snap.steps[this.#snap.selectedStep];
    const stage = this.#snap.currentStage;
    if (!s || !step) {
      this.#set({ commands: { stage, step: '', title: 'nothing to show', loading: false, actions: [], error: 'this stage has no steps yet' } });
      return;
    }
    this.#set({ commands: { stage, step: step.id, title: step.title, loading: true, actions: [] } });
    try {
      const all = await s.engine.plan([stage]);
      this.#set({ commands: { stage, step: step.id, title: step.title, loading: false, actions: all.filter((a) => a.step === step.id) } });
    } catch (e) {
      this.#set({ commands: { stage, step: step.id, title: step.title, loading: false, actions: [], error: (e as Error).message } });
    }
  }

  hideCommands(): void {
    this.#set({ commands: undefined });
  }

  // --- runs ---------------------------------------------------------------------------------------------

  readonly #liveSteps = new Map<StageId, StepView[]>();

  /** Runs one stage (the current one by default); retry is the same call after a failure. */
  runStage(id: StageId = this.#snap.currentStage): Promise<void> {
    this.#checkStageOptions(id);
    return this.#run(() => this.#session!.engine.select({ only: [id] }), false);
  }

  /** Re-checks every finished stage (cheap probes, in parallel), re-running only what no longer holds. */
  reverify(): Promise<void> {
    return this.#run(() => {
      const done = this.#stageViews()
        .filter((v) => v.status === 'done')
        .map((v) => v.id);
      if (done.length === 0) throw Object.assign(new Error('nothing is finished yet, so there is nothing to re-check'), { fix: 'run a stage first' });
      return done;
    }, true);
  }

  #run(pick: () => StageId[], reverify: boolean): Promise<void> {
    const s = this.#session;
    if (!s || this.#runPromise) return this.#runPromise ?? Promise.resolve();
    let ids: StageId[];
    try {
      ids = pick();
    } catch (e) {
      const err = e as Error & { fix?: string };
      const split = splitFix(err.message);
      this.#set({ run: { state: 'failed', stages: [], reverify, error: split.message, fix: err.fix ?? split.fix } });
      return Promise.resolve();
    }
    this.#abort = new AbortController();
    this.#liveSteps.clear();
    for (const id of ids) this.#liveSteps.set(id, this.#stepViews(id).map((v) => ({ ...v, cells: v.cells.map((c) => ({ ...c, status: c.status === 'done' ? 'done' : 'pending', error: undefined, fix: undefined })) })));
    const current = ids.includes(this.#snap.currentStage) ? this.#snap.currentStage : ids[0]!;
    this.#set({
      run: { state: 'running', stages: ids, reverify, startedAt: Date.now() },
      currentStage: current,
      steps: this.#liveSteps.get(current) ?? [],
      commands: undefined,
      screen: 'stage',
    });
    const signal = this.#abort.signal;
    this.#runPromise = (async () => {
      let outcome: 'done' | 'failed' | 'cancelled';
      let error: { message: string; fix?: string } | undefined;
      try {
        const result = await s.engine.run(ids, signal);
        outcome = result === 'refused' ? 'failed' : result;
      } catch (e) {
        outcome = signal.aborted ? 'cancelled' : 'failed';
        error = splitFix((e as Error).message);
      }
      if (!error && outcome === 'failed') error = this.#firstError();
      this.#abort = undefined;
      this.#runPromise = undefined;
      const stages = this.#stageViews();
      this.#set({ run: { ...this.#snap.run, state: outcome, endedAt: Date.now(), error: error?.message, fix: error?.fix }, stages, dialog: this.#snap.dialog?.kind === 'confirm-cancel' ? undefined : this.#snap.dialog });
      if (outcome === 'done' && !reverify && stages.every((v) => v.status === 'done' || v.status === 'unavailable')) this.#set({ notice: 'Every available stage is done. Press s for the summary.' });
    })();
    return this.#runPromise;
  }

  #firstError(): { message: string; fix?: string } | undefined {
    for (const steps of this.#liveSteps.values()) for (const st of steps) for (const c of st.cells) if (c.status === 'failed' && c.error) return { message: c.error, fix: c.fix };
    return undefined;
  }

  get running(): boolean {
    return this.#runPromise !== undefined;
  }

  /** Ctrl+C: while a step runs, ask first; otherwise quit. */
  interrupt(): void {
    if (this.#snap.dialog?.kind === 'confirm-cancel') return;
    if (this.running) this.#set({ dialog: { kind: 'confirm-cancel' } });
    else void this.quit();
  }

  /** Answer to "stop after cancelling the running step?". */
  async confirmCancel(yes: boolean): Promise<void> {
    if (this.#snap.dialog?.kind !== 'confirm-cancel') return;
    this.#set({ dialog: undefined });
    if (yes) await this.cancel();
  }

  /** Cancels the running step through its AbortSignal; resolves when the progress is saved. */
  async cancel(): Promise<void> {
    if (!this.#runPromise) return;
    this.#set({ run: { ...this.#snap.run, state: 'cancelling' } });
    this.#abort?.abort();
    await this.#runPromise;
  }

  /** Leaves the wizard: cancels a run (saving what was done), closes the session, resolves `exited`. */
  async quit(): Promise<void> {
    if (this.#quitRequested) return;
    this.#quitRequested = true;
    const wasRunning = this.running;
    if (wasRunning) await this.cancel();
    try {
      await this.#closeSession();
    } catch {
      /* the progress was saved step by step; closing is best effort */
    }
    const st = this.#snap.run.state;
    const code = wasRunning || st === 'cancelled' ? 130 : st === 'failed' ? 1 : 0;
    this.#set({ exiting: { code } });
    this.#exit.resolve(code);
  }

  // --- engine events ------------------------------------------------------------------------------------

  #log(host: string | null, line: string): void {
    const key = host ?? 'cluster';
    let buf = this.#logs.get(key);
    if (!buf) {
      buf = new RingBuffer(this.opts.logLines ?? 500);
      this.#logs.set(key, buf);
      this.#set({ logHosts: [...this.#snap.logHosts, key] });
    }
    for (const part of line.split('\n')) buf.push(cleanLine(part));
  }

  #updateCell(stage: StageId, step: string, node: string | null, f: (c: StepCell) => StepCell): void {
    const views = this.#liveSteps.get(stage);
    if (!views) return;
    const next = views.map((v) => (v.id !== step ? v : { ...v, cells: v.cells.some((c) => c.node === node) ? v.cells.map((c) => (c.node === node ? f(c) : c)) : [...v.cells, f({ node, status: 'pending' })] }));
    this.#liveSteps.set(stage, next);
    if (this.#snap.currentStage === stage) this.#set({ steps: next });
  }

  #onEvent(e: EngineEvent): void {
    switch (e.type) {
      case 'stage-start':
        if (this.#snap.currentStage !== e.stage) this.#set({ currentStage: e.stage, steps: this.#liveSteps.get(e.stage) ?? [], selectedStep: 0 });
        this.#set({ stages: this.#stageViews() });
        break;
      case 'step-start': {
        this.#updateCell(e.stage, e.step, e.node, (c) => ({ ...c, status: 'running', error: undefined, fix: undefined, failedChecks: undefined }));
        const idx = this.#snap.steps.findIndex((s) => s.id === e.step);
        if (idx >= 0 && this.#snap.currentStage === e.stage) this.#set({ selectedStep: idx });
        this.#log(e.node, `▸ ${e.step}: ${e.title}`);
        break;
      }
      case 'log':
        this.#log(e.node, `${e.line}`);
        this.#set({ logRev: this.#snap.logRev + 1 });
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
        const rec = this.#session?.store.step(`${e.stage}/${e.step}@${e.node ?? '-'}`);
        this.#updateCell(e.stage, e.step, e.node, (c) => ({ ...c, status: e.status, ms: e.ms, error: split?.message, fix: split?.fix, runs: rec?.runs, outputs: (rec?.outputs as Record<string, unknown> | undefined) ?? c.outputs, skipReason: rec?.skipReason }));
        if (e.status === 'failed' && e.error) this.#log(e.node, `✗ ${e.error}`);
        else if (e.status === 'verified') this.#log(e.node, `✓ ${e.step}: already done (checked again, not re-run)`);
        else if (e.status === 'done') this.#log(e.node, `✓ ${e.step} done in ${(e.ms / 1000).toFixed(1)} s`);
        else if (e.status === 'cancelled') this.#log(e.node, `■ ${e.step}: cancelled; it will run again next time`);
        this.#set({ logRev: this.#snap.logRev + 1, hostKeys: { ...(this.#session?.store.data.hostKeys ?? {}) }, stages: this.#stageViews() });
        break;
      }
      case 'stage-end':
        this.#set({ stages: this.#stageViews() });
        break;
      default:
        break;
    }
  }
}

function cellFromRecord(node: string | null, r: StepRecord | undefined): StepCell {
  if (!r) return { node, status: 'pending' };
  const base = { node, runs: r.runs, outputs: r.outputs as Record<string, unknown> | undefined };
  switch (r.status) {
    case 'done':
      return { ...base, status: 'done' };
    case 'skipped':
      return { ...base, status: 'skipped', skipReason: r.skipReason };
    case 'running':
      return { ...base, status: 'interrupted', error: 'cut off (the wizard stopped mid-step); it runs again on resume' };
    case 'failed': {
      const interrupted = /: interrupted$/.test(r.error ?? '');
      const split = splitFix(r.error ?? 'failed');
      return { ...base, status: interrupted ? 'interrupted' : 'failed', error: split.message, fix: split.fix };
    }
  }
}
