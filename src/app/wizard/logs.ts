// The log pane: a bounded ring buffer per host (the full log is in the run log), and lines cleaned so a
// board's output cannot redraw the screen.

/** A bounded ring buffer: past `capacity` items, each new one pushes out the oldest. */
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

/** Longest line the pane keeps: a board that prints megabytes on one line cannot fill the wizard's memory. */
export const MAX_LINE = 2000;

/** A line cut to MAX_LINE, saying how much more the run log has. */
export function boundedLine(line: string): string {
  return line.length <= MAX_LINE ? line : `${line.slice(0, MAX_LINE)} … (${line.length - MAX_LINE} more characters in the run log)`;
}

/** The log pane's lines, one bounded ring buffer per host ("cluster" for lines of no host): lines per host and
 * characters per line are both capped, so what the wizard holds does not grow with a run's output. */
export class HostLogs {
  readonly #buffers = new Map<string, RingBuffer<string>>();

  constructor(readonly linesPerHost: number) {}

  /** Starts over with an empty buffer for each of these hosts. */
  reset(hosts: string[]): void {
    this.#buffers.clear();
    for (const h of hosts) this.#buffers.set(h, new RingBuffer(this.linesPerHost));
  }

  /** Appends a message (one line per line of it, cleaned); true when the host had no buffer yet. */
  append(host: string, message: string): boolean {
    let buf = this.#buffers.get(host);
    const isNew = !buf;
    if (!buf) {
      buf = new RingBuffer(this.linesPerHost);
      this.#buffers.set(host, buf);
    }
    for (const part of message.split('\n')) buf.push(boundedLine(cleanLine(part)));
    return isNew;
  }

  /** Up to `count` lines of a host, ending `fromEnd` lines before the newest. */
  window(host: string, count: number, fromEnd = 0): { lines: string[]; total: number; dropped: number } {
    const buf = this.#buffers.get(host);
    if (!buf) return { lines: [], total: 0, dropped: 0 };
    return { lines: buf.window(count, fromEnd), total: buf.length, dropped: buf.dropped };
  }
}
