// How the wizard shows a stage that is not built yet. Every stage of this version is built, so this test puts a
// SYNTHETIC unbuilt one in place of the ci stage (notYet(), as a future stage would be listed): it says "not
// available yet", offers no key that would do nothing, cannot be run, and its refusal stays on its own screen.
import { describe, expect, it, vi } from 'vitest';
import { KEY, type Rendered, renderWizard, savedLabCluster, tempStateDir, useScreenTests, waitFor } from './helpers.tsx';

vi.mock('../../flows/index.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../flows/index.ts')>();
  const { notYet } = await import('../../flows/unavailable/index.ts');
  return { ...real, STAGES: real.STAGES.map((s) => (s.id === 'ci' ? notYet('ci', 'CI on the cluster', 'A synthetic stage that is not built.', ['registry']) : s)) };
});

let ui: Rendered | undefined;
useScreenTests();

describe('a stage not available yet (synthetic)', () => {
  it('stages that are not built say "not available yet" and cannot be run', async () => {
    const t = tempStateDir();
    await savedLabCluster(t.dir, 'zeta', { run: true });
    ui = renderWizard({ stateDir: t.dir });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume zeta'));
    ui.write(KEY.enter);
    await waitFor(() => ui!.controller.getSnapshot().screen === 'stage', 'the stages');
    const f = await ui.press('9', 'ci: CI on the cluster');
    expect(f).toContain('This stage is not available yet');
    // It advertises no key that would do nothing there.
    expect(f).not.toMatch(/Enter run|c commands|o options/);
    ui.write(KEY.enter);
    await new Promise((r) => setImmediate(r));
    expect(ui.controller.running).toBe(false);
    expect(ui.controller.getSnapshot().stages.find((s) => s.id === 'ci')!.status).toBe('unavailable');
    // A refused run shows its error on its own stage only, never later on another one.
    void ui.controller.runStage('ci');
    await waitFor(() => ui!.controller.getSnapshot().run.error?.includes('stage "ci" is not available yet'), 'the refusal');
    expect(ui.controller.getSnapshot().run.origin).toBe('ci');
    const other = await ui.press('0', 'readonly: Read-only access');
    expect(other).not.toContain('not available yet:');
  });});
