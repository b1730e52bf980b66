// The inventory editor: keeps the draft, checks it as it is typed (validateCluster, and a name another saved
// cluster has), and on submit writes cluster.yaml. A file it opened stays as it is until the user saves; then
// its previous version is kept beside it (PATH.bak), and a file it could not read is never written over.
// The validator is imported on first use.
import type { ClusterFileRead } from '../../cluster/file.ts';
import type { ClusterSpec } from '../../cluster/spec.ts';
import type { Problem } from '../../cluster/validate.ts';
import { newClusterFilePath, readCluster } from './clusterfile.ts';
import { draftFromRaw, draftFromSpec, draftToRaw, fieldChoices, fieldOfProblem, hasInventoryRow, nextFreeName, readField, withField, withNodeAdded, withoutNode } from './draft.ts';
import { defaultKeyPath, keyStateFor } from './keys.ts';
import type { Draft, DraftField, SnapshotStore } from './store.ts';

type Validator = typeof import('../../cluster/validate.ts');

export interface InventoryEditorOptions {
  store: SnapshotStore;
  stateDir: string;
  /** The cluster file given with -f. */
  clusterFile: string | undefined;
  /** The name of the open cluster, if any (the draft may keep it). */
  openClusterName: () => string | undefined;
}

export class InventoryEditor {
  readonly #store: SnapshotStore;
  readonly #stateDir: string;
  readonly #clusterFile: string | undefined;
  readonly #openClusterName: () => string | undefined;
  #validator: Validator | undefined;
  /** Where submit writes: the file the draft came from (or -f); unset, a new path is chosen. */
  #target: string | undefined;

  constructor(o: InventoryEditorOptions) {
    this.#store = o.store;
    this.#stateDir = o.stateDir;
    this.#clusterFile = o.clusterFile;
    this.#openClusterName = o.openClusterName;
  }

