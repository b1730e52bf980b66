// "Show commands": the current step's plan, action by action. The same list the run performs, wrapped so
// that every character of a command can be read, scrollable.
import { Box, Text } from 'ink';
import type { CommandsView as CV } from '../../src/app/wizard.ts';
import { useUi } from '../context.ts';
import { wrapLines } from '../text.ts';
import { fit, tone } from '../theme.ts';

type Line = { text: string; kind: 'head' | 'body' | 'note' };

export function commandLines(cv: CV, width = 80): Line[] {
  const out: Line[] = [];
  const push = (text: string, kind: Line['kind'], indent = '') => {
    // Commands keep their spacing: hard-wrap by width, not by words.
    if (kind === 'body') {
      const room = Math.max(8, width - indent.length);
      if (text === '') out.push({ text: indent, kind });
      for (let i = 0; i < text.length; i += room) out.push({ text: indent + text.slice(i, i + room), kind });
      return;
    }
    for (const l of wrapLines(text, Math.max(8, width - indent.length))) out.push({ text: indent + l, kind });
  };
  if (cv.loading) push('working out the plan…', 'note');
  if (cv.error) push(`cannot plan: ${cv.error}`, 'note');
  if (!cv.loading && !cv.error && cv.actions.length === 0) push('this step plans nothing here', 'note');
  for (const a of cv.actions) {
    push(`▸ ${a.node ?? 'this computer / the cluster'} · ${a.type}${a.sudo ? ' (as root)' : ''} · ${a.description}`, 'head');
    if (a.path) push(`path: ${a.path}${a.mode !== undefined ? ` (mode ${a.mode.toString(8)})` : ''}`, 'body', '  ');
    if (a.content) for (const line of a.content.replace(/\n$/, '').split('\n')) push(`${a.type === 'command' ? '$ ' : ''}${line}`, 'body', '  ');
  }
  return out;
}

export function CommandsView({ cv, height, width, scroll }: { cv: CV; height: number; width: number; scroll: number }) {
  const { colors } = useUi();
  const lines = commandLines(cv, width);
  const room = Math.max(1, height - 1);
  const visible = lines.slice(scroll, scroll + room);
  const more = lines.length > scroll + room ? ` · ↓ ${lines.length - scroll - room} more lines` : '';
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text bold wrap="truncate-end">
        {fit(`Commands of ${cv.step} (${cv.actions.length} actions)${more}`, width)}
      </Text>
      {visible.map((l, i) => (
        <Text key={i} wrap="truncate-end" bold={l.kind === 'head'} {...tone(l.kind === 'note' ? 'muted' : l.kind === 'head' ? 'accent' : undefined, colors)}>
          {l.text || ' '}
        </Text>
      ))}
    </Box>
  );
}
