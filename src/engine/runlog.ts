// The full log of one run: a file under the state directory, mode 0600, every line redacted.
import { mkdirSync, openSync, writeSync, closeSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { redact } from './secrets.ts';
import type { Secrets } from './types.ts';

export class RunLog {
  readonly path: string;
  #fd: number | null;

  constructor(stateDir: string, cluster: string, readonly secrets?: Secrets, now = new Date()) {
    const dir = join(stateDir, 'logs');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    this.path = join(dir, `${cluster}-${stamp}-${process.pid}.log`);
    this.#fd = openSync(this.path, 'a', 0o600);
    chmodSync(this.path, 0o600);
  }

  write(source: string, line: string): void {
    if (this.#fd === null) return;
    const text = `${new Date().toISOString()} ${source} ${redact(line, this.secrets)}\n`;
    writeSync(this.#fd, text);
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}
