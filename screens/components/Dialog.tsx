// A question in a frame over the main panel.
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { useUi } from '../context.ts';
import { tone, type Tone } from '../theme.ts';

export function Dialog({ title, children, width, t = 'warn' }: { title: string; children: ReactNode; width: number; t?: Tone }) {
  const { colors } = useUi();
  return (
    <Box flexDirection="column" borderStyle="round" {...(colors ? { borderColor: t === 'bad' ? 'red' : 'yellow' } : {})} width={width} paddingX={1}>
      <Text bold {...tone(t, colors)} wrap="wrap">
        {title}
      </Text>
      {children}
    </Box>
  );
}
