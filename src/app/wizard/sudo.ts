// The boards' sudo password, for a login other than root: asked for on the stage screen and kept in memory
// for this session only (never saved, never logged, never on a command line).
import type { Session } from '../session.ts';
import type { SnapshotStore } from './store.ts';

export class SudoPassword {
  readonly #store: SnapshotStore;
  readonly #running: () => boolean;
  readonly #session: () => Session | undefined;
  #password: string | undefined;

  constructor(store: SnapshotStore, running: () => boolean, session: () => Session | undefined) {
    this.#store = store;
    this.#running = running;
    this.#session = session;
  }

  /** What a new session starts with: the password given earlier, else BOARDKUBE_SUDO_PASSWORD. */
  get forNewSession(): string | undefined {
    return this.#password ?? process.env.BOARDKUBE_SUDO_PASSWORD;
  }

  /** Asks for it (not while a run goes on). */
  ask(): void {
    if (!this.#running()) this.#store.set({ dialog: { kind: 'sudo-password' } });
  }

  /** The answer to the question; undefined: the question was dismissed. */
  set(password: string | undefined): void {
    if (this.#store.snapshot.dialog?.kind === 'sudo-password') this.#store.set({ dialog: undefined });
    if (password === undefined) return;
    this.#password = password;
    this.#session()?.secrets.set('sudo-password', password);
    this.#store.set({ sudoPasswordSet: password !== '' });
  }
}
