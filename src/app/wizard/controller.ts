// The wizard's controller: every bit of I/O the screens need goes through it (saved clusters, the session,
// the cluster file, SSH key creation, running and cancelling stages, per-host logs). Screens subscribe to a
// snapshot (useSyncExternalStore) and call the methods below; they never touch a file, a board or a socket.
// Each job has its own module in this folder; this class wires them together around the open session.
//
// Start-up: nothing heavy is imported at module load, here or in the modules beside it. The engine, the
// saved progress (conf), the flows and the YAML reader and writer are imported on first use, so the first
// frame of the wizard does not wait for them.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Session } from '../session.ts';
import type { ClusterSpec } from '../../cluster/spec.ts';
import type { Stage, StageId } from '../../engine/types.ts';
import type { LockHolder } from '../../engine/lock.ts';
import { STAGE_IDS } from '../../engine/types.ts';
import { fileSummary, readCluster, readFileArg } from './clusterfile.ts';
import { ClusterGuard } from './guard.ts';
import { showStepCommands } from './commands.ts';
import { fieldChoices, isChoiceField, readField } from './draft.ts';
import { splitFix } from './errors.ts';
import { InventoryEditor } from './inventory.ts';
import { KeyMaker } from './keys.ts';
import { HostLogs } from './logs.ts';
import { StageAnswers } from './options.ts';
import { runGoesOn, StageRuns } from './runs.ts';
import { SavedClusters } from './saved.ts';
import { initialSnapshot, SnapshotStore, type DraftField, type ScreenId, type StageView, type StepView, type WizardSnapshot } from './store.ts';
import { SudoPassword } from './sudo.ts';
import { bytesText } from '../../util/progress.ts';
import { firstOpenStage, pinnedHostKeys, stageViews, stepViews } from './views.ts';

export interface WizardOptions {
  stateDir: string;
  /** Start in the practice lab (boardkube --lab). */
  lab: boolean;
  clusterFile?: string;
  parallel?: number;
  labFaults?: string[];
  /** --lab-faults FILE: a trainer's fault plan for the practice lab. */
  labFaultPlan?: string;
  /** Lines kept per host in the log pane. */
  logLines?: number;
}

