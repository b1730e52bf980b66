// The log of one board: the last lines of its bounded ring buffer, scrollable (the full log is in the run log).
// Long lines wrap: what a board or a step says (the next thing to do, a proof table) is never cut off.
import { Box, Text } from 'ink';
import { useController, useUi, useWizard } from '../context.ts';
import { fit, tone } from '../theme.ts';
import { wrapLine } from '../text.ts';

export function LogPane({ height, width, scroll }: { height: number; width: number; scroll: number }) {
  const c = useController();
  const s = useWizard();
  const { colors } = useUi();
  if (height < 2) return null;
  const host = s.logHost;
  const { lines: raw, total, dropped } = c.logWindow(host, height - 1, scroll);
  // Each line wraps (continuation rows indented); the newest rows fill the pane.
  const rows = raw.flatMap((l) => wrapLine(l, Math.max(8, width - 2)).map((part, i) => ({ text: i === 0 ? part : `  ${part}`, first: l })));
  const lines = rows.slice(Math.max(0, rows.length - (height - 1)));
  const where = scroll > 0 ? ` · ${scroll} lines up` : '';
  const title = `─ log: ${host || 'none'} (${total}${dropped ? `, ${dropped} older in the run log` : ''})${where} `;
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text wrap="truncate-end" {...tone('muted', colors)}>
        {fit(title + '─'.repeat(Math.max(0, width - title.length)), width)}
      </Text>
      {lines.length === 0 ? (
        <Text wrap="truncate-end" {...tone('muted', colors)}>
          {fit('  nothing yet: run the stage (Enter) to see what the board says', width)}
        </Text>
      ) : (
        lines.map((l, i) => (
          <Text key={i} wrap="truncate-end" {...tone(l.first.startsWith('✗') ? 'bad' : l.first.startsWith('✓') ? 'ok' : l.first.startsWith('next:') ? 'info' : undefined, colors)}>
            {fit(l.text, width)}
          </Text>
        ))
      )}
    </Box>
  );
}
