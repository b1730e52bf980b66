// The built wizard (bin/boardkube.js) in a real terminal (tmux), in the practice lab: a new cluster, then a card
// flashed from the wizard the way a newcomer does it: the board and the card reader chosen from lists, the
// device's name typed to confirm, the progress in bytes with MB/s and ETA, and after the stage what the user
// now has and the next thing to do (the board's first-boot instructions, in full).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boardkubeCommand, readState, tmuxPerTest, until } from './common.ts';

const per = tmuxPerTest();

/** The screen with the sidebar cut away and the lines joined: text that wraps reads as one. */
const mainText = (screen: string) =>
  screen
    .split('\n')
    .map((l) => l.slice(l.indexOf('│') + 1).trim())
    .join(' ');

describe('the built wizard flashes a card in the practice lab (tmux)', () => {
  it('lists to choose from, the device name typed, progress with MB/s and ETA, then what you have and what is next', async () => {
    const stateDir = per.tempDir('bk-e2e-wizlab-');
    const t = per.tmux();
    // A tenth of the lab's realistic timings: the card's progress is on screen for a few seconds.
    t.start([...boardkubeCommand(), '--lab'], { BOARDKUBE_STATE_DIR: stateDir, BOARDKUBE_LAB_SPEED: '0.1', NO_COLOR: '1' }, { columns: 110, rows: 36 });
    await t.waitFor('Practice lab: simulated boards', 20_000);
    t.send('Enter');
    await t.waitFor('✓ looks right', 20_000);
    await t.pressUntil('Down', (s) => s.includes('› Continue'));
    t.send('Enter');
    await t.waitFor('flash: Flash the cards', 20_000);

    // The answers: the board and the card reader from lists; no "yes" to pick.
    t.send('o');
    let screen = await t.waitFor('n2-worker1  192.168.1.41 (worker)');
    expect(screen).not.toMatch(/^\s*› yes\b/m);
    await t.pressUntil('Down', (s) => /❯ +n2-worker1/.test(s));
    t.send('Enter');
    await t.waitFor(/❯ +\/dev\/sda +[\d.]+ GB/);
    t.send('Enter');
    await t.waitFor('✓ the stage accepts these answers');
    t.send('Escape');
    await t.waitFor('Options (o): node=n2-worker1  device=/dev/sda');

    // Enter asks for the device's name instead of failing with "add --yes".
    t.send('Enter');
    screen = await t.waitFor('Everything on /dev/sda');
    expect(screen).not.toContain('add --yes');
    t.type('/dev/sda');
    await t.waitFor('> /dev/sda▌');
    t.send('Enter');

    // Progress in the headless output's words: bytes with units, MB/s, ETA.
    screen = await t.waitFor(/\d+ MB of \d+ MB · [\d.]+ MB\/s · ETA \d+:\d\d/, 60_000);
    expect(screen).not.toMatch(/● \d{5,}/);

    // After the stage: what the user has now and the next thing to do, not cut off.
    screen = await t.waitFor('What you have now:', 120_000);
    const text = mainText(screen);
    expect(text).toMatch(/n2-worker1: card \/dev\/sda .*flashed and read back/);
    expect(text).toContain('Set the boot-select switch next to the SD slot to "MMC". On "SPI" the board boots Petitboot from its SPI flash and ignores the card.');
    const st = readState(join(stateDir, 'lab.json'));
    expect(st.steps['flash/verify@n2-worker1']).toMatchObject({ status: 'done' });
    expect(st.steps['flash/check-device@n2-worker1']).toMatchObject({ status: 'done' });

    // The summary has it all, and the run log's full path.
    t.send('s');
    await t.waitFor('Summary: lab');
    // Configure has not run: the summary claims nothing for it.
    screen = await t.pressUntil('Down', (s) => s.includes('readonly'));
    expect(mainText(screen)).not.toMatch(/configure\s+○ to do What you have now/);
    screen = await t.pressUntil('PageDown', (s) => s.includes('run log'));
    expect(mainText(screen)).toMatch(/run log\s+\S*\/logs\/lab-/);
    t.send('q');
    await until(() => t.dead() || undefined, 'the wizard to exit', 10_000);
  }, 240_000);
});
