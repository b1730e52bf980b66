// Summary: where the journey stands, what each stage has left you with and what to do next, and where the
// cluster file, the progress and the log live. Everything wraps (nothing is cut off); ↑↓/PgUp/PgDn scroll.
import { Box, Text, useInput } from 'ink';
import { useState } from 'react';
import { useController, useUi, useWizard } from './context.ts';
import { reportLines, type ReportLine } from './report.ts';
import { stageWord } from './theme.ts';
import { wrapLine, wrapLines } from './text.ts';
import { tone } from './theme.ts';

export function Summary() {
  const c = useController();
  const s = useWizard();
  const { colors, layout } = useUi();
  const [scroll, setScroll] = useState(0);
  const w = layout.main;
  const cl = s.cluster;
  const lines: ReportLine[] = [];
  const add = (text: string, t?: ReportLine['tone']) => lines.push({ text, tone: t });
  const done = s.stages.filter((x) => x.status === 'done').length;
  const available = s.stages.filter((x) => x.status !== 'unavailable').length;
  const workers = cl?.nodes.filter((n) => n.role === 'worker').length ?? 0;
  const pinned = Object.keys(s.hostKeys).length;
  for (const l of wrapLines(`${done} of ${available} available stages done · ${cl ? `${cl.nodes.length} boards (1 control plane, ${workers} workers), Kubernetes ${cl.kubernetesVersion}` : ''} · ${pinned} host keys pinned`, w)) add(l);
  add('');
  for (const st of s.stages) {
    const wd = stageWord(st.status, false);
    add(`${st.id.padEnd(14)}${wd.glyph} ${wd.word}`, st.status === 'done' ? 'ok' : 'muted');
    for (const l of reportLines(s, st, w - 2)) lines.push({ text: `  ${l.text}`, tone: l.tone });
  }
  add('');
  const files: Array<[string, string | undefined]> = [
    ['cluster file', s.clusterFile],
    ['progress', s.statePath],
    ['run log', s.logPath],
  ];
  for (const [k, v] of files) for (const [i, l] of wrapLine(v ?? '—', w - 16).entries()) add(`${(i === 0 ? k : '').padEnd(16)}${l}`);
  if (cl) {
    add('');
    for (const l of wrapLines(`Headless: boardkube status -f ${s.clusterFile ?? 'FILE'}${s.mode === 'lab' ? ' --lab' : ''}`, w)) add(l, 'muted');
  }
  const height = Math.max(3, layout.body - 1);
  const max = Math.max(0, lines.length - height);
  useInput(
    (input, key) => {
      if (key.ctrl) return;
      if (key.escape || key.return) c.showScreen(s.cluster ? 'stage' : 'welcome');
      else if (key.upArrow) setScroll((v) => Math.max(0, v - 1));
      else if (key.downArrow) setScroll((v) => Math.min(max, v + 1));
      else if (key.pageUp) setScroll((v) => Math.max(0, v - (height - 2)));
      else if (key.pageDown) setScroll((v) => Math.min(max, v + (height - 2)));
      else if (input === 'v') void c.reverify();
      else if (input === 'i') c.editInventory();
      else if (input === 'q') c.interrupt();
    },
    { isActive: s.screen === 'summary' && !s.dialog },
  );
  const top = Math.min(scroll, max);
  const more = max > 0 ? ` (${top + height < lines.length ? '↓ more' : 'end'})` : '';
  return (
    <Box flexDirection="column" width={w} height={layout.body} overflow="hidden">
      <Text bold wrap="truncate-end" {...tone('accent', colors)}>{`Summary: ${cl?.name ?? 'no cluster open'}${more}`}</Text>
      {lines.slice(top, top + height).map((l, i) => (
        <Text key={i} wrap="truncate-end" {...tone(l.tone, colors)}>
          {l.text || ' '}
        </Text>
      ))}
    </Box>
  );
}
