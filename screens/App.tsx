// The full-screen shell: header, sidebar (inventory + the ten stages), main panel, key hints. Redraws on
// resize (useWindowSize); honours NO_COLOR; Ctrl+C asks before stopping a running step.
import { Box, Text, useInput, useWindowSize } from 'ink';
import { useEffect, useMemo } from 'react';
import type { WizardController, WizardSnapshot } from '../src/app/wizard.ts';
import { ControllerContext, UiContext, useController, useUi, useWizard } from './context.ts';
import { Dialog } from './components/Dialog.tsx';
import { Header } from './components/Header.tsx';
import { Hints } from './components/Hints.tsx';
import { PasswordDialog } from './components/PasswordDialog.tsx';
import { ConfirmTypedDialog } from './components/ConfirmTypedDialog.tsx';
import { Sidebar } from './components/Sidebar.tsx';
import { T } from './components/T.tsx';
import { Inventory } from './Inventory.tsx';
import { StageScreen } from './Stage.tsx';
import { Summary } from './Summary.tsx';
import { colorsEnabled, layout as makeLayout } from './theme.ts';
import { Welcome } from './Welcome.tsx';

export interface AppProps {
  controller: WizardController;
  /** Fixed size (tests); otherwise the terminal's, following resizes. */
  size?: { columns: number; rows: number };
  colors?: boolean;
}

export function App({ controller, size, colors }: AppProps) {
  const win = useWindowSize();
  const columns = size?.columns ?? win.columns ?? 80;
  const rows = size?.rows ?? win.rows ?? 24;
  const ui = useMemo(() => ({ colors: colors ?? colorsEnabled(), layout: makeLayout(columns, rows) }), [colors, columns, rows]);
  useEffect(() => {
    // The slow look-ups start once the first frame is on screen.
    const t = setImmediate(() => {
      controller.start().catch(() => undefined);
    });
    return () => clearImmediate(t);
  }, [controller]);
  return (
    <ControllerContext.Provider value={controller}>
      <UiContext.Provider value={ui}>
        <Shell />
      </UiContext.Provider>
    </ControllerContext.Provider>
  );
}

export function hintsFor(s: WizardSnapshot): Array<[string, string]> {
  if (s.dialog?.kind === 'confirm-cancel') return [['y', 'stop after cancelling the step'], ['n', 'keep going']];
  if (s.dialog?.kind === 'corrupt') return [['y', 'start fresh (a copy is kept)'], ['n', 'back']];
  if (s.dialog?.kind === 'sudo-password') return [['Enter', 'use it'], ['Esc', 'cancel']];
  if (s.dialog?.kind === 'confirm-typed') return [['type', `the name (${s.dialog.expect})`], ['Enter', 'erase and write'], ['Esc', 'back, nothing touched']];
  if (s.dialog?.kind === 'cluster-busy') return [['w', 'watch its progress (read-only)'], ['Esc', 'back']];
  if (s.dialog?.kind === 'confirm-reset') return [['y', `reset ${s.dialog.boards.length === 1 ? 'the board' : `the ${s.dialog.boards.length} boards`}`], ['n/Esc', 'back, nothing touched']];
  const running = s.run.state === 'running' || s.run.state === 'cancelling';
  switch (s.screen) {
    case 'welcome':
      return [['↑↓', 'choose'], ['Enter', 'open'], ['v', 're-verify'], ['n', 'new'], ['l', 'practice lab'], ['q', 'quit']];
    case 'inventory':
      return [['↑↓/Tab', 'field'], ['type', 'edit'], ['←→', 'choose'], ['Enter', 'next'], ['^N', 'add board'], ['^D', 'remove board'], ['Esc', 'back'], ['^C', 'quit']];
    case 'summary':
      return [['↑↓/PgUp/PgDn', 'scroll'], ['Esc', 'back to stages'], ['v', 're-verify'], ['i', 'inventory'], ['q', 'quit']];
    case 'stage':
      if (s.commands) return [['↑↓/PgUp/PgDn', 'scroll'], ['Esc/c', 'close']];
      if (s.optionsOpen) return [['Tab', 'next answer'], ['↑↓', 'choose'], ['Enter', 'take it'], ['Space', 'add another card'], ['type', 'edit'], ['^R', 'look for cards'], ['Esc', 'done']];
      if (running) return [['^C', 'stop'], ['c', 'commands'], ['Tab', 'next board log'], ['l', 'full log'], ['PgUp/PgDn', 'scroll log'], ['↑↓', 'step']];
      // A stage that is not available yet: only the keys that do something there.
      if (s.stages.find((x) => x.id === s.currentStage)?.status === 'unavailable') return [['←→', 'stage'], ['i', 'inventory'], ['s', 'summary'], ['q', 'quit']];
      return [['Enter', 'run'], ['←→', 'stage'], ['↑↓', 'step'], ['c', 'commands'], ...(s.stages.find((x) => x.id === s.currentStage)?.options.length ? ([['o', 'options']] as Array<[string, string]>) : []), ['Tab', 'board log'], ['l', 'full log'], ['PgUp/PgDn', 'scroll'], ['v', 're-verify'], ...(s.stages.find((x) => x.id === s.currentStage)?.resetBoards ? ([['x', 'reset boards']] as Array<[string, string]>) : []), ['i', 'inventory'], ['s', 'summary'], ['p', 'sudo password'], ['q', 'quit']];
  }
}

