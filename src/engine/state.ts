// Saved progress: one file per cluster under the state directory, through conf (atomic writes, mode 0600).
// It never holds a secret: join tokens are re-created, passwords are asked again.
import Conf from 'conf';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Json, StageId, StepRecord } from './types.ts';

export const SCHEMA_VERSION = 2;

export interface PinnedKey {
  type: string;
  fingerprint: string;
  pinnedAt: string;
}

export interface StateData {
  schemaVersion: number;
  cluster: string;
  /** Absolute path of the cluster file this progress belongs to. */
  clusterFile?: string;
  mode: 'real' | 'lab';
  createdAt: string;
  updatedAt: string;
  hostKeys: Record<string, PinnedKey>;
  steps: Record<string, StepRecord>;
  /** The practice lab's world as boardkube 0.1 kept it; now in its own file (labDir), moved there on the first write. */
  lab?: Json;
  /**
   * What each stage last ran with on each board ("-" for cluster-wide steps): its parsed options (no secret is
   * ever an option) and the board's address, so `status --verify` checks what was done, and a board whose
   * address changed since is checked again.
   */
  ran?: Record<string, Record<string, RanWith>>;
}

export interface RanWith {
  options: Json;
  address?: string;
}


export function stepKey(stage: StageId, step: string, node: string | null): string {
  return `${stage}/${step}@${node ?? '-'}`;
}

/**
 * Schema migrations, oldest first. Version 1 (boardkube 0.0.x) kept a flat list of finished step keys
 * ("stage/step@node") and host keys as plain fingerprints.
 */
export function migrate(raw: Record<string, unknown>): StateData {
  let data = raw;
  const version = typeof data.schemaVersion === 'number' ? data.schemaVersion : 1;
  if (version > SCHEMA_VERSION) {
    throw new CorruptStateError('', `it was written by a newer boardkube (schema ${version}, this one reads up to ${SCHEMA_VERSION})`);
  }
  if (version < 2) {
    const done = Array.isArray(data.done) ? (data.done as string[]) : [];
    const at = typeof data.savedAt === 'string' ? data.savedAt : new Date(0).toISOString();
    const steps: Record<string, StepRecord> = {};
    for (const key of done) steps[key] = { status: 'done', startedAt: at, endedAt: at, runs: 1 };
    const hostKeys: Record<string, PinnedKey> = {};
    for (const [node, fp] of Object.entries((data.hostKeys as Record<string, string>) ?? {})) {
      hostKeys[node] = { type: 'unknown', fingerprint: fp, pinnedAt: at };
    }
    data = {
      schemaVersion: 2,
      cluster: data.cluster,
      clusterFile: data.clusterFile,
      mode: data.lab ? 'lab' : 'real',
      createdAt: at,
      updatedAt: at,
      hostKeys,
      steps,
    };
  }
  return data as unknown as StateData;
}

function fileSchemaVersion(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const raw = JSON.parse(readFileSync(path, 'utf8')) as { schemaVersion?: number };
  return raw.schemaVersion ?? 1;
}

export class CorruptStateError extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`the saved progress ${path} cannot be read: ${reason}`);
    this.name = 'CorruptStateError';
  }
}

export interface StateSummary {
  cluster: string;
  path: string;
  mode: 'real' | 'lab';
  clusterFile?: string;
  updatedAt: string;
  done: number;
  failed: number;
  running: number;
}

/** What the store reads and writes through: conf (atomic rename writes), or a read-only look at the file. */
interface Backing {
  readonly store: StateData;
  get<K extends keyof StateData>(key: K): StateData[K];
  set(values: Partial<StateData>): void;
  delete(key: keyof StateData): void;
}

/**
 * plan and status look while a run may be writing: they read the whole file afresh each time (a rename makes
 * every read see one complete version) and never write it. What they would change stays in memory.
 */
class ReadOnlyState implements Backing {
  readonly #overlay: Partial<StateData> = {};

