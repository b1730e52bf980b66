// Welcome / resume: saved clusters with their progress, then new cluster, practice lab, quit.
import { Box, Text, useInput } from 'ink';
import { useRef, useState } from 'react';
import type { SavedCluster, WizardSnapshot } from '../src/app/wizard.ts';
import { useController, useUi, useWizard } from './context.ts';
import { T } from './components/T.tsx';
import { ago, fit, tone } from './theme.ts';
import { wrapLines } from './text.ts';

export type WelcomeItem =
  | { kind: 'saved'; entry: SavedCluster }
  | { kind: 'file'; path: string; name?: string }
  | { kind: 'new-real' }
  | { kind: 'new-lab' }
  | { kind: 'quit' };

export function welcomeItems(s: WizardSnapshot): WelcomeItem[] {
  const items: WelcomeItem[] = [];
  const saved = s.saved ?? [];
  const f = s.fileArg;
  if (f && !saved.some((e) => e.cluster === f.name && e.clusterFile === f.path)) items.push({ kind: 'file', path: f.path, name: f.name });
  // The -f file's cluster first, then the rest by last use.
  const sorted = [...saved].sort((a, b) => Number(b.clusterFile === f?.path) - Number(a.clusterFile === f?.path));
  for (const entry of sorted) items.push({ kind: 'saved', entry });
  if (s.mode === 'lab') items.push({ kind: 'new-lab' }, { kind: 'new-real' });
  else items.push({ kind: 'new-real' }, { kind: 'new-lab' });
  items.push({ kind: 'quit' });
  return items;
}

export function progressText(e: SavedCluster): string {
  if (e.error) return 'saved progress cannot be read';
  const parts = [e.mode === 'lab' ? 'practice lab' : 'real boards', `${e.done} step${e.done === 1 ? '' : 's'} done`];
  if (e.busy) parts.push(`being worked on now by ${e.busy}`);
  else if (e.running) parts.push(`${e.running} cut off`);
  if (e.failed) parts.push(`${e.failed} failed`);
  const when = ago(e.updatedAt);
  if (when) parts.push(when);
  return parts.join(' · ');
}

function label(item: WelcomeItem): string {
  switch (item.kind) {
    case 'saved':
      return `Resume ${item.entry.cluster}`;
    case 'file':
      return `Open ${item.name ?? 'the cluster file'}`;
    case 'new-real':
      return 'Start a new cluster on real boards';
    case 'new-lab':
      return 'Practice lab: simulated boards';
    case 'quit':
      return 'Quit';
  }
}

function detail(item: WelcomeItem, s: WizardSnapshot): string {
  switch (item.kind) {
    case 'saved':
      return item.entry.error ? 'Enter: tell me more and offer a fresh start (a copy is kept)' : 'Enter: continue where it stopped · v: re-verify what is done';
    case 'file': {
      const f = s.fileArg;
      if (f?.reading) return `${item.path}: reading it…`;
      if (f?.error) return `${item.path} ${f.error}`;
      if (f?.problems) return `${item.path}: ${f.problems} problem${f.problems > 1 ? 's' : ''}. Enter opens it on the inventory with each problem at its field; the file stays as it is until you save.`;
      return `${item.path}: Enter opens its stages`;
    }
    case 'new-real':
      return 'Your boards, your network: the inventory comes next.';
    case 'new-lab':
      return 'No hardware needed: five simulated boards behave like the real ones.';
    case 'quit':
      return 'Your progress is saved step by step.';
  }
}

