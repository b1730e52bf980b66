// Colours, glyphs and widths shared by every screen. NO_COLOR (https://no-color.org): when it is set to
// anything but an empty string, no colour, dim or inverse codes are emitted; markers carry the meaning.
import type { CellStatus, StageView } from '../src/app/wizard.ts';

export function colorsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}

export type Tone = 'accent' | 'ok' | 'warn' | 'bad' | 'muted' | 'info';

const TONES: Record<Tone, string> = {
  accent: 'cyan',
  ok: 'green',
  warn: 'yellow',
  bad: 'red',
  muted: 'gray',
  info: 'blue',
};

/** Text props for a tone; nothing at all when colours are off. */
export function tone(t: Tone | undefined, colors: boolean): { color?: string; dimColor?: boolean } {
  if (!t || !colors) return {};
  if (t === 'muted') return { dimColor: true };
  return { color: TONES[t] };
}

export const GLYPH: Record<CellStatus, string> = {
  pending: '·',
  running: '●',
  done: '✓',
  verified: '✓',
  failed: '✗',
  skipped: '–',
  cancelled: '■',
  interrupted: '■',
};

export const CELL_TONE: Record<CellStatus, Tone> = {
  pending: 'muted',
  running: 'accent',
  done: 'ok',
  verified: 'ok',
  failed: 'bad',
  skipped: 'muted',
  cancelled: 'warn',
  interrupted: 'warn',
};

export const CELL_WORD: Record<CellStatus, string> = {
  pending: 'to do',
  running: 'running',
  done: 'done',
  verified: 'checked',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'stopped',
  interrupted: 'cut off',
};

export function stageWord(s: StageView['status'], running: boolean): { glyph: string; word: string; tone: Tone } {
  if (running) return { glyph: '●', word: 'running', tone: 'accent' };
  switch (s) {
    case 'done':
      return { glyph: '✓', word: 'done', tone: 'ok' };
    case 'failed':
      return { glyph: '✗', word: 'failed', tone: 'bad' };
    case 'in-progress':
      return { glyph: '◐', word: 'partly', tone: 'warn' };
    case 'recheck':
      return { glyph: '◐', word: 'check again (a board moved)', tone: 'warn' };
    case 'cancelled':
      return { glyph: '■', word: 'stopped', tone: 'warn' };
    case 'not-started':
      return { glyph: '○', word: 'to do', tone: 'muted' };
    case 'unavailable':
      return { glyph: ' ', word: 'not available yet', tone: 'muted' };
    default:
      return { glyph: ' ', word: '', tone: 'muted' };
  }
}

/** Cuts a string to `width` columns with an ellipsis. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  if (width === 1) return '…';
  return `${text.slice(0, width - 1)}…`;
}

export function pad(text: string, width: number): string {
  const t = fit(text, width);
  return t + ' '.repeat(Math.max(0, width - t.length));
}

export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** Layout numbers for a terminal size: everything must fit in 80x24. */
export interface Layout {
  columns: number;
  rows: number;
  sidebar: number;
  main: number;
  body: number;
}

export function layout(columns: number, rows: number): Layout {
  const cols = Math.max(40, columns);
  const r = Math.max(12, rows);
  const sidebar = cols >= 110 ? 28 : cols >= 70 ? 24 : 0;
  // main panel: what is left after the sidebar, its divider and one column of padding on each side
  const main = cols - sidebar - (sidebar ? 1 : 0) - 2;
  return { columns: cols, rows: r, sidebar, main, body: r - 2 };
}
