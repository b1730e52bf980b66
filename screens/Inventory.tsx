// Inventory: board model, nodes and addresses, SSH key (found, or created on request), Kubernetes version
// from the catalogue, subnets. Every keystroke goes to the controller, which validates with validateCluster:
// the errors show inline, next to the field, as the user types.
import { Box, Text, useInput } from 'ink';
import { useRef, useState, type ReactElement } from 'react';
import { BOARDS } from '../src/boards/index.ts';
import { RELEASES } from '../src/catalog/versions.ts';
import { hasInventoryRow, WizardController, type DraftField, type WizardSnapshot } from '../src/app/wizard.ts';
import type { Problem } from '../src/cluster/validate.ts';
import { useController, useUi, useWizard } from './context.ts';
import { T } from './components/T.tsx';
import { fit, pad, tone } from './theme.ts';
import { wrapLines } from './text.ts';

type Row =
  | { kind: 'section'; label: string; field?: string }
  | { kind: 'field'; field: DraftField; label: string }
  | { kind: 'node'; index: number }
  | { kind: 'action'; id: 'create-key' | 'add-node' | 'continue'; label: string };

const NODE_COLS = ['name', 'role', 'address'] as const;

export function inventoryRows(s: WizardSnapshot): Row[] {
  const rows: Row[] = [
    { kind: 'section', label: 'Cluster' },
    { kind: 'field', field: 'name', label: 'Name' },
    { kind: 'field', field: 'board', label: 'Board' },
    { kind: 'field', field: 'kubernetesVersion', label: 'Kubernetes' },
    { kind: 'section', label: 'Network' },
    { kind: 'field', field: 'lan', label: "Boards' LAN" },
    { kind: 'field', field: 'gateway', label: 'Gateway' },
    { kind: 'field', field: 'dns', label: 'DNS' },
    { kind: 'field', field: 'podSubnet', label: 'Pod subnet' },
    { kind: 'field', field: 'serviceSubnet', label: 'Service subnet' },
    { kind: 'section', label: 'SSH' },
    { kind: 'field', field: 'sshUser', label: 'User' },
    { kind: 'field', field: 'keyPath', label: 'Key' },
  ];
  if (!s.key.exists && s.draft.keyPath) rows.push({ kind: 'action', id: 'create-key', label: s.key.creating ? 'Creating an ed25519 key…' : 'Create an ed25519 key there (ssh-keygen)' });
  rows.push({ kind: 'section', label: `Boards (${s.draft.nodes.length})`, field: 'nodes' });
  s.draft.nodes.forEach((_, index) => rows.push({ kind: 'node', index }));
  rows.push({ kind: 'action', id: 'add-node', label: '+ add a board' });
  rows.push({ kind: 'action', id: 'continue', label: continueLabel(s) });
  return rows;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function continueLabel(s: WizardSnapshot): string {
  const f = s.inventoryFile;
  if (f?.exists) return `Continue: save ${baseName(f.path)} (old one kept as .bak), go to the stages`;
  return `Continue: save ${f ? baseName(f.path) : 'the cluster file'}, go to the stages`;
}

/** The lines above the fields: which file this is and that it stays untouched until saved, and its problems
 * that have no row of their own (a misspelt field, apiVersion ...), each with its line. */
export function fileLines(s: WizardSnapshot, width: number): Array<{ text: string; tone: 'bad' | 'muted' }> {
  const f = s.inventoryFile;
  const out: Array<{ text: string; tone: 'bad' | 'muted' }> = [];
  if (f?.exists && !s.draftIsOpenCluster) for (const l of wrapLines(`${f.path} is left as it is until you save; the old version is then kept as ${baseName(f.path)}.bak.`, width, 2)) out.push({ text: l, tone: 'muted' });
  // Problems at fields the inventory does not edit (kubernetes.*): they stop Continue and are fixed in the file.
  const live = s.problems.filter((p) => !hasInventoryRow(p.field));
  // The file's own problems the draft no longer has (a misspelt name: left out when saved, kept in the .bak).
  const fileOnly = (f?.exists && !s.draftIsOpenCluster ? f.outside : []).filter((p) => !live.some((l) => l.field === p.field));
  const line = (field: string) => (f?.lines[field] ? `line ${f.lines[field]}: ` : '');
  for (const p of live) for (const l of wrapLines(`✗ ${line(p.field)}${p.field}: ${p.message} (fix: ${p.fix}; edit it in the file)`, width, 3)) out.push({ text: l, tone: 'bad' });
  for (const p of fileOnly) {
    const then = /^is not a field/.test(p.message) ? 'Continue leaves it out, the .bak keeps it' : 'Continue writes it right';
    for (const l of wrapLines(`✗ ${line(p.field)}${p.field}: ${p.message} (fix: ${p.fix}; ${then})`, width, 4)) out.push({ text: l, tone: 'bad' });
  }
  return out;
}

function isFocusable(r: Row): boolean {
  return r.kind !== 'section';
}

function boardName(id: string): string {
  return BOARDS.find((b) => b.id === id)?.name ?? id;
}

function versionLabel(v: string): string {
  const newest = RELEASES[RELEASES.length - 1]!.patch;
  return v === newest ? `${v} (newest)` : v;
}

function problemsOf(s: WizardSnapshot, r: Row): Problem[] {
  if (r.kind === 'field') return s.problemsByField[r.field] ?? [];
  if (r.kind === 'node') return NODE_COLS.flatMap((c) => s.problemsByField[`nodes.${r.index}.${c}`] ?? []);
  if (r.kind === 'section' && r.field) return s.problemsByField[r.field] ?? [];
  return [];
}

/** The first row (and node column) with a problem, once the user asked to continue or opened a file with problems. */
function firstProblemFocus(s: WizardSnapshot): { row: number; col: number } | undefined {
  if (!s.submitted) return undefined;
  const rows = inventoryRows(s);
  const row = rows.findIndex((r) => isFocusable(r) && problemsOf(s, r).length > 0);
  if (row < 0) return undefined;
  const r = rows[row]!;
  const col = r.kind === 'node' ? Math.max(0, NODE_COLS.findIndex((k) => s.problemsByField[`nodes.${r.index}.${k}`])) : 0;
  return { row, col };
}

export function Inventory() {
  const c = useController();
  const s = useWizard();
  const { colors, layout } = useUi();
  const rows = inventoryRows(s);
  // Focus lives in a ref so that keys arriving faster than the redraws all land on the right field. A file
  // opened with problems starts on the first one.
  const focusRef = useRef(firstProblemFocus(s) ?? { row: 1, col: 0 });
  const [, redraw] = useState(0);
  const setFocus = (row: number, col = focusRef.current.col) => {
    focusRef.current = { row, col };
    redraw((n) => n + 1);
  };
  const resolveFocus = (rs: Row[]) => {
    const fs = rs.map((r, i) => (isFocusable(r) ? i : -1)).filter((i) => i >= 0);
    const f = focusRef.current.row;
    const idx = fs.includes(f) ? f : (fs.find((i) => i > f) ?? fs[fs.length - 1]!);
    return { fs, idx, row: rs[idx]!, col: focusRef.current.col };
  };
  const fIndex = resolveFocus(rows).idx;
  const col = focusRef.current.col;

  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') return;
      const snap = c.getSnapshot();
      const rs = inventoryRows(snap);
      const { fs, idx, row, col } = resolveFocus(rs);
      const field: DraftField | undefined = row.kind === 'field' ? row.field : row.kind === 'node' ? (`nodes.${row.index}.${NODE_COLS[col]}` as DraftField) : undefined;
      const moveRow = (dir: 1 | -1) => setFocus(fs[Math.max(0, Math.min(fs.length - 1, fs.indexOf(idx) + dir))]!);
      const tab = (dir: 1 | -1) => {
        if (row.kind === 'node' && col + dir >= 0 && col + dir < NODE_COLS.length) return setFocus(idx, col + dir);
        setFocus(fs[Math.max(0, Math.min(fs.length - 1, fs.indexOf(idx) + dir))]!, dir === 1 ? 0 : NODE_COLS.length - 1);
      };
      if (key.escape) return c.showScreen(snap.draftIsOpenCluster && snap.cluster ? 'stage' : 'welcome');
      if (key.ctrl && input === 'n') {
        void c.addNode();
        return setFocus(rs.findIndex((r) => r.kind === 'action' && r.id === 'add-node'), 0);
      }
      if (key.ctrl && input === 'd') {
        if (row.kind === 'node') void c.removeNode(row.index);
        return;
      }
      if (key.upArrow) return moveRow(-1);
      if (key.downArrow) return moveRow(1);
      if (key.tab) return tab(key.shift ? -1 : 1);
      if (key.return) {
        if (row.kind !== 'action') return tab(1);
        if (row.id === 'create-key') return void c.createKey();
        if (row.id === 'add-node') {
          void c.addNode();
          return setFocus(idx + 1, 0);
        }
        void c.submitInventory().then((ok) => {
          if (ok) return;
          // Jump to the first field with a problem.
          const bad = firstProblemFocus(c.getSnapshot());
          if (bad) setFocus(bad.row, bad.col);
        });
        return;
      }
      if (!field) return;
      const choice = WizardController.isChoiceField(field);
      if (key.leftArrow || key.rightArrow) {
        if (choice) return void c.cycleField(field, key.leftArrow ? -1 : 1);
        if (row.kind === 'node') return setFocus(idx, Math.max(0, Math.min(NODE_COLS.length - 1, col + (key.leftArrow ? -1 : 1))));
        return;
      }
      if (choice) {
        if (input === ' ') void c.cycleField(field, 1);
        return;
      }
      const value = c.getField(field);
      if (key.backspace || key.delete) return void c.setField(field, value.slice(0, -1));
      if (key.ctrl && input === 'u') return void c.setField(field, '');
      if (key.ctrl || key.meta) return;
      const text = input.replace(/[\r\n\t\x00-\x1f\x7f]/g, '');
      if (text) void c.setField(field, value + text);
    },
    { isActive: s.screen === 'inventory' && !s.dialog },
  );

  const w = layout.main;
  const LABEL = 16;
  const lines: Array<{ el: ReactElement; row: number }> = [];
  rows.forEach((r, i) => {
    const focused = i === fIndex;
    const probs = problemsOf(s, r);
    const mark = focused ? '› ' : '  ';
    if (r.kind === 'section') {
      lines.push({
        row: i,
        el: (
          <Text key={`s${i}`} bold wrap="truncate-end">
            {r.label}
            {probs.length > 0 ? <Text {...tone('bad', colors)} bold={false}>{fit(`  ✗ ${probs[0]!.message}`, Math.max(0, w - r.label.length))}</Text> : null}
          </Text>
        ),
      });
    } else if (r.kind === 'field') {
      const raw = c.getField(r.field);
      const choice = WizardController.isChoiceField(r.field);
      let shown = r.field === 'board' ? boardName(raw) : r.field === 'kubernetesVersion' ? versionLabel(raw) : raw;
      if (choice && focused) shown = `‹ ${shown} ›`;
      else if (focused) shown = `${shown}▌`;
      let status = '';
      let st: 'ok' | 'bad' | 'muted' = 'muted';
      if (r.field === 'keyPath') {
        if (s.key.creating) status = '  creating…';
        else if (s.key.exists) [status, st] = [s.key.created ? '  ✓ created' : '  ✓ found', 'ok'];
        else if (s.key.error) [status, st] = [`  ✗ ${s.key.error}`, 'bad'];
      }
      if (probs.length > 0 && !focused) [status, st] = [`  ✗ ${probs[0]!.message}`, 'bad'];
      const room = Math.max(8, w - 2 - LABEL);
      const statusW = status ? Math.min(status.length, Math.max(10, room - shown.length)) : 0;
      const valueW = Math.max(4, room - statusW);
      // Paths keep their end (the file name), other values their start.
      const value = r.field === 'keyPath' && shown.length > valueW ? `…${shown.slice(shown.length - valueW + 1)}` : fit(shown, valueW);
      lines.push({
        row: i,
        el: (
          <Text key={`f${i}`} wrap="truncate-end" bold={focused}>
            {mark}
            {pad(r.label, LABEL)}
            {value}
            <Text {...tone(st, colors)} bold={false}>
              {fit(status, statusW)}
            </Text>
          </Text>
        ),
      });
    } else if (r.kind === 'node') {
      const n = s.draft.nodes[r.index]!;
      const cell = (k: (typeof NODE_COLS)[number], width: number) => {
        const v = k === 'role' ? n.role : n[k];
        const on = focused && NODE_COLS[col] === k;
        const text = on ? (k === 'role' ? `‹${v}›` : `[${v}▌]`) : ` ${v} `;
        return <Text bold={on} {...tone(s.problemsByField[`nodes.${r.index}.${k}`] ? 'bad' : undefined, colors)}>{pad(text, width)}</Text>;
      };
      lines.push({
        row: i,
        el: (
          <Text key={`n${i}`} wrap="truncate-end">
            {mark}
            {cell('name', 15)}
            {cell('role', 16)}
            {cell('address', 17)}
            {!focused && probs.length > 0 ? <Text {...tone('bad', colors)}>{fit(`✗ ${probs[0]!.message}`, Math.max(1, w - 50))}</Text> : null}
          </Text>
        ),
      });
    } else {
      lines.push({
        row: i,
        el: (
          <Text key={`a${i}`} wrap="truncate-end" bold={focused} inverse={colors && focused} {...tone(r.id === 'continue' ? 'accent' : undefined, colors)}>
            {mark}
            {fit(r.label, w - 2)}
          </Text>
        ),
      });
    }
    // The focused row's problems, in full, right under it.
    if (focused && r.kind !== 'section') {
      for (const [k, p] of probs.entries()) {
        lines.push({
          row: i,
          el: (
            <Box key={`p${i}-${k}`} flexDirection="column" paddingLeft={4} width={w}>
              <T tone="bad" wrap>{`✗ ${p.field}: ${p.message}${s.inventoryFile?.lines[p.field] ? ` (line ${s.inventoryFile.lines[p.field]} of ${baseName(s.inventoryFile.path)})` : ''}`}</T>
              <T tone="muted" wrap>{`fix: ${p.fix}`}</T>
            </Box>
          ),
        });
      }
      if (r.kind === 'field' && r.field === 'keyPath' && s.key.error) {
        lines.push({ row: i, el: <Box key="keyerr" paddingLeft={4} width={w}><T tone="bad" wrap>{s.key.error}</T></Box> });
      }
    }
  });

  const count = s.problems.length;
  const above = fileLines(s, w);
  const status = wrapLines(
    s.error ? `✗ ${s.error.message}${s.error.fix ? ` (fix: ${s.error.fix})` : ''}` : count ? `✗ ${count} problem${count > 1 ? 's' : ''} to fix before you continue` : '✓ looks right: Continue saves the cluster file',
    w,
    4,
  );
  const headerRows = 1 + status.length + above.length;
  const height = Math.max(3, layout.body - headerRows);
  // Focused problems wrap onto several lines: count them generously when scrolling.
  const weight = (l: { el: ReactElement }) => (l.el.type === Box ? 4 : 1);
  const focusLine = lines.findIndex((l) => l.row === fIndex);
  let start = 0;
  let used = 0;
  for (let i = focusLine; i >= 0; i--) {
    used += weight(lines[i]!);
    if (used > Math.floor(height / 2)) break;
    start = i;
  }
  // Near the end, fill the window instead of leaving it half empty.
  let tail = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    tail += weight(lines[i]!);
    if (tail > height) {
      start = Math.min(start, i + 1);
      break;
    }
    if (i === 0) start = 0;
  }
  let total = 0;
  const visible: ReactElement[] = [];
  for (let i = start; i < lines.length; i++) {
    total += weight(lines[i]!);
    if (total > height && i > focusLine + 3) break;
    visible.push(lines[i]!.el);
  }
  return (
    <Box flexDirection="column" width={w} height={layout.body} overflow="hidden">
      <T bold tone="accent">{'Inventory: your boards and how they are wired'}</T>
      {status.map((l, i) => (
        <T key={`st${i}`} tone={s.error || count ? 'bad' : 'ok'}>
          {l}
        </T>
      ))}
      {above.map((l, i) => (
        <T key={`fl${i}`} tone={l.tone}>
          {l.text}
        </T>
      ))}
      {visible}
    </Box>
  );
}