  async validator(): Promise<Validator> {
    return (this.#validator ??= await import('../../cluster/validate.ts'));
  }

  /** Takes the draft at once (so fast typing never loses a key), then validates it. */
  setDraft(draft: Draft): Promise<void> {
    this.#store.set({ draft });
    if (this.#validator) {
      this.#check();
      return Promise.resolve();
    }
    return this.validator().then(() => this.#check());
  }

  #check(): void {
    const snap = this.#store.snapshot;
    const draft = snap.draft;
    const { validateCluster } = this.#validator!;
    const { problems } = validateCluster(draftToRaw(draft), { checkKeyFile: true });
    const extra: Problem[] = [];
    // The name is another cluster's when a saved one has it and keeps its cluster file elsewhere.
    const taken = snap.saved?.some((s) => s.cluster === draft.name && s.clusterFile !== snap.inventoryFile?.path) ?? false;
    const isOpen = snap.draftIsOpenCluster && this.#openClusterName() === draft.name;
    if (taken && !isOpen && draft.name) {
      extra.push({ field: 'name', message: `a saved cluster is already called "${draft.name}"`, fix: 'choose another name, or resume that cluster from the welcome screen' });
    }
    const all = [...extra, ...problems];
    const byField: Record<string, Problem[]> = {};
    for (const p of all) (byField[fieldOfProblem(p.field)] ??= []).push(p);
    this.#store.set({ problems: all, problemsByField: byField, key: keyStateFor(draft.keyPath, snap.key) });
  }

  /**
   * The draft of a cluster file that was read (valid or not): the user's own values, every problem at its
   * field; submit writes back to it. The caller never passes a file that could not be read.
   */
  async loadRead(read: ClusterFileRead, lab: boolean): Promise<void> {
    this.#target = read.path;
    const outside = read.problems.filter((p) => !hasInventoryRow(p.field));
    this.#store.set({ mode: lab ? 'lab' : 'real', draftIsOpenCluster: false, inventoryFile: { path: read.path, exists: true, lines: read.lines, outside } });
    await this.setDraft(draftFromRaw(read.raw));
  }

  /** A new cluster on the inventory: the -f file's content if it can be read, else the default (1 master + 4 workers). */
  async startNew(lab: boolean, name?: string): Promise<void> {
    const { defaultCluster } = await import('../../cluster/spec.ts');
    const read = this.#clusterFile && !name ? await readCluster(this.#clusterFile) : undefined;
    if (read?.exists && !read.unreadable) {
      await this.loadRead(read, lab);
      this.#store.set({ screen: 'inventory', submitted: false });
      return;
    }
    const spec = defaultCluster(defaultKeyPath(lab, this.#stateDir));
    const taken = new Set((this.#store.snapshot.saved ?? []).map((s) => s.cluster));
    spec.name = name ?? nextFreeName(lab ? 'lab' : spec.name, taken);
    // A -f file that cannot be read is left alone: the new cluster gets a file of its own.
    this.#target = read?.unreadable ? undefined : this.#clusterFile;
    this.#store.set({
      screen: 'inventory',
      mode: lab ? 'lab' : 'real',
      submitted: false,
      draftIsOpenCluster: false,
      inventoryFile: this.#target ? { path: this.#target, exists: false, lines: {}, outside: [] } : undefined,
      ...(read?.unreadable ? { error: { message: `${read.path} ${read.unreadable.message}`, fix: 'it is left as it is: the new cluster is saved to a file of its own' } } : {}),
    });
    await this.setDraft(draftFromSpec(spec));
  }

  /** The open cluster on the inventory; submit writes back to its file. */
  editOpenCluster(spec: ClusterSpec, file: string | undefined): void {
    this.#target = file;
    this.#store.set({ screen: 'inventory', draftIsOpenCluster: true, submitted: false, inventoryFile: file ? { path: file, exists: true, lines: {}, outside: [] } : undefined });
    void this.setDraft(draftFromSpec(spec));
  }

  setField(field: DraftField, value: string): Promise<void> {
    const d = withField(this.#store.snapshot.draft, field, value);
    return d ? this.setDraft(d) : Promise.resolve();
  }

  cycleField(field: DraftField, dir: 1 | -1): Promise<void> {
    const options = fieldChoices(field);
    if (options.length === 0) return Promise.resolve();
    const i = options.indexOf(readField(this.#store.snapshot.draft, field));
    const next = options[(i + dir + options.length) % options.length]!;
    return this.setField(field, next);
  }

  addNode(): Promise<void> {
    return this.setDraft(withNodeAdded(this.#store.snapshot.draft));
  }

  removeNode(index: number): Promise<void> {
    const d = withoutNode(this.#store.snapshot.draft, index);
    return d ? this.setDraft(d) : Promise.resolve();
  }

  /**
   * Checks the draft and writes cluster.yaml: the cluster, its file and where the previous version was kept,
   * or undefined when something needs fixing.
   */
  async submit(): Promise<{ spec: ClusterSpec; file: string; backup?: string } | undefined> {
    await this.setDraft(this.#store.snapshot.draft);
    this.#store.set({ submitted: true });
    if (this.#store.snapshot.problems.length > 0) return undefined;
    const { validateCluster } = await this.validator();
    const { spec } = validateCluster(draftToRaw(this.#store.snapshot.draft), { checkKeyFile: true });
    if (!spec) return undefined;
    const file = this.#target || newClusterFilePath(spec.name, this.#store.snapshot.mode === 'lab', this.#stateDir);
    // Read again just before writing: a file that became unreadable meanwhile (edited by hand) is not written over.
    const now = await readCluster(file);
    if (now.unreadable) {
      this.#store.set({ error: { message: `${file} ${now.unreadable.message}`, fix: 'correct it in an editor, then Continue again: nothing is written over a file that cannot be read' } });
      return undefined;
    }
    try {
      const { writeClusterFile } = await import('../../cluster/file.ts');
      const written = writeClusterFile(file, spec);
      this.#store.set({ error: undefined, inventoryFile: undefined });
      return { spec, file, ...(written.backup ? { backup: written.backup } : {}) };
    } catch (e) {
      this.#store.set({ error: { message: `could not write ${file}: ${(e as Error).message}`, fix: 'check that the folder exists and is writable, or start boardkube with -f PATH' } });
      return undefined;
    }
  }
}
