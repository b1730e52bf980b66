import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateStore } from '../../src/engine/state.ts';
import type { StepRecord } from '../../src/engine/types.ts';
import { KEY, type Rendered, renderWizard, savedLabCluster, tempStateDir, useScreenTests, waitFor } from './helpers.tsx';

let ui: Rendered | undefined;
useScreenTests();

function steps(dir: string, name: string): Record<string, StepRecord> {
  return (JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { steps: Record<string, StepRecord> }).steps;
}

describe('resume and the stage screen', () => {
  it('resume: re-checks the boards already done (not re-run) and runs the cut-off one again', async () => {
    const t = tempStateDir();
    await savedLabCluster(t.dir, 'gamma', { run: true });
    // As after a kill mid-step: one board's step was still running.
    const store = StateStore.open(t.dir, 'gamma', { mode: 'lab' });
    store.setStep('configure/connect@n2-worker3', { status: 'running', startedAt: new Date().toISOString(), runs: 1 });
    ui = renderWizard({ stateDir: t.dir });
    await ui.waitForText(/practice lab · \d+ steps done · 1 cut off/);
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume gamma'));
    // Resume continues on its own.
    await ui.press(KEY.enter, /done in \d:\d\d|failed: Enter retries/, 15_000);
    const f = await ui.pressUntil(KEY.up, (fr) => fr.includes('Connectivity: reach every board'));
    expect(f).toMatch(/n2-worker3\s+192\.168\.1\.43\s+done/);
    expect(f).toMatch(/n2-master\s+192\.168\.1\.40\s+checked/);
    const recs = steps(t.dir, 'gamma');
    for (const n of ['n2-master', 'n2-worker1', 'n2-worker2', 'n2-worker4']) expect(recs[`configure/connect@${n}`]).toMatchObject({ status: 'done', runs: 1 });
    expect(recs['configure/connect@n2-worker3']).toMatchObject({ status: 'done', runs: 2 });
  });

  it('connectivity: runs the connect step, shows each board and its pinned host key; c shows the commands', async () => {
    const t = tempStateDir();
    await savedLabCluster(t.dir, 'delta');
    ui = renderWizard({ stateDir: t.dir });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume delta'));
    await ui.press(KEY.enter, 'Enter runs this stage');
    await ui.press('2', 'configure: Configure the boards');
    await ui.press(KEY.enter, /done in \d:\d\d|failed: Enter retries/, 15_000);
    const f = await ui.pressUntil(KEY.up, (fr) => fr.includes('Connectivity: reach every board'));
    const keys = ui.controller.getSnapshot().hostKeys;
    expect(Object.keys(keys)).toHaveLength(5);
    expect(f).toContain(keys['n2-master']!.fingerprint.slice(0, 20));
    expect(f).toMatch(/log: n2-master/);
    // The board's log keeps what it said (bounded ring buffer); the pane shows its newest lines.
    expect(ui.controller.logWindow('n2-master', 500).lines.some((l) => l.startsWith('host key ssh-ed25519'))).toBe(true);
    expect(f).toMatch(/✓ n2-worker4\s+192\.168\.1\.44\s+done/);
    const cmds = await ui.press('c', 'Commands of connect');
    expect(cmds).toContain('$ uname -m -r');
    expect(cmds).toContain('n2-worker4 · command');
    await ui.press(KEY.escape, /log: n2-master/);
    // Tab: the next board's log.
    await ui.press(KEY.tab, /log: n2-worker1/);
  });

  it('Ctrl+C mid-step asks first; "y" cancels the running step and leaves the progress consistent', async () => {
    const t = tempStateDir();
    await savedLabCluster(t.dir, 'eps');
    process.env.BOARDKUBE_LAB_SPEED = '30';
    ui = renderWizard({ stateDir: t.dir });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume eps'));
    await ui.press(KEY.enter, 'Enter runs this stage');
    await ui.press('2', 'configure: Configure the boards');
    await ui.press(KEY.enter, /running \d:\d\d/);
    await ui.press(KEY.ctrlC, 'Stop after cancelling the running step? y/n');
    // "n": nothing stops.
    await waitFor(() => !ui!.frame().includes('Stop after cancelling'), 'the question to go away', 2000).catch(() => undefined);
    ui.write('n');
    await waitFor(() => !ui!.frame().includes('Stop after cancelling'), 'the question to go away');
    expect(ui.controller.getSnapshot().run.state).toBe('running');
    await ui.press(KEY.ctrlC, 'Stop after cancelling the running step? y/n');
    await ui.press('y', 'stopped: progress saved');
    const recs = steps(t.dir, 'eps');
    expect(Object.values(recs).some((r) => r.status === 'running')).toBe(false);
    const connect = Object.entries(recs).filter(([k]) => k.startsWith('configure/connect@'));
    expect(connect).toHaveLength(5);
    for (const [, r] of connect) expect(r).toMatchObject({ status: 'failed', runs: 1 });
    for (const [, r] of connect) expect(r.error).toMatch(/interrupted/);
    expect(ui.controller.running).toBe(false);
    // Cancelled, not failed: the sidebar and the stage say "stopped", never "failed".
    expect(ui.controller.getSnapshot().stages.find((s) => s.id === 'configure')!.status).toBe('cancelled');
    const f = await ui.waitForText(/configure\s+■ stopped/);
    expect(f).not.toMatch(/failed/);
  });

  it('re-verify from the welcome screen: every done step is checked again, none re-run', async () => {
    const t = tempStateDir();
    await savedLabCluster(t.dir, 'eta', { run: true });
    const before = steps(t.dir, 'eta');
    ui = renderWizard({ stateDir: t.dir });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume eta'));
    await ui.press('v', 'checked again: still done', 15_000);
    const after = steps(t.dir, 'eta');
    for (const [key, rec] of Object.entries(before)) if (rec.status === 'done') expect(after[key]!.runs, key).toBe(rec.runs);
    expect(ui.controller.getSnapshot().run).toMatchObject({ state: 'done', reverify: true });
  });

  it('flash options: the board and the card reader are chosen from lists; running asks for the device name to be typed', async () => {
    const t = tempStateDir();
    await savedLabCluster(t.dir, 'theta');
    ui = renderWizard({ stateDir: t.dir });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume theta'));
    await ui.press(KEY.enter, 'flash: Flash the cards');
    await ui.waitForText('✗ options (o): --node is missing');
    await ui.press('o', 'Options of flash');
    // The boards of the cluster, as a list; the confirmation is not an answer to pick.
    let f = await ui.waitForText('n2-worker1  192.168.1.41 (worker)');
    expect(f).not.toMatch(/^\s*› yes/m);
    await ui.pressUntil(KEY.down, (fr) => /❯ +n2-worker1/.test(fr));
    await ui.press(KEY.enter, '› device');
    // The practice lab's card readers, as a list.
    f = await ui.waitForText(/❯ +\/dev\/sda +[\d.]+ GB/);
    await ui.press(KEY.enter, '✓ the stage accepts these answers');
    ui.write(KEY.escape);
    await waitFor(() => !ui!.frame().includes('Options of flash'), 'the panel to close');
    expect(ui.frame()).toContain('Options (o): node=n2-worker1  device=/dev/sda');
    expect(ui.frame()).not.toContain('yes=');
    // The flash grid now has one column: the board this card is for.
    expect(ui.controller.getSnapshot().steps[0]!.cells.map((c) => c.node)).toEqual(['n2-worker1']);

    // Enter asks for the device's name instead of failing with "add --yes"; a wrong name touches nothing.
    await ui.press(KEY.enter, 'Everything on /dev/sda');
    await ui.press('/dev/sdb', '> /dev/sdb▌');
    await ui.press(KEY.enter, 'you typed "/dev/sdb", not /dev/sda');
    expect(ui.controller.getSnapshot().run.state).toBe('idle');
    await ui.press('/dev/sda', '> /dev/sda▌');
    ui.write(KEY.enter);
    await waitFor(() => ui!.controller.getSnapshot().run.state === 'done' || ui!.controller.getSnapshot().run.state === 'failed', 'the flash run to end', 60_000);
    const snap = ui.controller.getSnapshot();
    expect(snap.run.error).toBeUndefined();
    expect(snap.run.state).toBe('done');
    expect(snap.stages.find((x) => x.id === 'flash')!.status).not.toBe('failed');
    // What the user has now and the next thing to do, in full (wrapped, never cut off).
    const report = await ui.waitForText('What you have now:');
    expect(report).toMatch(/n2-worker1: card \/dev\/sda /);
    expect(report).toContain('Set the boot-select switch next to the SD slot to "MMC"');
    expect(report).toContain('ignores the card.');
    expect(ui.controller.getSnapshot().stages.find((x) => x.id === 'flash')!.report!.next[0]).toMatch(/^Set the boot-select switch .* ignores the card\.$/);
    // l: the board's log over the whole panel, long lines wrapped (the first-boot hints in full).
    ui.write('l');
    const full = await waitFor(() => (!ui!.frame().includes('What you have now') ? ui!.frame() : undefined), 'the full log');
    expect(full).toMatch(/log: n2-worker1 \(\d+/);
    expect(full).toContain('next: Set the boot-select switch');
    expect(full).toContain('ignores the card.');
    await ui.press(KEY.escape, 'What you have now:');
    // The next run asks again: the confirmation was for that run only.
    await ui.press(KEY.enter, 'Everything on /dev/sda');
  }, 90_000);

  it('readonly options: scope and token are chosen from lists; "namespace:" then takes the name typed', async () => {
    const t = tempStateDir();
    await savedLabCluster(t.dir, 'kappa');
    ui = renderWizard({ stateDir: t.dir });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume kappa'));
    await ui.press(KEY.enter, 'flash: Flash the cards');
    await ui.press('0', 'readonly: Read-only access');
    await ui.press('o', 'Options of readonly');
    await ui.pressUntil(KEY.tab, (f) => /› scope/.test(f));
    await ui.waitForText(/❯\s+✓?\s*cluster-read/);
    await ui.press(KEY.down, /❯\s+✓?\s*view/);
    await ui.press(KEY.enter, '› token');
    expect(ui.controller.optionValues('readonly').scope).toBe('view');
    await ui.press(KEY.down, /❯\s+✓?\s*long-lived/);
    await ui.press(KEY.enter, '› duration');
    expect(ui.controller.optionValues('readonly').token).toBe('long-lived');
    // Back to scope: "namespace:" asks for the name after it.
    ui.write('\u001B[Z');
    await ui.waitForText(/› token/);
    ui.write('\u001B[Z');
    await ui.waitForText(/❯\s+✓?\s*(cluster-read|view)/);
    await ui.pressUntil(KEY.down, (f) => /❯\s+✓?\s*namespace:NAME/.test(f));
    await ui.press(KEY.enter, '[namespace:▌]');
    await ui.press('team-a', '[namespace:team-a▌]');
    ui.write(KEY.enter);
    await ui.waitForText('› token');
    expect(ui.controller.optionValues('readonly').scope).toBe('namespace:team-a');
    expect(ui.controller.getSnapshot().optionProblems.readonly).toBeUndefined();
  });

  it('the sudo password is typed masked and kept in memory only', async () => {
    const t = tempStateDir();
    await savedLabCluster(t.dir, 'iota');
    ui = renderWizard({ stateDir: t.dir });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume iota'));
    await ui.press(KEY.enter, 'Enter runs this stage');
    await ui.press('p', 'sudo password of root on the boards');
    const f = await ui.press('hunter22', '••••••••▌');
    expect(f).not.toContain('hunter22');
    ui.write(KEY.enter);
    await waitFor(() => ui!.controller.getSnapshot().sudoPasswordSet, 'the password to be taken');
    expect(ui.controller.session?.secrets.get('sudo-password')).toBe('hunter22');
    expect(JSON.stringify(ui.controller.getSnapshot())).not.toContain('hunter22');
    expect(readFileSync(join(t.dir, 'iota.json'), 'utf8')).not.toContain('hunter22');
  });
});
