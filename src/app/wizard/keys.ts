// The SSH key the cluster file names: whether it exists, and an ed25519 key made with ssh-keygen when the user
// asks for one. The practice lab makes its own key in the state directory, so a newcomer has nothing to prepare.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expandHome } from '../../util/paths.ts';
import type { KeyState, SnapshotStore } from './store.ts';

/** Lab key kept in the state directory: the practice lab needs a key file but never uses it on a real board. */
export function labKeyPath(stateDir: string): string {
  return join(stateDir, 'lab_ed25519');
}

/** The key a new inventory names: the lab's own, or the user's usual ed25519 key. */
export function defaultKeyPath(lab: boolean, stateDir: string): string {
  return lab ? labKeyPath(stateDir) : '~/.ssh/id_ed25519';
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

/** The key state for the draft's key path; another path forgets what the last creation said. */
export function keyStateFor(keyPath: string, before: KeyState): KeyState {
  const full = expandHome(keyPath);
  const key: KeyState = { ...before, path: full, exists: keyPath !== '' && existsSync(full) };
  if (key.path !== before.path) {
    key.error = undefined;
    key.created = false;
  }
  return key;
}

/** Creates the draft's key on request, one creation at a time, and shows how it goes in the snapshot. */
export class KeyMaker {
  readonly #store: SnapshotStore;
  readonly #stateDir: string;
  /** Run once the key exists (the inventory is checked again: the key file is one of its checks). */
  readonly #afterCreate: () => Promise<void>;
  #job: Promise<void> | undefined;

  constructor(store: SnapshotStore, stateDir: string, afterCreate: () => Promise<void>) {
    this.#store = store;
    this.#stateDir = stateDir;
    this.#afterCreate = afterCreate;
  }

  /** The creation under way, if any. */
  get pending(): Promise<void> | undefined {
    return this.#job;
  }

  /** Creates an ed25519 key at the draft's key path (ssh-keygen, no passphrase). */
  async create(): Promise<void> {
    if (this.#job) return this.#job;
    const snap = this.#store.snapshot;
    const path = expandHome(snap.draft.keyPath);
    if (!path) return;
    if (existsSync(path)) {
      this.#store.set({ key: { ...snap.key, path, exists: true } });
      return;
    }
    this.#store.set({ key: { path, exists: false, creating: true } });
    this.#job = createSshKey(path)
      .then(async () => {
        this.#store.set({ key: { path, exists: true, creating: false, created: true } });
        await this.#afterCreate();
      })
      .catch((e: Error) => this.#store.set({ key: { path, exists: false, creating: false, error: e.message } }))
      .finally(() => (this.#job = undefined));
    return this.#job;
  }

  /** The practice lab's key, made at once when the draft names it and it is missing. */
  createLabKeyIfMissing(): void {
    const path = labKeyPath(this.#stateDir);
    if (expandHome(this.#store.snapshot.draft.keyPath) !== path || existsSync(path)) return;
    void this.create();
  }
}