  constructor(readonly path: string, readonly defaults: StateData) {}

  get store(): StateData {
    const file = existsSync(this.path) ? migrate(JSON.parse(readFileSync(this.path, 'utf8')) as Record<string, unknown>) : undefined;
    return { ...this.defaults, ...file, ...this.#overlay };
  }

  get<K extends keyof StateData>(key: K): StateData[K] {
    return this.store[key];
  }

  set(values: Partial<StateData>): void {
    Object.assign(this.#overlay, values);
  }

  delete(key: keyof StateData): void {
    Object.assign(this.#overlay, { [key]: undefined });
  }
}

/** A file written whole and atomically (tmp + rename), mode 0600. */
function writePrivate(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

export class StateStore {
  readonly #conf: Backing;
  readonly path: string;
  readonly #readOnly: boolean;
  /** The lab world as last read or written, so an unchanged world is not written again. */
  #labText: string | undefined;
  /** What a read-only look would have written (never on disk). */
  #labOverlay: Json | undefined;

  private constructor(conf: Backing, path: string, readOnly = false) {
    this.#conf = conf;
    this.path = path;
    this.#readOnly = readOnly;
  }

  /**
   * The practice lab's own folder beside the progress: world.json (the simulated boards, cards and cluster,
   * written only when it changed) and before-STAGE.json (the world as it was before a stage first ran).
   */
  static labDir(stateDir: string, cluster: string): string {
    return join(stateDir, `${cluster}.lab`);
  }

  get #labDir(): string {
    return this.path.replace(/\.json$/, '.lab');
  }

  static fileFor(stateDir: string, cluster: string): string {
    return join(stateDir, `${cluster}.json`);
  }

  /** Opens (or creates) the progress of one cluster. Throws CorruptStateError rather than wiping anything. */
  static open(stateDir: string, cluster: string, init: { mode: 'real' | 'lab'; clusterFile?: string; readOnly?: boolean }): StateStore {
    const path = StateStore.fileFor(stateDir, cluster);
    const now = new Date().toISOString();
    if (init.readOnly) {
      const look = new ReadOnlyState(path, { schemaVersion: SCHEMA_VERSION, cluster, mode: init.mode, clusterFile: init.clusterFile, createdAt: now, updatedAt: now, hostKeys: {}, steps: {} });
      try {
        void look.store;
      } catch (e) {
        throw new CorruptStateError(path, e instanceof CorruptStateError ? e.reason : (e as Error).message);
      }
      return new StateStore(look, path, true);
    }
    let conf: Conf<StateData>;
    try {
      conf = new Conf<StateData>({
        cwd: stateDir,
        configName: cluster,
        projectName: 'boardkube',
        projectSuffix: '',
        configFileMode: 0o600,
        clearInvalidConfig: false,
        accessPropertiesByDotNotation: false,
        watch: false,
        deserialize: (text) => migrate(JSON.parse(text) as Record<string, unknown>),
        defaults: { schemaVersion: SCHEMA_VERSION, cluster, mode: init.mode, clusterFile: init.clusterFile, createdAt: now, updatedAt: now, hostKeys: {}, steps: {} },
      });
    } catch (e) {
      if (e instanceof CorruptStateError) throw new CorruptStateError(path, e.reason);
      throw new CorruptStateError(path, (e as Error).message);
    }
    const store = new StateStore(conf, conf.path);
    if (fileSchemaVersion(path) !== SCHEMA_VERSION) {
      // Write once so a fresh or migrated file is on disk in the current schema, mode 0600.
      store.#conf.set({ schemaVersion: SCHEMA_VERSION });
      store.touch();
    }
    if (init.clusterFile && store.#conf.get('clusterFile') !== init.clusterFile) store.#conf.set({ clusterFile: init.clusterFile });
    return store;
  }

  /** Keeps a copy of an unreadable progress file and starts fresh. Returns the copy's path. */
  static startFresh(stateDir: string, cluster: string): string {
    const path = StateStore.fileFor(stateDir, cluster);
    const copy = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    copyFileSync(path, copy);
    // Replace the bad file with an empty but valid one; the copy keeps what was there.
    const conf = new Conf<Record<string, unknown>>({ cwd: stateDir, configName: cluster, projectName: 'boardkube', projectSuffix: '', configFileMode: 0o600, clearInvalidConfig: true, watch: false });
    conf.clear();
    return copy;
  }

  /** The mode a cluster's saved progress was made in (undefined: none saved, or unreadable). */
  static savedMode(stateDir: string, cluster: string): 'real' | 'lab' | undefined {
    try {
      const mode = (JSON.parse(readFileSync(StateStore.fileFor(stateDir, cluster), 'utf8')) as { mode?: unknown; lab?: unknown }).mode;
      return mode === 'lab' || mode === 'real' ? mode : undefined;
    } catch {
      return undefined;
    }
  }

  /** All saved clusters in a state directory, with a progress summary (unreadable files are listed as such). */
  static list(stateDir: string): Array<StateSummary | { cluster: string; path: string; error: string }> {
    if (!existsSync(stateDir)) return [];
    const out: Array<StateSummary | { cluster: string; path: string; error: string }> = [];
    for (const f of readdirSync(stateDir).sort()) {
      if (!f.endsWith('.json')) continue;
      const path = join(stateDir, f);
      const cluster = f.slice(0, -5);
      try {
        if (!statSync(path).isFile()) continue;
        const data = migrate(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>);
        const recs = Object.values(data.steps ?? {});
        out.push({
          cluster,
          path,
          mode: data.mode,
          clusterFile: data.clusterFile,
          updatedAt: data.updatedAt,
          done: recs.filter((r) => r.status === 'done').length,
          failed: recs.filter((r) => r.status === 'failed').length,
          running: recs.filter((r) => r.status === 'running').length,
        });
      } catch (e) {
        out.push({ cluster, path, error: (e as Error).message });
      }
    }
    return out;
  }

  get data(): StateData {
    return this.#conf.store;
  }

  get mode(): 'real' | 'lab' {
    return this.#conf.get('mode');
  }

  step(key: string): StepRecord | undefined {
    return this.#conf.get('steps')[key];
  }

  steps(): Record<string, StepRecord> {
    return this.#conf.get('steps');
  }

  /** Saves one step's record (the whole file is rewritten atomically before this returns). */
  setStep(key: string, record: StepRecord): void {
    const steps = { ...this.#conf.get('steps'), [key]: record };
    this.#conf.set({ steps, updatedAt: new Date().toISOString() });
  }

  /** Forgets the records of a stage (reset). */
  clearStage(stage: StageId): number {
    const steps = { ...this.#conf.get('steps') };
    let n = 0;
    for (const key of Object.keys(steps)) {
      if (key.startsWith(`${stage}/`)) {
        delete steps[key];
        n++;
      }
    }
    const ran = { ...(this.#conf.get('ran') ?? {}) };
    delete ran[stage];
    this.#conf.set({ steps, ran, updatedAt: new Date().toISOString() });
    return n;
  }

  /** Forgets one step's record (a board reset of one worker); false when there was none. */
  forgetStep(key: string): boolean {
    const steps = { ...this.#conf.get('steps') };
    if (!(key in steps)) return false;
    delete steps[key];
    this.#conf.set({ steps, updatedAt: new Date().toISOString() });
    return true;
  }

  hostKey(node: string): PinnedKey | undefined {
    return this.#conf.get('hostKeys')[node];
  }

  pinHostKey(node: string, key: { type: string; fingerprint: string }): void {
    const hostKeys = { ...this.#conf.get('hostKeys'), [node]: { ...key, pinnedAt: new Date().toISOString() } };
    this.#conf.set({ hostKeys, updatedAt: new Date().toISOString() });
  }

  forgetHostKey(node: string): boolean {
    const hostKeys = { ...this.#conf.get('hostKeys') };
    const had = node in hostKeys;
    delete hostKeys[node];
    this.#conf.set({ hostKeys, updatedAt: new Date().toISOString() });
    return had;
  }

  lab(): Json | undefined {
    if (this.#labOverlay !== undefined) return this.#labOverlay;
    const file = join(this.#labDir, 'world.json');
    if (existsSync(file)) {
      this.#labText = readFileSync(file, 'utf8');
      return JSON.parse(this.#labText) as Json;
    }
    return this.#conf.get('lab');
  }

  /** Saves the lab's world in its own file, only when it changed: the progress file stays small. */
  setLab(lab: Json): void {
    if (this.#readOnly) {
      this.#labOverlay = lab;
      return;
    }
    const text = JSON.stringify(lab);
    if (text === this.#labText) return;
    mkdirSync(this.#labDir, { recursive: true, mode: 0o700 });
    writePrivate(join(this.#labDir, 'world.json'), text);
    this.#labText = text;
    // Progress from boardkube 0.1 kept the world inline: it lives in its own file now.
    if (this.#conf.get('lab') !== undefined) this.#conf.delete('lab');
  }

  /** Keeps the lab's world as it is before a stage first runs (kept until that stage is reset). */
  checkpointLab(stage: StageId, lab: Json): void {
    const file = join(this.#labDir, `before-${stage}.json`);
    if (this.#readOnly || existsSync(file)) return;
    mkdirSync(this.#labDir, { recursive: true, mode: 0o700 });
    writePrivate(file, JSON.stringify({ takenAt: Date.now(), lab }));
  }

  /**
   * Puts the lab's world back to how it was before `stage` first ran. Stages whose first run came later are undone
   * on the lab's boards too: they are returned, so their records can be forgotten as well. Undefined: no checkpoint.
   */
  restoreLab(stage: StageId): StageId[] | undefined {
    const dir = this.#labDir;
    const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { takenAt: number; lab: Json };
    if (!existsSync(join(dir, `before-${stage}.json`))) return undefined;
    const own = read(`before-${stage}.json`);
    const later: StageId[] = [];
    for (const f of readdirSync(dir)) {
      const m = /^before-(.+)\.json$/.exec(f);
      if (!m || m[1] === stage) continue;
      if (read(f).takenAt >= own.takenAt) {
        later.push(m[1] as StageId);
        rmSync(join(dir, f), { force: true });
      }
    }
    writePrivate(join(dir, 'world.json'), JSON.stringify(own.lab));
    this.#labText = undefined;
    rmSync(join(dir, `before-${stage}.json`), { force: true });
    return later;
  }

  /** What a stage last ran with on a board (null: its cluster-wide steps). */
  ranWith(stage: StageId, node: string | null): RanWith | undefined {
    return this.#conf.get('ran')?.[stage]?.[node ?? '-'];
  }

  /** Records what a stage ran with, per board, in one write (an address not given stays as recorded). */
  setRanWith(stage: StageId, entries: ReadonlyArray<{ node: string | null; options?: Json; address?: string }>): void {
    if (entries.length === 0) return;
    const ran = { ...(this.#conf.get('ran') ?? {}) };
    const forStage = { ...(ran[stage] ?? {}) };
    for (const e of entries) {
      const was = forStage[e.node ?? '-'];
      const address = e.address ?? was?.address;
      forStage[e.node ?? '-'] = { options: e.options ?? was?.options ?? null, ...(address ? { address } : {}) };
    }
    ran[stage] = forStage;
    this.#conf.set({ ran, updatedAt: new Date().toISOString() });
  }

  touch(): void {
    this.#conf.set({ updatedAt: new Date().toISOString() });
  }
}
