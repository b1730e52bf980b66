// Connectivity: the configure stage's first step, "connect". One line per board: reached or not, and the
// host key fingerprint pinned on first use (a different key later is refused).
import { Text } from 'ink';
import type { ReactElement } from 'react';
import type { StepView, WizardSnapshot } from '../src/app/wizard.ts';
import { CELL_TONE, CELL_WORD, GLYPH, fit, pad, tone } from './theme.ts';

export function connectivityLines(s: WizardSnapshot, step: StepView, w: number, colors: boolean): ReactElement[] {
  const nodes = s.cluster?.nodes ?? [];
  const out: ReactElement[] = [
    <Text key="ch" bold wrap="truncate-end">
      {fit('Connectivity: reach every board, pin its host key', w)}
    </Text>,
  ];
  const nameW = Math.min(14, Math.max(6, ...nodes.map((n) => n.name.length + 1)));
  for (const n of nodes) {
    const cell = step.cells.find((c) => c.node === n.name) ?? { node: n.name, status: 'pending' as const };
    const key = s.hostKeys[n.name];
    const out2 = cell.outputs ?? {};
    let result = CELL_WORD[cell.status];
    if ((cell.status === 'done' || cell.status === 'verified') && typeof out2.kernel === 'string') result = `${result}`;
    const rest = key ? key.fingerprint : cell.status === 'failed' ? (cell.error ?? '') : cell.status === 'running' ? 'connecting…' : 'no key pinned yet';
    const left = `${GLYPH[cell.status]} ${pad(n.name, nameW)}${pad(n.address, 15)}${pad(result, 8)}`;
    out.push(
      <Text key={`c-${n.name}`} wrap="truncate-end">
        <Text {...tone(CELL_TONE[cell.status], colors)}>{fit(left, w)}</Text>
        <Text {...tone(key ? undefined : cell.status === 'failed' ? 'bad' : 'muted', colors)}>{fit(rest, Math.max(0, w - left.length))}</Text>
      </Text>,
    );
  }
  return out;
}
