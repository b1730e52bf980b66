// The log of one board: the last lines of its bounded ring buffer, scrollable (the full log is in the run log).
import { Box, Text } from 'ink';
import { useController, useUi, useWizard } from '../context.ts';
import { fit, tone } from '../theme.ts';

export function LogPane({ height, width, scroll }: { height: number; width: number; scroll: number }) {
  const c = useController();
  const s = useWizard();
  const { colors } = useUi();
  if (height < 2) return null;
  const host = s.logHost;
  const { lines, total, dropped } = c.logWindow(host, height - 1, scroll);
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
          <Text key={i} wrap="truncate-end" {...tone(l.startsWith('✗') ? 'bad' : l.startsWith('✓') ? 'ok' : undefined, colors)}>
            {fit(l, width)}
          </Text>
        ))
      )}
    </Box>
  );
}
