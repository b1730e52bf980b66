// How progress reads, in the headless output and in the wizard alike: bytes with units, the rate and the time
// left ("960 MB of 2.0 GB · 12.3 MB/s · ETA 1:23"). One formatter, so both say the same.
import type { Progress } from '../engine/types.ts';

/** A byte count with a unit: 512 B, 38 kB, 960 MB, 2.0 GB (decimal units, as card sizes are printed). */
export function bytesText(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${Math.round(n / 1e6)} MB`;
  if (n >= 1e3) return `${Math.round(n / 1e3)} kB`;
  return `${Math.round(n)} B`;
}

/** m:ss */
export function clockText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** "960 MB of 2.0 GB · 12.3 MB/s · ETA 1:23"; rate in bytes per second, left out when unknown. */
export function bytesProgressText(done: number, total: number, rate?: number): string {
  const parts = [`${bytesText(done)} of ${bytesText(total)}`];
  if (rate && rate > 0) {
    parts.push(`${(rate / 1e6).toFixed(1)} MB/s`);
    parts.push(`ETA ${clockText((total - done) / rate)}`);
  }
  return parts.join(' · ');
}

/** The words for a progress report: the step's own message, else its counts with their unit. */
export function progressText(p: Progress): string {
  if (p.message) return p.message;
  if (p.total === undefined) return p.done === undefined ? '' : `${p.done}${p.unit ? ` ${p.unit}` : ''}`;
  if (p.unit === 'bytes') return bytesProgressText(p.done ?? 0, p.total);
  return `${p.done ?? 0} of ${p.total}${p.unit ? ` ${p.unit}` : ''}`;
}

/** A short share for a narrow cell: 48%, or 3/10. */
export function progressShort(p: Progress): string {
  if (!p.total) return '';
  const done = p.done ?? 0;
  return p.unit === 'bytes' ? `${Math.min(100, Math.floor((done / p.total) * 100))}%` : `${done}/${p.total}`;
}
