// A stage's answers (the CLI's --node, --device, --set NAME=VALUE): checked by the stage as they are given,
// used by the next run. An answer with a known set of values (a board, a listed card reader, yes/no, a scope) is
// chosen from a list (ink-select-input); the rest are typed. A confirmation (flash's "yes") is not here: the
// run asks for the device's name to be typed.
import { Box, Text, useInput } from 'ink';
import SelectInput from 'ink-select-input';
import { useEffect, useRef, useState, type ReactElement } from 'react';
import type { StageView } from '../src/app/wizard.ts';
import { optionChoices, panelOptions, type OptionChoice } from '../src/app/wizard/options.ts';
import { bytesText } from '../src/util/progress.ts';
import { useController, useUi, useWizard } from './context.ts';
import { fit, pad, tone } from './theme.ts';
import { wrapLines } from './text.ts';

export function optionsLine(stage: StageView, values: Record<string, string>, problem: { field: string; message: string } | undefined): string {
  if (problem) return `✗ options (o): ${problem.field ? `${problem.field} ` : ''}${problem.message}`;
  const set = panelOptions(stage.options)
    .map((o) => `${o.name}=${values[o.name] || '—'}`)
    .join('  ');
  return `Options (o): ${set}`;
}

const listOf = (v: string) =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** Several cards at once: Space adds the highlighted board (or device) to the list, or takes it out. */
export function toggled(value: string, item: string): string {
  const list = listOf(value);
  return (list.includes(item) ? list.filter((x) => x !== item) : [...list, item]).join(',');
}

const MULTI = new Set(['nodes', 'devices']);

export function StageOptions({ stage, height, width, onClose }: { stage: StageView; height: number; width: number; onClose: () => void }) {
  const c = useController();
  const s = useWizard();
  const { colors } = useUi();
  const options = panelOptions(stage.options);
  const focusRef = useRef(0);
  // The value highlighted in the open list, and whether the name after a "prefix:" choice is being typed.
  const highlighted = useRef<string | undefined>(undefined);
  const [typingSuffix, setTypingSuffix] = useState(false);
  const [, redraw] = useState(0);
  const wantsDevice = options.some((o) => o.choices === 'devices');
  useEffect(() => {
    if (wantsDevice) void c.listDisks();
  }, [c, wantsDevice]);
  const focus = Math.min(focusRef.current, options.length - 1);
  const opt = options[focus];
  const choices = opt ? optionChoices(opt, s) : undefined;
  const listOpen = Boolean(choices) && !typingSuffix;
  const values = c.optionValues(stage.id);

  const move = (dir: 1 | -1) => {
    focusRef.current = Math.max(0, Math.min(options.length - 1, focus + dir));
    highlighted.current = undefined;
    setTypingSuffix(false);
    redraw((n) => n + 1);
  };
  const next = () => (focus >= options.length - 1 ? onClose() : move(1));
  const take = (item: OptionChoice) => {
    if (!opt) return;
    const current = values[opt.name] ?? '';
    // A list built with Space stays; otherwise the highlighted value is the answer.
    if (MULTI.has(String(opt.choices)) && listOf(current).length > 1 && listOf(current).includes(item.value)) return next();
    c.setStageOption(stage.id, opt.name, item.value);
    if (item.value.endsWith(':')) return setTypingSuffix(true);
    next();
  };

  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') return;
      if (key.escape) return onClose();
      if (key.tab) return move(key.shift ? -1 : 1);
      if (key.ctrl && input === 'r') return void c.listDisks();
      if (!opt) return;
      const value = c.optionValues(stage.id)[opt.name] ?? '';
      if (listOpen) {
        // ↑↓ and Enter belong to the list; Space adds or removes the highlighted board or device.
        if (input === ' ' && MULTI.has(String(opt.choices)) && highlighted.current) c.setStageOption(stage.id, opt.name, toggled(value, highlighted.current));
        return;
      }
      if (key.upArrow || key.downArrow) return move(key.upArrow ? -1 : 1);
      if (key.return) return next();
      if (key.backspace || key.delete) return c.setStageOption(stage.id, opt.name, value.slice(0, -1));
      if (key.ctrl && input === 'u') return c.setStageOption(stage.id, opt.name, '');
      if (key.ctrl || key.meta) return;
      const text = input.replace(/[\r\n\t\x00-\x1f\x7f]/g, '');
      if (text) c.setStageOption(stage.id, opt.name, value + text);
    },
    { isActive: !s.dialog },
  );

  const problem = s.optionProblems[stage.id];
  const nameW = Math.min(16, Math.max(6, ...options.map((o) => o.name.length + 2)));
  const lines: ReactElement[] = [
    <Text key="t" bold wrap="truncate-end">
      {fit(`Options of ${stage.id} (Tab: next answer; ${listOpen ? '↑↓ choose, Enter takes it' : 'type to answer'}; Esc: done)`, width)}
    </Text>,
  ];
  options.forEach((o, i) => {
    const on = i === focus;
    const v = values[o.name] ?? '';
    const shown = o.choices === 'yes-no' ? (v === 'true' ? 'yes' : 'no') : v;
    lines.push(
      <Text key={o.name} wrap="truncate-end" bold={on}>
        {on ? '› ' : '  '}
        {pad(o.name, nameW)}
        {fit(on && !listOpen ? `[${shown}▌]` : shown || '—', Math.max(4, width - nameW - 2))}
      </Text>,
    );
    if (!on) return;
    if (listOpen && choices) {
      const multi = MULTI.has(String(o.choices));
      const chosen = new Set(listOf(v));
      if (choices.length === 0) {
        lines.push(
          <Text key={`${o.name}-none`} {...tone('muted', colors)}>
            {o.choices === 'devices' ? (s.disks?.loading ? '    looking for card readers…' : '    none found: put a card in a reader, then ^R') : '    nothing to choose from'}
          </Text>,
        );
      } else {
        const initial = Math.max(0, choices.findIndex((x) => x.value === listOf(v)[0] || x.value === v));
        lines.push(
          <Box key={`${o.name}-list-${choices.length}`} paddingLeft={4} flexDirection="column">
            <SelectInput
              items={choices.map((x) => ({ key: x.value, label: `${chosen.has(x.value) ? '✓' : ' '} ${fit(x.label, Math.max(8, width - 10))}`, value: x.value }))}
              initialIndex={initial}
              limit={Math.max(2, Math.min(choices.length, height - options.length - 6))}
              isFocused={!s.dialog}
              onHighlight={(item) => (highlighted.current = item.value)}
              onSelect={(item) => take({ label: item.label, value: item.value })}
            />
          </Box>,
        );
        if (multi) lines.push(<Text key={`${o.name}-multi`} {...tone('muted', colors)}>{fit('    Space: add or remove one (several cards at once)', width)}</Text>);
      }
    }
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
  // Disks that are never offered, and why (this computer's own disk ...).
  if (wantsDevice) {
    for (const dev of (s.disks?.list ?? []).filter((d) => d.system)) {
      lines.push(
        <Text key={dev.path} wrap="truncate-end" {...tone('muted', colors)}>
          {fit(`  never ${pad(dev.path, 14)}${pad(bytesText(dev.sizeBytes), 10)}${dev.systemReason ?? "this computer's own disk"}`, width)}
        </Text>,
      );
    }
    if (s.disks?.error) lines.push(<Text key="de" wrap="truncate-end" {...tone('bad', colors)}>{fit(`  ${s.disks.error}`, width)}</Text>);
  }
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {lines}
    </Box>
  );
}