function Shell() {
  const c = useController();
  const s = useWizard();
  const { layout } = useUi();
  useInput((input, key) => {
    if (key.ctrl && input === 'c') {
      c.interrupt();
      return;
    }
    const d = s.dialog;
    if (d?.kind === 'confirm-cancel') {
      if (input === 'y' || input === 'Y') void c.confirmCancel(true);
      else if (input === 'n' || input === 'N' || key.escape) void c.confirmCancel(false);
      return;
    }
    if (d?.kind === 'corrupt') {
      if (input === 'y' || input === 'Y') void c.freshStart();
      else if (input === 'n' || input === 'N' || key.escape) c.cancelDialog();
    }
    if (d?.kind === 'confirm-reset') {
      if (input === 'y' || input === 'Y') void c.confirmReset(true);
      else if (input === 'n' || input === 'N' || key.escape) void c.confirmReset(false);
      return;
    }
    if (d?.kind === 'cluster-busy') {
      if (input === 'w' || input === 'W') void c.watchOtherRun();
      else if (key.escape) c.cancelDialog();
    }
  });
  const main = layout.main;
  let panel;
  if (s.dialog?.kind === 'sudo-password') panel = <PasswordDialog width={main} />;
  else if (s.dialog?.kind === 'confirm-typed') panel = <ConfirmTypedDialog width={main} />;
  else if (s.dialog?.kind === 'confirm-cancel') {
    panel = (
      <Dialog title="Stop after cancelling the running step? y/n" width={main}>
        <T wrap>The step that is running now is cancelled and recorded as cut off; everything finished so far stays saved, and the step runs again when you resume.</T>
      </Dialog>
    );
  } else if (s.dialog?.kind === 'corrupt') {
    panel = (
      <Dialog title={`The saved progress of "${s.dialog.cluster}" cannot be read`} width={main} t="bad">
        <T wrap>{s.dialog.reason}</T>
        <T wrap>{`File: ${s.dialog.path}`}</T>
        <Text> </Text>
        <T wrap bold>
          Start fresh? A copy of the unreadable file is kept beside it. y/n
        </T>
      </Dialog>
    );
  } else if (s.dialog?.kind === 'confirm-reset') {
    const d = s.dialog;
    panel = (
      <Dialog title={`Reset ${d.boards.join(', ')} on ${d.where}? y/n`} width={main} t="bad">
        <T wrap>{`This undoes ${d.stage === 'control-plane' ? 'the cluster: every stage after packages' : 'the workers stage on these boards'}. What will be done:`}</T>
        {d.actions.map((a, i) => (
          <T key={i} wrap>{`• ${a}`}</T>
        ))}
        <Text> </Text>
        <T wrap>{`The packages stay installed: the boards are back to "packages done", and ${d.stage} can run again. n or Esc goes back; nothing is touched.`}</T>
      </Dialog>
    );
  } else if (s.dialog?.kind === 'cluster-busy') {
    panel = (
      <Dialog title={`Another run is working on "${s.dialog.cluster}"`} width={main}>
        <T wrap>{s.dialog.who}</T>
        <Text> </Text>
        <T wrap>Nothing was started: one run at a time works on a cluster. Wait for it to end, or press w to watch its progress here, read-only, until it ends.</T>
      </Dialog>
    );
  } else if (s.screen === 'welcome') panel = <Welcome />;
  else if (s.screen === 'inventory') panel = <Inventory />;
  else if (s.screen === 'summary') panel = <Summary />;
  else panel = <StageScreen />;
  return (
    <Box flexDirection="column" width={layout.columns} height={layout.rows}>
      <Header />
      <Box flexDirection="row" height={layout.body} width={layout.columns}>
        {layout.sidebar > 0 ? (
          <Box borderStyle="single" borderTop={false} borderBottom={false} borderLeft={false} width={layout.sidebar + 1} height={layout.body}>
            <Sidebar />
          </Box>
        ) : null}
        <Box flexDirection="column" width={main + 2} height={layout.body} paddingX={1} overflow="hidden">
          {panel}
        </Box>
      </Box>
      <Hints keys={hintsFor(s)} />
    </Box>
  );
}
