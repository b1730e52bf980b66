// The journey: inventory, then the ten stages with their status. Stages that are not built yet say so on
// their own line ("not available yet"), never "done". On short terminals that line folds into the status.
import { Box, Text } from 'ink';
import { useUi, useWizard } from '../context.ts';
import type { ReactElement } from 'react';
import { fit, pad, stageWord, tone } from '../theme.ts';

export function Sidebar() {
  const s = useWizard();
  const { colors, layout } = useUi();
  const w = layout.sidebar;
  const unavailable = s.stages.filter((x) => x.status === 'unavailable').length;
  const twoLine = layout.body >= 2 + s.stages.length + unavailable;
  const inv = s.cluster ? { g: '✓', word: 'saved', t: 'ok' as const } : s.screen === 'inventory' ? { g: '✎', word: 'editing', t: 'accent' as const } : { g: '○', word: '', t: 'muted' as const };
  const runningStages = s.run.state === 'running' || s.run.state === 'cancelling' ? s.run.stages : [];
  const onStages = s.screen === 'stage';
  const lines: ReactElement[] = [];
  lines.push(
    <Text key="inv" wrap="truncate-end" bold={s.screen === 'inventory'} inverse={colors && s.screen === 'inventory'}>
      {s.screen === 'inventory' ? '›' : ' '} {pad('Inventory', w - 13)}
      <Text {...tone(inv.t, colors)}>{pad(`${inv.g} ${inv.word}`, 10)}</Text>
    </Text>,
  );
  lines.push(
    <Text key="head" wrap="truncate-end" {...tone('muted', colors)}>
      {fit('  Stages', w)}
    </Text>,
  );
  for (const st of s.stages) {
    const sel = onStages && st.id === s.currentStage;
    const word = stageWord(st.status, runningStages.includes(st.id));
    const inlineWord = st.status === 'unavailable' ? (twoLine ? '' : 'not yet') : word.word;
    lines.push(
      <Text key={st.id} wrap="truncate-end" bold={sel} inverse={colors && sel}>
        {sel ? '›' : ' '} {pad(st.id, w - 11)}
        <Text {...tone(word.tone, colors)}>{pad(`${word.glyph} ${inlineWord}`, 9)}</Text>
      </Text>,
    );
    if (st.status === 'unavailable' && twoLine) {
      lines.push(
        <Text key={`${st.id}-na`} wrap="truncate-end" {...tone('muted', colors)}>
          {fit('    not available yet', w)}
        </Text>,
      );
    }
  }
  return (
    <Box flexDirection="column" width={w} height={layout.body} overflow="hidden">
      {lines}
    </Box>
  );
}
