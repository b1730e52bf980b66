import { writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEY, type Rendered, renderWizard, savedLabCluster, tempStateDir, useScreenTests } from './helpers.tsx';


let ui: Rendered | undefined;
useScreenTests();

describe('welcome', () => {
  it('without saved clusters: offers a new cluster and the practice lab', async () => {
    const t = tempStateDir();
    ui = renderWizard({ stateDir: t.dir });
    await ui.waitForText('No saved clusters yet');
    const f = await ui.waitForText('readonly');
    expect(f).toContain('Welcome to boardkube');
    expect(f).toContain('Practice lab: simulated boards');
    expect(f).toContain('Start a new cluster on real boards');
    expect(f).not.toContain('Resume');
    // The sidebar lists the ten stages, every one built (an unbuilt one: unavailable.test.tsx), and none says done.
    for (const id of ['flash', 'configure', 'packages', 'control-plane', 'workers', 'ttl', 'webhook', 'registry', 'ci', 'readonly']) expect(f).toContain(id);
    expect(f).not.toContain('not available yet');
    expect(f).not.toMatch(/✓ done/);
  });

  it('with saved clusters: lists each with its progress and resumes one', async () => {
    const t = tempStateDir();
    await savedLabCluster(t.dir, 'alpha', { run: true });
    await savedLabCluster(t.dir, 'beta');
    ui = renderWizard({ stateDir: t.dir });
    const f = await ui.waitForText('Saved clusters (2)');
    expect(f).toContain('Resume alpha');
    expect(f).toContain('Resume beta');
    expect(f).toMatch(/practice lab · ([5-9]|\d\d+) steps done/);
    expect(f).toMatch(/practice lab · 0 steps done/);
    await ui.pressUntil(KEY.down, (fr) => /› Resume alpha/.test(fr));
    // It opens on the stage after the last one done (configure): packages.
    const stage = await ui.press(KEY.enter, /packages: Kubernetes packages/);
    expect(stage).toContain('alpha');
    expect(ui.controller.getSnapshot().cluster?.name).toBe('alpha');
  });

  it('a corrupt progress file: says so and offers a fresh start that keeps a copy', async () => {
    const t = tempStateDir();
    writeFileSync(join(t.dir, 'broken.json'), '{"schemaVersion": 2, "steps": {', { mode: 0o600 });
    ui = renderWizard({ stateDir: t.dir });
    await ui.waitForText('saved progress cannot be read');
    await ui.pressUntil(KEY.down, (fr) => /› Resume broken/.test(fr));
    const dialog = await ui.press(KEY.enter, 'Start fresh?');
    expect(dialog).toContain('Start fresh? A copy of the unreadable file is kept');
    await ui.press('y', 'Inventory: your boards');
    const copies = readdirSync(t.dir).filter((f) => f.startsWith('broken.json.corrupt-'));
    expect(copies).toHaveLength(1);
    expect(existsSync(join(t.dir, 'broken.json'))).toBe(true);
    expect(ui.frame()).toContain('broken');
  });
});
