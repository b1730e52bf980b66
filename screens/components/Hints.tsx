// Bottom line: the keys that work right now.
import { Box, Text } from 'ink';
import { useUi } from '../context.ts';
import { fit, tone } from '../theme.ts';

export function Hints({ keys }: { keys: Array<[string, string]> }) {
  const { colors, layout } = useUi();
  let text = '';
  for (const [k, what] of keys) {
    const part = `${text ? '  ' : ' '}${k} ${what}`;
    if ((text + part).length > layout.columns) break;
    text += part;
  }
  return (
    <Box width={layout.columns} height={1}>
      <Text wrap="truncate-end" {...tone('muted', colors)}>
        {fit(text, layout.columns)}
      </Text>
    </Box>
  );
}