export function Welcome() {
  const c = useController();
  const s = useWizard();
  const { colors, layout } = useUi();
  const items = welcomeItems(s);
  // Selection in a ref: keys that arrive faster than redraws still move it one by one.
  const selRef = useRef(0);
  const [, redraw] = useState(0);
  const setSel = (i: number) => {
    selRef.current = i;
    redraw((n) => n + 1);
  };
  const index = Math.min(selRef.current, items.length - 1);
  const act = (item: WelcomeItem | undefined, how: { reverify?: boolean } = {}) => {
    if (!item) return;
    c.dismiss();
    switch (item.kind) {
      case 'saved':
        void c.resume(item.entry.cluster, how);
        break;
      case 'file':
        void c.openFile(item.path, { lab: s.mode === 'lab' }).catch(() => undefined);
        break;
      case 'new-real':
        void c.startNew(false);
        break;
      case 'new-lab':
        void c.startNew(true);
        break;
      case 'quit':
        void c.quit();
        break;
    }
  };
  useInput(
    (input, key) => {
      if (key.ctrl) return;
      const items = welcomeItems(c.getSnapshot());
      const index = Math.min(selRef.current, items.length - 1);
      if (key.upArrow || input === 'k') setSel(Math.max(0, index - 1));
      else if (key.downArrow || input === 'j') setSel(Math.min(items.length - 1, index + 1));
      else if (key.return) act(items[index]);
      else if (input === 'v' && items[index]?.kind === 'saved') act(items[index], { reverify: true });
      else if (input === 'n') act({ kind: 'new-real' });
      else if (input === 'l') act({ kind: 'new-lab' });
      else if (input === 'q') act({ kind: 'quit' });
    },
    { isActive: s.screen === 'welcome' && !s.dialog && s.saved !== null },
  );
  const w = layout.main;
  const savedCount = s.saved?.length ?? 0;
  // Rows: 4 intro + items (saved ones take two lines) + detail; cut the intro on short screens.
  const intro = layout.body >= 14 + savedCount * 2;
  return (
    <Box flexDirection="column" width={w}>
      <T bold tone="accent">
        Welcome to boardkube
      </T>
      {intro ? (
        <>
          {wrapLines('From a box of boards to a Kubernetes cluster, one screen at a time. Nothing touches a board until you say so.', w).map((l, i) => (
            <Text key={`i${i}`}>{l}</Text>
          ))}
          <Text> </Text>
        </>
      ) : null}
      {s.error ? (
        <T tone="bad" wrap>
          {`✗ ${s.error.message}${s.error.fix ? ` (fix: ${s.error.fix})` : ''}`}
        </T>
      ) : null}
      {s.notice ? (
        <T tone="info" wrap>
          {s.notice}
        </T>
      ) : null}
      {s.saved === null ? (
        <T tone="muted">Looking for saved clusters…</T>
      ) : (
        <>
          <T bold>{savedCount > 0 ? `Saved clusters (${savedCount})` : 'No saved clusters yet'}</T>
          {savedCount === 0 ? <T tone="muted">{fit(`Progress is kept in ${s.stateDir}`, w)}</T> : null}
          {items.map((item, i) => {
            const selected = i === index;
            const first = item.kind === 'new-real' || item.kind === 'new-lab' ? items.findIndex((x) => x.kind === 'new-real' || x.kind === 'new-lab') === i : false;
            return (
              <Box key={i} flexDirection="column">
                {first ? <T bold>{savedCount > 0 || s.fileArg ? 'Or start' : 'Start'}</T> : null}
                <Text wrap="truncate-end" bold={selected} inverse={colors && selected}>
                  {selected ? '› ' : '  '}
                  {fit(label(item), w - 2)}
                </Text>
                {item.kind === 'saved' ? (
                  <Text wrap="truncate-end" {...tone(item.entry.error ? 'bad' : 'muted', colors)}>
                    {fit(`    ${progressText(item.entry)}`, w)}
                  </Text>
                ) : null}
              </Box>
            );
          })}
          <Text> </Text>
          {wrapLines(items[index] ? detail(items[index], s) : '', w, 3).map((l, i) => (
            <Text key={`d${i}`} wrap="truncate-end" {...tone('muted', colors)}>
              {l || ' '}
            </Text>
          ))}
        </>
      )}
    </Box>
  );
}
