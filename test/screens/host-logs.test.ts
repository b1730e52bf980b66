// What the wizard holds of a run's output is bounded: lines per host and characters per line.
import { describe, expect, it } from 'vitest';
import { cleanLine, MAX_LINE } from '../../src/app/wizard/logs.ts';
import { HostLogs } from '../../src/app/wizard/logs.ts';

describe('per-host logs', () => {
  it('keep the newest lines of each host, say how many were pushed out, and cut endless lines', () => {
    const logs = new HostLogs(3);
    logs.reset(['a']);
    for (let i = 0; i < 10; i++) logs.append('a', `line ${i}`);
    expect(logs.window('a', 10)).toEqual({ lines: ['line 7', 'line 8', 'line 9'], total: 3, dropped: 7 });
    logs.append('a', 'x'.repeat(MAX_LINE + 500));
    const [last] = logs.window('a', 1).lines;
    expect(last!.length).toBeLessThan(MAX_LINE + 60);
    expect(last).toMatch(/… \(500 more characters in the run log\)$/);
  });

  it('hold about the same however much a run prints', () => {
    const logs = new HostLogs(500);
    logs.reset(['a', 'b']);
    const held = () => ['a', 'b'].reduce((n, h) => n + logs.window(h, 1e6).lines.reduce((m, l) => m + l.length, 0), 0);
    for (let i = 0; i < 5_000; i++) logs.append(i % 2 ? 'a' : 'b', `${i} ${'y'.repeat(5_000)}`);
    const after5k = held();
    for (let i = 0; i < 20_000; i++) logs.append(i % 2 ? 'a' : 'b', `${i} ${'y'.repeat(5_000)}`);
    expect(held()).toBeLessThanOrEqual(after5k + 1000);
    expect(held()).toBeLessThanOrEqual(2 * 500 * (MAX_LINE + 60));
    expect(cleanLine('\x1b[31mred\x1b[0m')).toBe('red');
  });
});
