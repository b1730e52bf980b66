// Splits a byte stream into lines for onStdout/onStderr callbacks while collecting the whole text.
// Partial lines are buffered until their newline (or the end); multi-byte UTF-8 characters split across chunks are
// decoded correctly. A callback that throws does not break the stream: the first error is kept for the caller.
import { StringDecoder } from 'node:string_decoder';

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private chunks: string[] = [];
  /** First error thrown by the callback, if any. */
  callbackError: unknown;

  constructor(private readonly onLine?: (line: string) => void) {}

  push(data: Buffer | string): void {
    const text = typeof data === 'string' ? data : this.decoder.write(data);
    if (!text) return;
    this.chunks.push(text);
    if (!this.onLine) return;
    this.pending += text;
    let nl = this.pending.indexOf('\n');
    while (nl !== -1) {
      this.emit(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
      nl = this.pending.indexOf('\n');
    }
  }

  /** Flushes the decoder and the last unterminated line. */
  end(): void {
    const rest = this.decoder.end();
    if (rest) {
      this.chunks.push(rest);
      this.pending += rest;
    }
    if (this.onLine && this.pending) this.emit(this.pending);
    this.pending = '';
  }

  get text(): string {
    if (this.chunks.length > 1) this.chunks = [this.chunks.join('')];
    return this.chunks[0] ?? '';
  }

  private emit(line: string): void {
    if (this.callbackError !== undefined) return;
    try {
      this.onLine?.(line.endsWith('\r') ? line.slice(0, -1) : line);
    } catch (err) {
      this.callbackError = err;
    }
  }
}
