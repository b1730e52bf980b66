// A stage's answers (the CLI's --node, --device, --set NAME=VALUE): typed here, checked by the stage as they
// are typed, used by the next run. For a stage that writes cards, the block devices found are listed.
import { Box, Text, useInput } from 'ink';
import { useEffect, useRef, useState, type ReactElement } from 'react';
import type { StageView } from '../src/app/wizard.ts';
import { useController, useUi, useWizard } from './context.ts';
import { fit, pad, tone } from './theme.ts';
import { wrapLines } from './text.ts';

function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${bytes} B`;
}

export function optionsLine(stage: StageView, values: Record<string, string>, problem: { field: string; message: string } | undefined): string {
  if (problem) return `✗ options (o): ${problem.field ? `${problem.field} ` : ''}${problem.message}`;
  const set = stage.options.map((o) => `${o.name}=${values[o.name] || '—'}`).join('  ');
  return `Options (o): ${set}`;
}

export function StageOptions({ stage, height, width, onClose }: { stage: StageView; height: number; width: number; onClose: () => void }) {
  const c = useController();
  const s = useWizard();
  const { colors } = useUi();
  const focusRef = useRef(0);
  const [, redraw] = useState(0);
  const wantsDevice = stage.options.some((o) => o.name === 'device');
  useEffect(() => {
    if (wantsDevice) void c.listDisks();
  }, [c, wantsDevice]);
  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') return;
      const opts = stage.options;
      const i = Math.min(focusRef.current, opts.length - 1);
      const opt = opts[i];
      if (key.escape || key.return) return onClose();
      if (key.upArrow || key.downArrow || key.tab) {
        focusRef.current = Math.max(0, Math.min(opts.length - 1, i + (key.upArrow || (key.tab && key.shift) ? -1 : 1)));
        return redraw((n) => n + 1);
      }
      if (!opt) return;
      const value = c.optionValues(stage.id)[opt.name] ?? '';
      if (key.backspace || key.delete) return c.setStageOption(stage.id, opt.name, value.slice(0, -1));
      if (key.ctrl && input === 'u') return c.setStageOption(stage.id, opt.name, '');
      if (key.ctrl && input === 'r') return void c.listDisks();
      if (key.ctrl || key.meta) return;
      const text = input.replace(/[\r\n\t\x00-\x1f\x7f]/g, '');
      if (text) c.setStageOption(stage.id, opt.name, value + text);
    },
    { isActive: !s.dialog },
  );
  const values = c.optionValues(stage.id);
  const problem = s.optionProblems[stage.id];
  const focus = Math.min(focusRef.current, stage.options.length - 1);
  const nameW = Math.min(16, Math.max(6, ...stage.options.map((o) => o.name.length + 2)));
  const lines: ReactElement[] = [
    <Text key="t" bold wrap="truncate-end">
      {fit(`Options of ${stage.id} (type to answer; Enter or Esc: done)`, width)}
    </Text>,
  ];
  stage.options.forEach((o, i) => {
    const on = i === focus;
    lines.push(
      <Text key={o.name} wrap="truncate-end" bold={on}>
        {on ? '› ' : '  '}
        {pad(o.name, nameW)}
        {fit(on ? `[${values[o.name] ?? ''}▌]` : values[o.name] || '—', Math.max(4, width - nameW - 2))}
      </Text>,
    );
    if (on)
      for (const l of wrapLines(o.description + (o.default !== undefined ? ` (default: ${o.default})` : ''), width - 4, 3))
        lines.push(
          <Text key={`${o.name}-d-${l}`} wrap="truncate-end" {...tone('muted', colors)}>
            {`    ${l}`}
          </Text>,
        );
  });
  if (problem) {
    for (const l of wrapLines(`✗ ${problem.field ? `${problem.field}: ` : ''}${problem.message}`, width, 3))
      lines.push(
        <Text key={`p-${l}`} wrap="truncate-end" {...tone('bad', colors)}>
          {l}
        </Text>,
      );
    if (problem.fix)
      for (const l of wrapLines(`fix: ${problem.fix}`, width, 2))
        lines.push(
          <Text key={`f-${l}`} wrap="truncate-end" {...tone('warn', colors)}>
            {l}
          </Text>,
        );
  } else
    lines.push(
      <Text key="ok" wrap="truncate-end" {...tone('ok', colors)}>
        {fit('✓ the stage accepts these answers', width)}
      </Text>,
    );
  if (wantsDevice) {
    lines.push(
      <Text key="dh" bold wrap="truncate-end">
        {fit(`Block devices${s.mode === 'lab' ? ' (practice lab card readers)' : ''} (^R: look again)`, width)}
      </Text>,
    );
    const d = s.disks;
    if (!d || (d.loading && d.list.length === 0)) lines.push(<Text key="dl" {...tone('muted', colors)}>  looking…</Text>);
    else if (d.error) lines.push(<Text key="de" wrap="truncate-end" {...tone('bad', colors)}>{fit(`  ${d.error}`, width)}</Text>);
    else if (d.list.length === 0) lines.push(<Text key="dn" {...tone('muted', colors)}>  none found: put a card in a reader</Text>);
    for (const dev of d?.list ?? []) {
      const what = dev.system ? `never: ${dev.systemReason ?? 'this computer\'s own disk'}` : `${dev.model || 'disk'} (${dev.transport || '?'}${dev.removable ? ', removable' : ''}${dev.mountpoints.length ? ', mounted' : ''})`;
      lines.push(
        <Text key={dev.path} wrap="truncate-end" {...tone(dev.system ? 'muted' : undefined, colors)}>
          {fit(`  ${pad(dev.path, 14)}${pad(size(dev.sizeBytes), 10)}${what}`, width)}
        </Text>,
      );
    }
  }
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {lines.slice(0, height)}
    </Box>
  );
}
