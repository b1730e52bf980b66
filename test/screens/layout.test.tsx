// Every screen fits 80x24: no line wider than 80 columns, no more than 24 lines.
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { KEY, type Rendered, renderWizard, savedLabCluster, tempStateDir, useScreenTests, waitFor } from './helpers.tsx';


let ui: Rendered | undefined;
useScreenTests();

function expectFits(frame: string, where: string, columns = 80, rows = 24): void {
  const lines = frame.split('\n');
  expect(lines.length, `${where}: ${lines.length} lines`).toBeLessThanOrEqual(rows);
  for (const l of lines) expect(stringWidth(l), `${where}: "${l}"`).toBeLessThanOrEqual(columns);
}

describe('80x24', () => {
  it('welcome, inventory (with an error), stage, commands, summary and the questions all fit', async () => {
    const t = tempStateDir();
    await savedLabCluster(t.dir, 'homelab', { run: true });
    await savedLabCluster(t.dir, 'second-cluster-with-a-long-name');
    ui = renderWizard({ stateDir: t.dir }, { columns: 80, rows: 24 });
    expectFits(await ui.waitForText('Saved clusters (2)'), 'welcome');
    expectFits(await ui.waitForText('readonly'), 'welcome with stages');

    await ui.press('l', 'Inventory: your boards');
    expectFits(await ui.waitForText(/✓ (created|found)/), 'inventory');
    await ui.pressUntil(KEY.down, (f) => f.includes('› [n2-worker1▌]'));
    await ui.pressUntil(KEY.tab, (f) => f.includes('[192.168.1.41▌]'));
    ui.write('9');
    expectFits(await ui.waitForText('"192.168.1.419" is not an'), 'inventory with an inline error');
    expectFits(await ui.pressUntil(KEY.down, (f) => f.includes('› Continue')), 'inventory scrolled to the end');
    // Continue refuses and goes back to the field with the problem.
    await ui.press(KEY.enter, '[192.168.1.419▌]');
    await ui.pressUntil(KEY.backspace, (f) => !f.includes('is not an'));
    expectFits(ui.frame(), 'inventory corrected');
    await ui.pressUntil(KEY.down, (f) => f.includes('› Continue'));
    expectFits(await ui.press(KEY.enter, 'Enter runs this stage'), 'flash before the run');
    expectFits(await ui.press('o', 'Options of flash'), 'flash options');
    ui.write(KEY.escape);
    await waitFor(() => !ui!.frame().includes('Options of flash'), 'the options panel to close');
    expect(ui.frame()).toMatch(/✗ options \(o\): --node is missing/);
    expectFits(await ui.press('2', 'configure: Configure the boards'), 'stage before the run');
    expectFits(await ui.press(KEY.enter, /done in \d:\d\d|failed: Enter retries/, 15_000), 'stage after the run');
    expectFits(await ui.press('c', 'Commands of'), 'show commands');
    await ui.press(KEY.escape, /log: /);
    expectFits(await ui.pressUntil(KEY.up, (f) => f.includes('Connectivity: reach every board')), 'connectivity');
    expectFits(await ui.press('9', 'ci: CI on the cluster'), 'the ci stage');
    expectFits(await ui.press('o', 'Options of ci'), 'the ci options (the most of any stage)');
    ui.write(KEY.escape);
    await waitFor(() => !ui!.frame().includes('Options of ci'), 'the options panel to close');
    expectFits(await ui.press('s', 'Summary: lab'), 'summary');
  });

  it('Ctrl+C question fits', async () => {
    const t = tempStateDir();
    await savedLabCluster(t.dir, 'slowlab');
    process.env.BOARDKUBE_LAB_SPEED = '30';
    ui = renderWizard({ stateDir: t.dir }, { columns: 80, rows: 24 });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume slowlab'));
    await ui.press(KEY.enter, 'Enter runs this stage');
    await ui.press('2', 'configure: Configure the boards');
    expectFits(await ui.press(KEY.enter, /running \d:\d\d/), 'running');
    expectFits(await ui.press(KEY.ctrlC, 'Stop after cancelling the running step? y/n'), 'the question');
    await ui.press('y', 'stopped: progress saved');
    process.env.BOARDKUBE_LAB_SPEED = '0';
  });

  it('a narrow terminal (60x20) still fits the welcome and the inventory', async () => {
    const t = tempStateDir();
    ui = renderWizard({ stateDir: t.dir }, { columns: 60, rows: 20 });
    expectFits(await ui.waitForText('No saved clusters yet'), 'narrow welcome', 60, 20);
    expectFits(await ui.press('l', 'Inventory'), 'narrow inventory', 60, 20);
  });
});
