// "Show commands": the current step's plan, action by action. The same list the run performs.
import { Box, Text } from 'ink';
import type { CommandsView as CV } from '../../src/app/wizard.ts';
import { useUi } from '../context.ts';
import { fit, tone } from '../theme.ts';

export function commandLines(cv: CV): Array<{ text: string; kind: 'head' | 'body' | 'note' }> {
  const out: Array<{ text: string; kind: 'head' | 'body' | 'note' }> = [];
  if (cv.loading) out.push({ text: 'working out the plan…', kind: 'note' });
  if (cv.error) out.push({ text: `cannot plan: ${cv.error}`, kind: 'note' });
  if (!cv.loading && !cv.error && cv.actions.length === 0) out.push({ text: 'this step plans nothing here', kind: 'note' });
  for (const a of cv.actions) {
    out.push({ text: `${a.node ?? 'this computer / cluster'} · ${a.type}${a.sudo ? ' (root)' : ''} · ${a.description}`, kind: 'head' });
    if (a.path) out.push({ text: `  path: ${a.path}${a.mode !== undefined ? ` (mode ${a.mode.toString(8)})` : ''}`, kind: 'body' });
    for (const line of (a.content ?? '').split('\n')) if (line !== '' || a.content) out.push({ text: `  ${a.type === 'command' ? '$ ' : ''}${line}`, kind: 'body' });
  }
  return out;
}

export function CommandsView({ cv, height, width, scroll }: { cv: CV; height: number; width: number; scroll: number }) {
  const { colors } = useUi();
  const lines = commandLines(cv);
  const visible = lines.slice(scroll, scroll + Math.max(1, height - 1));
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text bold wrap="truncate-end">
        {fit(`Commands of ${cv.stage}/${cv.step}: ${cv.title} (${cv.actions.length} actions)`, width)}
      </Text>
      {visible.map((l, i) => (
        <Text key={i} wrap="truncate-end" bold={l.kind === 'head'} {...tone(l.kind === 'note' ? 'muted' : l.kind === 'head' ? 'accent' : undefined, colors)}>
          {fit(l.text, width)}
        </Text>
      ))}
    </Box>
  );
}
