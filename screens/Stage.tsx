// A stage: its steps × boards with status, progress, errors with their fix, the log of one board, and
// "show commands" (c) for the selected step's plan. Run with Enter (the same key retries after a failure).
import { Box, Text, useInput } from 'ink';
import { useEffect, useState, type ReactElement } from 'react';
import type { StageView, StepCell, WizardSnapshot } from '../src/app/wizard.ts';
import { STAGE_IDS } from '../src/engine/types.ts';
import { useController, useUi, useWizard } from './context.ts';
import { CommandsView, commandLines } from './components/CommandsView.tsx';
import { LogPane } from './components/LogPane.tsx';
import { connectivityLines } from './Connectivity.tsx';
import { optionsLine, StageOptions } from './StageOptions.tsx';
import { CELL_TONE, CELL_WORD, GLYPH, fit, pad, stageWord, tone } from './theme.ts';
import { seconds, shortNames, wrapLines } from './text.ts';
import { progressShort, progressText } from '../src/util/progress.ts';
import { reportLines } from './report.ts';

export function stageProgress(s: WizardSnapshot): { done: number; total: number } {
  let done = 0;
  let total = 0;
  for (const st of s.steps)
    for (const c of st.cells) {
      total++;
      if (c.status === 'done' || c.status === 'verified' || c.status === 'skipped') done++;
    }
  return { done, total };
}

/**
 * When every stage that can run is done and nothing runs or failed: what to say (the stages that wait for one not
 * available yet are named). Undefined otherwise: the wizard never says "done" while a stage failed or runs.
 */
export function everyStageDone(s: WizardSnapshot): string | undefined {
  if (s.run.state === 'running' || s.run.state === 'cancelling' || s.run.state === 'failed') return undefined;
  const byId = new Map(s.stages.map((v) => [v.id, v]));
  const waits = (v: StageView, seen = new Set<string>()): boolean =>
    v.requires.some((r) => {
      const req = byId.get(r);
      if (!req || seen.has(r)) return false;
      seen.add(r);
      return req.status === 'unavailable' || waits(req, seen);
    });
  const open = s.stages.filter((v) => v.status !== 'unavailable');
  const waiting = open.filter((v) => v.status !== 'done' && waits(v));
  const runnable = open.filter((v) => !waiting.includes(v));
  if (runnable.length === 0 || !runnable.every((v) => v.status === 'done')) return undefined;
  if (waiting.length === 0) return 'Every available stage is done. Press s for the summary.';
  return `Every stage that can run now is done; ${waiting.map((v) => v.id).join(', ')} wait${waiting.length === 1 ? 's' : ''} for a stage not available yet. Press s for the summary.`;
}

const SHORT_WORD: Record<StepCell['status'], string> = {
  pending: '',
  running: 'run',
  done: 'done',
  verified: 'ok',
  failed: 'FAIL',
  skipped: 'skip',
  cancelled: 'stop',
  interrupted: 'cut',
};

/** A node name cut to a column, keeping a trailing number ("worker12" → "work…12"). */
export function abbreviate(name: string, width: number): string {
  if (name.length <= width) return name;
  const m = /^(.*?)(\d+)$/.exec(name);
  if (m && m[2]!.length + 2 <= width) return `${m[1]!.slice(0, width - m[2]!.length - 1)}…${m[2]}`;
  return fit(name, width);
}

/** One cell of the grid: glyph and word, cut to the column and followed by one space. */
function cellText(c: StepCell | undefined, width: number): string {
  if (!c) return pad('', width);
  const share = c.status === 'running' && c.progress ? progressShort(c.progress) : '';
  const word = share || CELL_WORD[c.status];
  const room = Math.max(1, width - 1);
  const w = room >= 9 || share ? word : SHORT_WORD[c.status];
  return `${pad(room >= 3 ? `${GLYPH[c.status]} ${w}` : GLYPH[c.status], room)} `;
}

