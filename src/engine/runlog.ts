// The full log of one run: a file under the state directory, mode 0600, every line redacted.
import { mkdirSync, openSync, writeSync, closeSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { redact } from './secrets.ts';
import type { Secrets } from './types.ts';

/** The file is created with its first line: a command that logs nothing (reset, a refused run) leaves no empty log. */
export class RunLog {
  readonly path: string;
  readonly #dir: string;
  #fd: number | null = null;
  #closed = false;

  constructor(stateDir: string, cluster: string, readonly secrets?: Secrets, now = new Date()) {
    this.#dir = join(stateDir, 'logs');
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    this.path = join(this.#dir, `${cluster}-${stamp}-${process.pid}.log`);
  }

  /** True once something was written (the file exists). */
  get written(): boolean {
    return this.#fd !== null;
  }

  write(source: string, line: string): void {
    if (this.#closed) return;
    if (this.#fd === null) {
      mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
      this.#fd = openSync(this.path, 'a', 0o600);
      chmodSync(this.path, 0o600);
    }
    const text = `${new Date().toISOString()} ${source} ${redact(line, this.secrets)}\n`;
    writeSync(this.#fd, text);
  }

  close(): void {
    if (this.#fd !== null && !this.#closed) closeSync(this.#fd);
    this.#closed = true;
  }
}
