// Text with a tone that disappears under NO_COLOR; always a single line cut to its box unless `wrap`.
import { Text } from 'ink';
import type { ReactNode } from 'react';
import { useUi } from '../context.ts';
import { tone, type Tone } from '../theme.ts';

export function T(props: { tone?: Tone; bold?: boolean; inverse?: boolean; wrap?: boolean; children?: ReactNode }) {
  const { colors } = useUi();
  return (
    <Text {...tone(props.tone, colors)} bold={props.bold} inverse={colors ? props.inverse : undefined} wrap={props.wrap ? 'wrap' : 'truncate-end'}>
      {props.children}
    </Text>
  );
}