export class WizardController {
  readonly opts: WizardOptions;
  readonly #store: SnapshotStore;
  readonly #logs: HostLogs;
  readonly #saved: SavedClusters;
  readonly #inventory: InventoryEditor;
  readonly #keys: KeyMaker;
  readonly #answers: StageAnswers;
  readonly #sudo: SudoPassword;
  readonly #runs: StageRuns;
  readonly #guard: ClusterGuard;
  #session: Session | undefined;
  /** How the open session was opened, to reopen it for a run (writing) and after it (read-only). */
  #reopenWith: ((readOnly: boolean) => Session) | undefined;
  #starting = false;
  #offEngine: (() => void) | undefined;
  /** The stage definitions (the flows), imported on first use. */
  #stages: readonly Stage[] | undefined;
  readonly #exit: { promise: Promise<number>; resolve: (code: number) => void } = (() => {
    let resolve!: (code: number) => void;
    const promise = new Promise<number>((r) => (resolve = r));
    return { promise, resolve };
  })();
  #quitRequested = false;

  constructor(opts: WizardOptions) {
    this.opts = { ...opts, stateDir: resolve(opts.stateDir), clusterFile: opts.clusterFile ? resolve(opts.clusterFile) : undefined };
    // The stages by title only: their definitions (the flows) load after the first frame.
    const store = (this.#store = new SnapshotStore(initialSnapshot(this.opts, stageViews(undefined, undefined))));
    const session = () => this.#session;
    const running = () => this.running;
    const stepViews = (id: StageId) => this.#stepViews(id);
    this.#logs = new HostLogs(this.opts.logLines ?? 500);
    this.#saved = new SavedClusters(store, this.opts.stateDir);
    this.#inventory = new InventoryEditor({ store, stateDir: this.opts.stateDir, clusterFile: this.opts.clusterFile, openClusterName: () => this.#session?.cluster.name });
    this.#keys = new KeyMaker(store, this.opts.stateDir, () => this.#inventory.setDraft(store.snapshot.draft));
    this.#answers = new StageAnswers({ store, stage: (id) => this.#stage(id), session, running, stepViews });
    this.#sudo = new SudoPassword(store, running, session);
    this.#runs = new StageRuns({ store, logs: this.#logs, session, stageViews: () => this.#stageViews(), stepViews });
    this.#guard = new ClusterGuard({
      store,
      stateDir: this.opts.stateDir,
      cluster: () => this.#session?.cluster.name,
      reopen: (readOnly) => this.#reopen(readOnly),
      refresh: (live) => this.#set({ stages: this.#stageViews(), ...(this.running ? {} : { steps: this.#stepViews(this.#snap.currentStage, live) }) }),
    });
  }

  // --- store --------------------------------------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => this.#store.subscribe(listener);

  getSnapshot = (): WizardSnapshot => this.#store.getSnapshot();

  get #snap(): WizardSnapshot {
    return this.#store.snapshot;
  }

  #set(patch: Partial<WizardSnapshot>): void {
    this.#store.set(patch);
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
    await Promise.all([this.refreshSaved(), this.#loadStages(), this.#readFileArg(), this.#inventory.validator()]);
  }

  async #loadStages(): Promise<readonly Stage[]> {
    if (this.#stages) return this.#stages;
    const { STAGES } = await import('../../../flows/index.ts');
    this.#stages = STAGES;
    this.#set({ stages: this.#stageViews(), stagesLoaded: true });
    return STAGES;
  }

  async #readFileArg(): Promise<void> {
    const path = this.opts.clusterFile;
    if (path) this.#set({ fileArg: await readFileArg(path) });
  }

  refreshSaved(): Promise<void> {
    return this.#saved.refresh();
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

  /**
   * Opens a cluster file, read as the CLI reads it: straight to its stages when it is valid; else the
   * inventory with the file's own values and every problem at its field (the file is not touched until the
   * user saves). A file that cannot be read at all stays on the welcome screen with the reason and its line.
   */
  async openFile(file: string, o: { lab: boolean; reverify?: boolean; autoRun?: boolean }): Promise<void> {
    const read = await readCluster(file);
    if (read.path === this.opts.clusterFile) this.#set({ fileArg: fileSummary(read) });
    if (!read.exists) {
      await this.startNew(o.lab);
      return;
    }
    if (read.unreadable) {
      this.#set({ screen: 'welcome', error: { message: `${read.path} ${read.unreadable.message}`, fix: `${read.unreadable.fix}, then open it again; the wizard writes nothing over it` } });
      return;
    }
    const spec: ClusterSpec | undefined = read.spec;
    if (!spec) {
      await this.#inventory.loadRead(read, o.lab);
      this.#set({ screen: 'inventory', submitted: true, error: undefined });
      return;
    }
    if (!(await this.#open(spec, read.path, o.lab))) return;
    if (o.reverify) void this.reverify();
    else if (o.autoRun && this.#snap.run.state === 'idle') {
      const st = this.#snap.stages.find((s) => s.id === this.#snap.currentStage);
      if (st && (st.status === 'in-progress' || st.status === 'failed' || st.status === 'cancelled')) void this.runStage();
    }
  }

  /** A new cluster: the inventory, prefilled with the default (1 master + 4 workers). */
  async startNew(lab: boolean, o: { name?: string } = {}): Promise<void> {
    await this.#inventory.startNew(lab, o.name);
    if (lab) this.#keys.createLabKeyIfMissing();
  }

  /** Back to the inventory of the open cluster. */
  editInventory(): void {
    if (runGoesOn(this.#snap.run)) return;
    const spec = this.#session?.cluster;
    if (spec) this.#inventory.editOpenCluster(spec, this.#snap.clusterFile);
    else this.#set({ screen: 'inventory' });
  }

  /** The user chose a fresh start for an unreadable progress file: a copy is kept, then we go on. */
  async freshStart(): Promise<void> {
    const d = this.#snap.dialog;
    if (d?.kind !== 'corrupt') return;
    if (!(await this.#saved.startFresh(d.cluster, d.path))) return;
    const { file, lab } = this.#saved.takeUnreadable();
    if (file && existsSync(file)) await this.openFile(file, { lab: lab ?? this.opts.lab });
    else await this.startNew(lab ?? this.opts.lab, { name: d.cluster });
  }

  cancelDialog(): void {
    this.#set({ dialog: undefined });
  }

  // --- inventory ----------------------------------------------------------------------------------------

  /** Choices for a choice field (board, Kubernetes version, node role). */
  choices(field: DraftField): string[] {
    return fieldChoices(field);
  }

  static isChoiceField(field: string): boolean {
    return isChoiceField(field);
  }

  getField(field: DraftField, d = this.#snap.draft): string {
    return readField(d, field);
  }

  setField(field: DraftField, value: string): Promise<void> {
    return this.#inventory.setField(field, value);
  }

  cycleField(field: DraftField, dir: 1 | -1): Promise<void> {
    return this.#inventory.cycleField(field, dir);
  }

  addNode(): Promise<void> {
    return this.#inventory.addNode();
  }

  removeNode(index: number): Promise<void> {
    return this.#inventory.removeNode(index);
  }

  /** Creates an ed25519 key at the draft's key path (ssh-keygen, no passphrase), when the user asks. */
  createKey(): Promise<void> {
    return this.#keys.create();
  }

  /** Checks the inventory, writes cluster.yaml and opens the cluster. False when something needs fixing. */
  async submitInventory(): Promise<boolean> {
    const keyCreation = this.#keys.pending;
    if (keyCreation) await keyCreation;
    const written = await this.#inventory.submit();
    if (!written) return false;
    const ok = await this.#open(written.spec, written.file, this.#snap.mode === 'lab');
    if (ok) {
      if (written.backup) this.#set({ notice: `Saved ${written.file}; its previous version is kept as ${written.backup}.` });
      await this.refreshSaved();
    }
    return ok;
  }

  // --- session ------------------------------------------------------------------------------------------

  async #open(spec: ClusterSpec, file: string, lab: boolean): Promise<boolean> {
    await this.#closeSession();
    const [{ openSession }, { CorruptStateError }, { MemorySecrets }] = await Promise.all([import('../session.ts'), import('../../engine/state.ts'), import('../../engine/secrets.ts'), this.#loadStages()]);
    // Secrets live in memory only; a sudo password given earlier (or in BOARDKUBE_SUDO_PASSWORD) is kept.
    const secrets = new MemorySecrets();
    const pw = this.#sudo.forNewSession;
    if (pw) secrets.set('sudo-password', pw);
    let session: Session;
    const opener = (readOnly: boolean) =>
      openSession({
        // Only looked at until a stage runs: the wizard writes the progress only while it holds the lock.
        readOnly,
        log: !readOnly,
        cluster: spec,
        clusterFile: file,
        stateDir: this.opts.stateDir,
        lab,
        parallel: this.opts.parallel,
        labFaults: lab ? this.opts.labFaults : undefined,
        labFaultPlan: lab ? this.opts.labFaultPlan : undefined,
        // The engine reads this object when a stage starts, so answers given later in the wizard count.
        options: this.#answers.forEngine,
        secrets,
        onHostKeyPinned: () => this.#set({ hostKeys: pinnedHostKeys(this.#session) }),
      });
    try {
      // A cluster new to this state folder gets its (empty) progress now, so it is listed as saved next time.
      const { StateStore } = await import('../../engine/state.ts');
      if (!existsSync(StateStore.fileFor(this.opts.stateDir, spec.name))) StateStore.open(this.opts.stateDir, spec.name, { mode: lab ? 'lab' : 'real', clusterFile: file });
      session = opener(true);
    } catch (e) {
      if (e instanceof CorruptStateError) {
        this.#saved.rememberUnreadable(file, lab);
        this.#set({ dialog: { kind: 'corrupt', cluster: spec.name, path: e.path, reason: e.reason, then: 'resume' } });
        return false;
      }
      this.#set({ error: splitFix((e as Error).message) });
      return false;
    }
    this.#session = session;
    this.#reopenWith = opener;
    this.#answers.opened(spec.name);
    this.#offEngine = session.engine.on((e) => this.#runs.onEvent(e));
    const hosts = [...spec.nodes.map((n) => n.name), 'cluster'];
    this.#logs.reset(hosts);
    const stagesView = this.#stageViews();
    const current = firstOpenStage(stagesView);
    this.#set({
      screen: 'stage',
      mode: lab ? 'lab' : 'real',
      cluster: spec,
      clusterFile: file,
      statePath: session.store.path,
      logPath: session.log?.path,
      hostKeys: pinnedHostKeys(session),
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
    this.#answers.check(current);
    return true;
  }

  /** The same cluster again, as it is on disk now: for writing (a run holds the lock) or read-only. */
  async #reopen(readOnly: boolean): Promise<void> {
    const old = this.#session;
    if (!old || !this.#reopenWith) return;
    this.#offEngine?.();
    await old.close();
    const session = this.#reopenWith(readOnly);
    this.#session = session;
    this.#offEngine = session.engine.on((e) => this.#runs.onEvent(e));
    this.#set({ statePath: session.store.path, ...(session.log ? { logPath: session.log.path } : {}), hostKeys: pinnedHostKeys(session), stages: this.#stageViews() });
  }

  /** A run holds the cluster's lock from start to end; when another run holds it, the wizard says who. */
  #startRun(pick: () => StageId[], reverify: boolean): Promise<void> {
    return this.#locked((holder) => this.#runs.start(pick, reverify, holder));
  }

  /** `work` with the cluster's lock held and the progress open for writing; nothing when another run holds it. */
  async #locked(work: (holder: LockHolder) => Promise<void>): Promise<void> {
    if (!this.#session || this.running || this.#starting) return;
    this.#starting = true;
    let lock;
    try {
      lock = await this.#guard.acquire();
    } catch (e) {
      this.#set({ error: splitFix((e as Error).message) });
    } finally {
      this.#starting = false;
    }
    if (!lock) return;
    try {
      await work(lock.holder);
    } finally {
      await this.#guard.release(lock);
    }
  }

  /** Follows the run that holds the cluster (read-only) until it ends. */
  watchOtherRun(): Promise<void> {
    return this.#guard.watch();
  }

  async #closeSession(): Promise<void> {
    this.#guard.stopWatching();
    await this.#runs.stop();
    this.#offEngine?.();
    this.#offEngine = undefined;
    const s = this.#session;
    this.#session = undefined;
    if (s) await s.close();
  }

  #stage(id: StageId): Stage | undefined {
    return this.#stages?.find((s) => s.id === id);
  }

  #stageViews(): StageView[] {
    return stageViews(this.#stages, this.#session);
  }

  #stepViews(id: StageId, live = false): StepView[] {
    return stepViews(this.#stage(id), this.#session, (stage) => this.#answers.parsed(stage), live);
  }

  // --- stage options ------------------------------------------------------------------------------------

  /** The stage's answers with its defaults filled in, as strings. */
  optionValues(id: StageId): Record<string, string> {
    return this.#answers.values(id);
  }

  /** One answer for a stage (flash: node, device, ...); the stage checks it at once, like the CLI would. */
  setStageOption(id: StageId, name: string, value: string): void {
    this.#answers.set(id, name, value);
  }

  showOptions(): void {
    this.#answers.show();
  }

  hideOptions(): void {
    this.#answers.hide();
  }

  /** Asks for the sudo password of the boards (for a login other than root). */
  askSudoPassword(): void {
    this.#sudo.ask();
  }

  /** Keeps the password in memory for this session: never saved, never logged, never on a command line. */
  setSudoPassword(password: string | undefined): void {
    this.#sudo.set(password);
  }

  /** Lists this computer's block devices (the practice lab: its card readers) for choosing a card. */
  listDisks(): Promise<void> {
    return this.#answers.listDisks();
  }

  // --- navigation ---------------------------------------------------------------------------------------

  selectStage(id: StageId): void {
    if (!this.#session) {
      this.#set({ currentStage: id });
      return;
    }
    // While a run goes on, the grid keeps following the events of the running stage.
    const steps = runGoesOn(this.#snap.run) && this.#snap.run.stages.includes(id) ? this.#runs.liveSteps(id) ?? this.#stepViews(id) : this.#stepViews(id);
    // Open on the first step that runs somewhere (first-login runs on no board unless asked for).
    const selectedStep = Math.max(0, steps.findIndex((st) => st.cells.length > 0));
    this.#set({ currentStage: id, steps, selectedStep, commands: undefined, optionsOpen: false, screen: 'stage' });
    this.#answers.check(id);
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
    return this.#logs.window(host, count, fromEnd);
  }

  // --- show commands ------------------------------------------------------------------------------------

  /** The plan of the selected step (the same actions the run performs). */
  showCommands(): Promise<void> {
    return showStepCommands(this.#store, this.#session);
  }

  hideCommands(): void {
    this.#set({ commands: undefined });
  }

  // --- runs ---------------------------------------------------------------------------------------------

  /**
   * Runs one stage (the current one by default); retry is the same call after a failure. A stage that erases a
   * card first asks for the device's name to be typed, as the CLI does on a terminal.
   */
  runStage(id: StageId = this.#snap.currentStage): Promise<void> {
    this.#answers.check(id);
    const need = this.#session && !this.running ? this.#answers.confirmationNeeded(id) : undefined;
    if (need) {
      this.#set({ dialog: { kind: 'confirm-typed', stage: id, ...need, what: this.#describeDevices(need.expect) } });
      return Promise.resolve();
    }
    return this.#startRun(() => this.#session!.engine.select({ only: [id] }), false);
  }

  /** The answer to "type the device's name": undefined backs out (nothing touched); a wrong name says so. */
  confirmTyped(typed: string | undefined): Promise<void> {
    const d = this.#snap.dialog;
    if (d?.kind !== 'confirm-typed') return Promise.resolve();
    if (typed === undefined) {
      this.#set({ dialog: undefined, notice: `Nothing was touched: ${d.expect} was not erased.` });
      return Promise.resolve();
    }
    if (typed.trim() !== d.expect) {
      this.#set({ dialog: { ...d, mismatch: `you typed "${typed.trim()}", not ${d.expect}: nothing was touched; type the name exactly, or Esc` } });
      return Promise.resolve();
    }
    this.#set({ dialog: undefined });
    this.#answers.check(d.stage);
    this.#answers.confirmOnce(d.stage, d.option);
    return this.#startRun(() => this.#session!.engine.select({ only: [d.stage] }), false);
  }

  /**
   * The reset key of a stage with a board reset (control-plane, workers): the reset's plan in a dialog, naming
   * what will be undone on which boards; nothing runs until the user says yes.
   */
  async askBoardReset(): Promise<void> {
    const s = this.#session;
    const id = this.#snap.currentStage;
    const boards = this.#snap.stages.find((v) => v.id === id)?.resetBoards;
    if (!s || this.running || !boards?.length) return;
    const { boardResetPlan, resetTargets } = await import('../../../flows/reset/index.ts');
    const actions = boardResetPlan({ cluster: s.cluster, ports: s.ports, store: s.store }, resetTargets(s.cluster, boards));
    const where = s.ports.mode === 'lab' ? 'the practice lab' : 'real boards';
    this.#set({ dialog: { kind: 'confirm-reset', stage: id, boards, where, actions: actions.map((a) => (a.node ? a.description : `on this computer: ${a.description}`)) } });
  }

  /** The answer to the reset dialog: yes runs the reset as `boardkube reset --boards` does (lock, leases, engine). */
  async confirmReset(yes: boolean): Promise<void> {
    const d = this.#snap.dialog;
    if (d?.kind !== 'confirm-reset') return;
    this.#set({ dialog: undefined });
    if (!yes) {
      this.#set({ notice: `Nothing was reset: ${d.boards.join(', ')} stay as they are.` });
      return;
    }
    const { resetTargets, runBoardReset } = await import('../../../flows/reset/index.ts');
    await this.#locked((holder) =>
      this.#runs.startTask(d.stage, async (signal, log) => {
        // The session the lock reopened for writing.
        const s = this.#session!;
        const nodes = resetTargets(s.cluster, d.boards);
        const r = await s.engine.withLeases(holder, log, (ports) => runBoardReset({ cluster: s.cluster, ports, store: s.store }, nodes, { signal, parallel: this.opts.parallel, log }));
        if (r.failed.length) return { error: `reset failed on ${r.failed.map((f) => `${f.node}: ${f.error}`).join('; ')}`, fix: 'Tab shows the board\'s log; when it answers again, press x to reset it again' };
        return { notice: `Reset ${d.boards.join(', ')} (${d.where}): back to "packages done". Enter runs ${d.stage} again.` };
      }),
    );
  }

  /** "/dev/sdb (32 GB SD reader, usb)" for each device named, as listed. */
  #describeDevices(names: string): string {
    return names
      .split(',')
      .map((n) => n.trim())
      .map((n) => {
        const d = this.#snap.disks?.list.find((x) => x.path === n);
        return d ? `${n} (${bytesText(d.sizeBytes)} ${d.model || 'disk'}${d.transport ? `, ${d.transport}` : ''})` : n;
      })
      .join(', ');
  }

  /** Re-checks every finished stage (cheap probes, in parallel), re-running only what no longer holds. */
  reverify(): Promise<void> {
    return this.#startRun(() => {
      const done = this.#stageViews()
        .filter((v) => v.status === 'done')
        .map((v) => v.id);
      if (done.length === 0) throw Object.assign(new Error('nothing is finished yet, so there is nothing to re-check'), { fix: 'run a stage first' });
      return done;
    }, true);
  }

  get running(): boolean {
    return this.#runs.running;
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
  cancel(): Promise<void> {
    return this.#runs.cancel();
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
}
