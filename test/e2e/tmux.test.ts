// The whole program in a real terminal (tmux): start the wizard in the practice lab, fill the inventory, run
// connectivity, kill -9 it mid-stage, start it again: it offers to resume and finishes the step without
// repeating what was verified (StepRecord.runs stays 1 for the boards that were done).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boardkubeCommand, readState, tmuxPerTest, until } from './common.ts';

const per = tmuxPerTest();

const NODES = ['n2-master', 'n2-worker1', 'n2-worker2', 'n2-worker3', 'n2-worker4'];
// Any SGR parameter that sets a colour: 30-38, 40-48, 90-97, 100-107 (39 and 49 only reset to the default).
const COLOUR_SGR = /\x1b\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9;]*)?m/;

describe('the wizard in tmux', () => {
  it('practice lab: inventory, connectivity, kill -9 mid-stage, resume without repeating verified steps', async () => {
    const stateDir = per.tempDir('bk-e2e-tmux-');
    const cmd = boardkubeCommand();
    const tmux = per.tmux();
    // n2-worker4 is slow: the other boards finish "connect" while it still runs, so the kill lands between.
    const env = { BOARDKUBE_STATE_DIR: stateDir, BOARDKUBE_LAB_SPEED: '4', NO_COLOR: '1' };
    tmux.start([...cmd, '--lab', '--lab-fault', 'n2-worker4:slow'], env);

    let screen = await tmux.waitFor('Practice lab: simulated boards', 20_000);
    expect(screen).toContain('practice lab');
    expect(screen).toContain('No saved clusters yet');
    // NO_COLOR: not one colour code on the screen.
    expect(tmux.capture(true)).not.toMatch(COLOUR_SGR);

    // Inventory: the lab fills it in; rename the cluster and move one board.
    tmux.send('Enter');
    await tmux.waitFor('Inventory: your boards');
    await tmux.waitFor(/✓ (created|found)/);
    tmux.type('-e2e');
    await tmux.waitFor('lab-e2e▌');
    await tmux.pressUntil('Down', (s) => s.includes('› [n2-worker2▌]'));
    await tmux.pressUntil('Tab', (s) => s.includes('[192.168.1.42▌]'));
    tmux.send('BSpace');
    tmux.type('x');
    await tmux.waitFor('"192.168.1.4x" is not an IPv4 address');
    tmux.send('BSpace');
    await tmux.waitFor('[192.168.1.4▌]');
    tmux.send('BSpace');
    await tmux.waitFor('[192.168.1.▌]');
    tmux.type('52');
    await tmux.waitFor('[192.168.1.52▌]');
    await tmux.waitFor('✓ looks right');
    await tmux.pressUntil('Down', (s) => s.includes('› Continue'));
    tmux.send('Enter');
    // The stages open on the first one to do (flash, which needs a card reader); 2 jumps to configure.
    await tmux.waitFor(/Enter runs this stage/);
    screen = await tmux.pressUntil('2', (s) => s.includes('configure: Configure the boards'));
    screen = await tmux.waitFor('Enter runs this stage');
    expect(screen).toContain('Connectivity: reach every board');
    expect(screen).toContain('192.168.1.52');

    // Run connectivity; kill -9 once every board but the slow one is through.
    tmux.send('Enter');
    const statePath = join(stateDir, 'lab-e2e.json');
    await until(() => {
      const st = readState(statePath);
      return NODES.slice(0, 4).every((n) => st.steps[`configure/connect@${n}`]?.status === 'done') || undefined;
    }, 'four boards connected', 30_000);
    screen = tmux.capture();
    expect(screen).toMatch(/running \d:\d\d/);
    const pid = tmux.pid();
    process.kill(pid, 'SIGKILL');
    await until(() => tmux.dead() || undefined, 'the wizard to die');

    const before = readState(statePath);
    for (const n of NODES.slice(0, 4)) expect(before.steps[`configure/connect@${n}`]).toMatchObject({ status: 'done', runs: 1 });
    expect(before.steps['configure/connect@n2-worker4']).toMatchObject({ status: 'running', runs: 1 });
    expect(Object.keys(before.hostKeys)).toEqual(expect.arrayContaining(NODES.slice(0, 4)));

    // Again, at full lab speed and with the fault cleared: it offers to resume.
    tmux.respawn([...cmd, '--lab', '--lab-fault', 'n2-worker4:none'], { BOARDKUBE_STATE_DIR: stateDir, BOARDKUBE_LAB_SPEED: '0' });
    screen = await tmux.waitFor('Resume lab-e2e', 20_000);
    expect(screen).toMatch(/practice lab · \d+ steps done · 1 cut off/);
    // Colours are back without NO_COLOR.
    expect(tmux.capture(true)).toMatch(COLOUR_SGR);
    await tmux.pressUntil('Down', (s) => s.includes('› Resume lab-e2e'));
    tmux.send('Enter');
    screen = await tmux.waitFor(/done in \d:\d\d|failed: Enter retries/, 60_000);

    const after = readState(statePath);
    for (const n of NODES.slice(0, 4)) expect(after.steps[`configure/connect@${n}`], n).toMatchObject({ status: 'done', runs: 1 });
    expect(after.steps['configure/connect@n2-worker4']).toMatchObject({ status: 'done', runs: 2 });
    expect(Object.keys(after.hostKeys).sort()).toEqual([...NODES].sort());
    // Host keys pinned before the kill are the ones in use after it.
    for (const n of NODES.slice(0, 4)) expect(after.hostKeys[n]!.fingerprint).toBe(before.hostKeys[n]!.fingerprint);

    // The connectivity table after the resume: boards done earlier were checked, not run again.
    screen = await tmux.pressUntil('Up', (s) => s.includes('Connectivity: reach every board'));
    expect(screen).toMatch(/n2-master\s+192\.168\.1\.40\s+checked/);
    expect(screen).toMatch(/n2-worker4\s+192\.168\.1\.44\s+done/);

    // Redraws on resize, and fits 80x24.
    tmux.resize(80, 24);
    screen = await until(() => {
      const s = tmux.capture();
      return s.split('\n').filter((l) => l !== '').length <= 24 && s.includes('configure') ? s : undefined;
    }, 'a redraw at 80x24');
    for (const line of screen.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);

    // q leaves cleanly.
    tmux.send('q');
    await until(() => tmux.dead() || undefined, 'the wizard to exit', 10_000);
  }, 180_000);
});
