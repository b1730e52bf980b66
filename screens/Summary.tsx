// Summary: where the journey stands, and where the cluster file, the progress and the logs live.
import { Box, Text, useInput } from 'ink';
import { useController, useUi, useWizard } from './context.ts';
import { T } from './components/T.tsx';
import { fit, pad, stageWord, tone } from './theme.ts';

export function Summary() {
  const c = useController();
  const s = useWizard();
  const { colors, layout } = useUi();
  useInput(
    (input, key) => {
      if (key.ctrl) return;
      if (key.escape || key.return) c.showScreen(s.cluster ? 'stage' : 'welcome');
      else if (input === 'v') void c.reverify();
      else if (input === 'i') c.editInventory();
      else if (input === 'q') c.interrupt();
    },
    { isActive: s.screen === 'summary' && !s.dialog },
  );
  const w = layout.main;
  const cl = s.cluster;
  const done = s.stages.filter((x) => x.status === 'done').length;
  const available = s.stages.filter((x) => x.status !== 'unavailable').length;
  const workers = cl?.nodes.filter((n) => n.role === 'worker').length ?? 0;
  const pinned = Object.keys(s.hostKeys).length;
  const files: Array<[string, string | undefined]> = [
    ['cluster file', s.clusterFile],
    ['progress', s.statePath],
    ['run log', s.logPath],
  ];
  return (
    <Box flexDirection="column" width={w}>
      <T bold tone="accent">{`Summary: ${cl?.name ?? 'no cluster open'}`}</T>
      <T>{`${done} of ${available} available stages done · ${cl ? `${cl.nodes.length} boards (1 control plane, ${workers} workers)` : ''} · ${pinned} host keys pinned`}</T>
      <Text> </Text>
      {s.stages.map((st) => {
        const wd = stageWord(st.status, false);
        return (
          <Text key={st.id} wrap="truncate-end">
            {pad(`  ${st.id}`, 16)}
            <Text {...tone(wd.tone, colors)}>{fit(`${wd.glyph} ${wd.word}`, w - 16)}</Text>
          </Text>
        );
      })}
      <Text> </Text>
      {files.map(([k, v]) => (
        <Text key={k} wrap="truncate-end">
          {pad(`  ${k}`, 16)}
          {fit(v ?? '—', w - 16)}
        </Text>
      ))}
      <Text> </Text>
      <T tone="muted" wrap>
        {cl ? `Headless: boardkube status -f ${s.clusterFile ?? 'FILE'}${s.mode === 'lab' ? ' --lab' : ''}` : ''}
      </T>
    </Box>
  );
}
