// The one progress formatter the headless output and the wizard share.
import { describe, expect, it } from 'vitest';
import { bytesProgressText, bytesText, progressShort, progressText } from '../src/util/progress.ts';

describe('progress text', () => {
  it('bytes with units, the rate and the time left', () => {
    expect(bytesText(512)).toBe('512 B');
    expect(bytesText(38_400)).toBe('38 kB');
    expect(bytesText(960_000_000)).toBe('960 MB');
    expect(bytesText(2_000_000_000)).toBe('2.0 GB');
    expect(bytesProgressText(960_000_000, 2_000_000_000, 12_300_000)).toBe('960 MB of 2.0 GB · 12.3 MB/s · ETA 1:25');
    expect(bytesProgressText(960_000_000, 2_000_000_000)).toBe('960 MB of 2.0 GB');
  });

  it("a step's own message wins; counts keep their unit; a narrow cell gets a share", () => {
    expect(progressText({ done: 1, total: 2, unit: 'bytes', message: 'checking: 1 B of 2 B' })).toBe('checking: 1 B of 2 B');
    expect(progressText({ done: 960_000_000, total: 2_000_000_000, unit: 'bytes' })).toBe('960 MB of 2.0 GB');
    expect(progressText({ done: 3, total: 10, unit: 'packages' })).toBe('3 of 10 packages');
    expect(progressText({})).toBe('');
    expect(progressShort({ done: 960_000_000, total: 2_000_000_000, unit: 'bytes' })).toBe('48%');
    expect(progressShort({ done: 3, total: 10, unit: 'packages' })).toBe('3/10');
  });
});