export function StageScreen() {
  const c = useController();
  const s = useWizard();
  const { colors, layout } = useUi();
  const [logScroll, setLogScroll] = useState(0);
  const [cmdScroll, setCmdScroll] = useState(0);
  // The board's log over the whole panel (l): long messages and instructions read in full.
  const [fullLog, setFullLog] = useState(false);
  const [, tick] = useState(0);
  const running = s.run.state === 'running' || s.run.state === 'cancelling';
  useEffect(() => setLogScroll(0), [s.logHost]);
  useEffect(() => setCmdScroll(0), [s.commands?.step, s.commands?.stage]);
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [running]);

  const w = layout.main;
  const H = layout.body;
  const stage = s.stages.find((x) => x.id === s.currentStage)!;
  const unavailable = stage.status === 'unavailable';

  useInput(
    (input, key) => {
      if (key.ctrl) return;
      const snap = c.getSnapshot();
      const running = snap.run.state === 'running' || snap.run.state === 'cancelling';
      if (snap.commands) {
        const max = Math.max(0, commandLines(snap.commands, layout.main).length - 1);
        if (key.escape || input === 'c') c.hideCommands();
        else if (key.upArrow) setCmdScroll((v) => Math.max(0, v - 1));
        else if (key.downArrow) setCmdScroll((v) => Math.min(max, v + 1));
        else if (key.pageUp) setCmdScroll((v) => Math.max(0, v - (H - 4)));
        else if (key.pageDown) setCmdScroll((v) => Math.min(max, v + (H - 4)));
        return;
      }
      if (snap.optionsOpen) return;
      if (input === 'l') return setFullLog((v) => !v);
      if (fullLog && key.escape) return setFullLog(false);
      if (input === 'q') return c.interrupt();
      if (key.tab) return c.cycleLogHost(key.shift ? -1 : 1);
      if (key.pageUp) return setLogScroll((v) => v + 5);
      if (key.pageDown) return setLogScroll((v) => Math.max(0, v - 5));
      if (key.end) return setLogScroll(0);
      if (key.upArrow) return c.selectStep(c.getSnapshot().selectedStep - 1);
      if (key.downArrow) return c.selectStep(c.getSnapshot().selectedStep + 1);
      if (input === 'c' && snap.stages.find((x) => x.id === snap.currentStage)?.status !== 'unavailable') return void c.showCommands();
      if (running) return;
      if (key.leftArrow) return c.moveStage(-1);
      if (key.rightArrow) return c.moveStage(1);
      if (/^[0-9]$/.test(input)) return c.selectStage(STAGE_IDS[(Number(input) + 9) % 10]!);
      if (input === 'i') return c.editInventory();
      if (input === 's') return c.showScreen('summary');
      // A stage that is not available yet has nothing to run, show or answer.
      if (snap.stages.find((x) => x.id === snap.currentStage)?.status === 'unavailable') return;
      if (key.return || input === 'r') return void c.runStage();
      if (input === 'v') return void c.reverify();
      if (input === 'o') return c.showOptions();
      if (input === 'p') return c.askSudoPassword();
      if (input === 'x' && snap.stages.find((x) => x.id === snap.currentStage)?.resetBoards) return void c.askBoardReset();
    },
    { isActive: s.screen === 'stage' && !s.dialog },
  );

  const top: ReactElement[] = [];
  const word = stageWord(stage.status, running && s.run.stages.includes(stage.id));
  top.push(
    <Text key="title" wrap="truncate-end">
      <Text bold {...tone('accent', colors)}>
        {fit(`${stage.id}: ${stage.title}`, Math.max(10, w - 20))}
      </Text>
      <Text {...tone(word.tone, colors)}>{`  ${word.glyph} ${word.word}`}</Text>
    </Text>,
  );
  if (unavailable) {
    const lines = [
      ...wrapLines(stage.summary || 'This stage is part of the journey.', w, 3),
      '',
      ...wrapLines(`This stage is not available yet in this version of boardkube. It is listed so you can see the whole way; it is never marked done.`, w, 4),
      '',
      ...wrapLines(stage.requires.length ? `It comes after: ${stage.requires.join(', ')}.` : '', w, 2),
    ];
    return (
      <Box flexDirection="column" width={w} height={H} overflow="hidden">
        {top}
        {lines.map((l, i) => (
          <Text key={i} wrap="truncate-end" {...tone(i > 3 ? 'muted' : undefined, colors)}>
            {l || ' '}
          </Text>
        ))}
      </Box>
    );
  }

  // Run status line with progress.
  const { done, total } = stageProgress(s);
  const barW = Math.max(5, Math.min(20, w - 40));
  const filled = total ? Math.round((done / total) * barW) : 0;
  const bar = `${'█'.repeat(filled)}${'░'.repeat(barW - filled)}`;
  const elapsed = s.run.startedAt ? seconds((s.run.endedAt ?? Date.now()) - s.run.startedAt) : '';
  const inRun = s.run.stages.includes(stage.id);
  const blockers = stage.requires.map((r) => s.stages.find((x) => x.id === r)!).filter((x) => x && x.status !== 'done');
  const statusText =
    s.run.state === 'running' && inRun
      ? `${s.run.reverify ? 're-checking' : 'running'} ${elapsed}`
      : s.run.state === 'cancelling'
        ? 'stopping: cancelling the running step…'
        : s.run.state === 'cancelled' && inRun
          ? 'stopped: progress saved; Enter runs it again'
          : s.run.state === 'failed' && (inRun || (s.run.stages.length === 0 && s.run.origin === stage.id))
            ? 'failed: Enter retries'
            : s.run.state === 'done' && inRun
              ? s.run.reverify
                ? 'checked again: still done'
                : `done in ${elapsed}`
              : stage.status === 'done'
                ? 'done: Enter checks it again'
                : blockers.length > 0
                  ? `needs ${blockers.map((b) => `${b.id}${b.status === 'unavailable' ? ' (not available yet)' : ''}`).join(', ')} first`
                  : 'Enter runs this stage';
  const stTone = s.run.state === 'failed' ? 'bad' : s.run.state === 'cancelled' || s.run.state === 'cancelling' ? 'warn' : s.run.state === 'done' ? 'ok' : 'accent';
  top.push(
    <Text key="status" wrap="truncate-end">
      {`${bar} ${done}/${total}  `}
      <Text {...tone(stTone, colors)}>{fit(statusText, Math.max(0, w - barW - 8 - String(total).length * 2))}</Text>
    </Text>,
  );
  const errLines: string[] = [];
  // An error shows on the stage it belongs to: the run's, or the one a refused run was started from.
  if (s.run.error && (inRun || (s.run.stages.length === 0 && s.run.origin === stage.id))) {
    errLines.push(...wrapLines(`✗ ${s.run.error}`, w, 3));
    if (s.run.fix) errLines.push(...wrapLines(`fix: ${s.run.fix}`, w, 2));
  }
  if (s.notice) errLines.push(...wrapLines(s.notice, w, 3));
  else {
    const allDone = everyStageDone(s);
    if (allDone) errLines.push(...wrapLines(allDone, w, 2));
  }
  if (stage.options.length > 0 && !s.optionsOpen) {
    const problem = s.optionProblems[stage.id];
    errLines.push(fit(optionsLine(stage, c.optionValues(stage.id), problem), w));
  }
  errLines.forEach((l, i) =>
    top.push(
      <Text key={`e${i}`} wrap="truncate-end" {...tone(l.startsWith('✗') ? 'bad' : l.startsWith('fix:') ? 'warn' : l.startsWith('Options') ? 'muted' : 'info', colors)}>
        {l}
      </Text>,
    ),
  );

  if (s.optionsOpen) {
    return (
      <Box flexDirection="column" width={w} height={H} overflow="hidden">
        {top}
        <StageOptions stage={stage} height={H - top.length} width={w} onClose={() => c.hideOptions()} />
      </Box>
    );
  }
  if (fullLog) {
    return (
      <Box flexDirection="column" width={w} height={H} overflow="hidden">
        {top}
        <LogPane height={H - top.length} width={w} scroll={logScroll} />
      </Box>
    );
  }
  if (s.commands) {
    const h = H - top.length;
    return (
      <Box flexDirection="column" width={w} height={H} overflow="hidden">
        {top}
        <CommandsView cv={s.commands} height={h} width={w} scroll={cmdScroll} />
      </Box>
    );
  }

  // The steps × boards grid, then the selected step: for configure's first step ("connect") the
  // connectivity table, otherwise what the step is for and each failing board with its fix.
  const sel = s.steps[s.selectedStep];
  const onlyConnect = stage.id === 'configure' && s.steps.length === 1 && s.steps[0]!.id === 'connect';
  const extra: ReactElement[] = [];
  // On the last step (where a run ends), what the stage has left the user with, and what to do next.
  const report = !running && s.selectedStep === s.steps.length - 1 && !sel?.cells.some((x) => x.status === 'failed') ? reportLines(s, stage, w) : [];
  if (report.length > 0) {
    report.forEach((l, i) =>
      extra.push(
        <Text key={`r${i}`} wrap="truncate-end" {...tone(l.tone, colors)}>
          {l.text}
        </Text>,
      ),
    );
  } else if (sel?.id === 'connect' && stage.id === 'configure') extra.push(...connectivityLines(s, sel, w, colors));
  else if (sel) {
    const detail: string[] = [...wrapLines(`${sel.title}: ${sel.explain}`, w, 2)];
    // Progress in full (bytes, MB/s, ETA), in the words of the headless output.
    for (const r of sel.cells.filter((x) => x.status === 'running' && x.progress)) {
      const text = progressText(r.progress!);
      if (text) detail.push(...wrapLines(`● ${r.node ?? 'cluster'}: ${text}`, w, 2));
    }
    const failed = sel.cells.filter((x) => x.status === 'failed' || x.failedChecks?.length);
    for (const f of failed.slice(0, 2)) {
      const msg = f.failedChecks?.length ? f.failedChecks.map((k) => `${k.what} (fix: ${k.fix})`).join('; ') : (f.error ?? 'failed');
      detail.push(...wrapLines(`✗ ${f.node ?? 'cluster'}: ${msg.replace(/^[a-z-]+\/[a-z-]+( on \S+)?: /, '')}`, w, 4));
      if (f.fix) detail.push(...wrapLines(`fix: ${f.fix}`, w, 3));
    }
    if (failed.length > 2) detail.push(`… and ${failed.length - 2} more boards failed (Tab shows each board's log)`);
    detail.forEach((l, i) =>
      extra.push(
        <Text key={`d${i}`} wrap="truncate-end" {...tone(l.startsWith('✗') ? 'bad' : l.startsWith('fix:') ? 'warn' : 'muted', colors)}>
          {l}
        </Text>,
      ),
    );
  }
  const LOG_MIN = 5;
  const avail = Math.max(0, H - top.length - LOG_MIN);
  const gridFull = onlyConnect ? 0 : s.steps.length + 1;
  let gridRows = gridFull;
  let extraRows = extra.length;
  if (gridRows + extraRows > avail) {
    gridRows = Math.min(gridFull, Math.max(Math.min(gridFull, 4), avail - extraRows));
    extraRows = Math.max(0, avail - gridRows);
  }
  const mid: ReactElement[] = [];
  const nodes = s.cluster?.nodes.map((n) => n.name) ?? [];
  const short = shortNames(nodes);
  const stepW = Math.min(16, Math.max(8, ...s.steps.map((x) => x.id.length + 3)));
  const cw = nodes.length ? Math.max(2, Math.floor((w - stepW) / nodes.length)) : w - stepW;
  if (gridRows > 0) {
    // A window of steps around the selected one when they do not all fit.
    const room = gridRows - 1;
    const first = Math.max(0, Math.min(s.selectedStep - Math.floor(room / 2), s.steps.length - room));
    const shown = s.steps.slice(first, first + room);
    const more = s.steps.length > room ? ` ${first > 0 ? '↑' : ' '}${first + room < s.steps.length ? '↓' : ' '}` : '';
    const anyPerNode = s.steps.some((st) => !(st.cells.length === 1 && st.cells[0]!.node === null));
    mid.push(
      <Text key="gh" bold wrap="truncate-end">
        {pad(`Step${more}`, stepW)}
        {anyPerNode ? short.map((n) => `${pad(abbreviate(n, Math.max(1, cw - 1)), Math.max(1, cw - 1))} `).join('') : 'once, for the whole cluster'}
      </Text>,
    );
    shown.forEach((st) => {
      const i = s.steps.indexOf(st);
      const selected = i === s.selectedStep;
      const perNode = !(st.cells.length === 1 && st.cells[0]!.node === null);
      mid.push(
        <Text key={`g${st.id}`} wrap="truncate-end" bold={selected}>
          {pad(`${selected ? '›' : ' '} ${st.id}`, stepW)}
          {perNode && st.cells.length === 0 ? (
            <Text bold={false} {...tone('muted', colors)}>
              {fit('– no board chosen for this step', w - stepW)}
            </Text>
          ) : perNode ? (
            nodes.map((n) => {
              const cell = st.cells.find((x) => x.node === n);
              return (
                <Text key={n} bold={false} {...tone(cell ? CELL_TONE[cell.status] : 'muted', colors)}>
                  {cellText(cell, cw)}
                </Text>
              );
            })
          ) : (
            <Text bold={false} {...tone(CELL_TONE[st.cells[0]!.status], colors)}>
              {fit(anyPerNode ? `${cellText(st.cells[0], 10).trim()} (once, for the whole cluster)` : cellText(st.cells[0], 12).trim(), w - stepW)}
            </Text>
          )}
        </Text>,
      );
    });
  }
  if (s.steps.length === 0) mid.push(<Text key="nosteps">{fit('This stage has no steps here.', w)}</Text>);
  // What does not fit is in the summary, in full.
  if (extra.length > extraRows && extraRows > 0) {
    mid.push(...extra.slice(0, extraRows - 1));
    mid.push(
      <Text key="more" wrap="truncate-end" {...tone('info', colors)}>
        {fit(`… ${extra.length - extraRows + 1} more lines: s shows the summary in full`, w)}
      </Text>,
    );
  } else mid.push(...extra.slice(0, extraRows));
  const finalLogH = H - top.length - mid.length;
  return (
    <Box flexDirection="column" width={w} height={H} overflow="hidden">
      {top}
      {mid}
      <LogPane height={finalLogH} width={w} scroll={logScroll} />
    </Box>
  );
}
