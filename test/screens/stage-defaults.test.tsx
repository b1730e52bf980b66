// A stage's answers in the wizard reach the engine as the CLI's --set do: only what the user answered. A default
// the panel shows as a description of a place (registry: STATE_DIR/CLUSTER/registry.password) is the stage's own
// to fill in, never a path taken literally in the current folder.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtLabCluster, KEY, renderWizard, tempStateDir, useScreenTests } from './helpers.tsx';

useScreenTests();

describe('stage answers the user did not give', () => {
  it('registry: the password goes beside the progress, nothing into ./STATE_DIR', async () => {
    const t = tempStateDir();
    await builtLabCluster(t.dir, 'tau');
    const stray = resolve('STATE_DIR');
    const strayBefore = existsSync(stray);
    const ui = renderWizard({ stateDir: t.dir }, { columns: 200, rows: 40 });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume tau'));
    await ui.press(KEY.enter, /Enter runs this stage|Enter checks it again/);
    // The panel shows where the password will go, as the stage describes it.
    await ui.pressUntil('8', (f) => f.includes('password-file=STATE_DIR/CLUSTER/registry.password'), 10);
    await ui.press(KEY.enter, /done in \d:\d\d|failed: Enter retries/, 60_000);
    expect(ui.controller.getSnapshot().stages.find((s) => s.id === 'registry')?.status, ui.frame()).toBe('done');
    const file = join(t.dir, 'tau', 'registry.password');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    if (!strayBefore) expect(existsSync(stray)).toBe(false);
  }, 120_000);
});
