// The wizard's board reset (x on the control-plane and workers stages): a confirmation naming what will be undone
// on which boards, then the reset through the app layer and the engine, as `boardkube reset --boards` runs it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateStore } from '../../src/engine/state.ts';
import { builtLabCluster, KEY, type Rendered, renderWizard, tempStateDir, useScreenTests, waitFor } from './helpers.tsx';

let ui: Rendered | undefined;
useScreenTests();

const status = (dir: string, name: string, key: string) => StateStore.open(dir, name, { mode: 'lab', readOnly: true }).step(key)?.status;
/** What the lab's boards know of kubeadm (the simulated boards, as saved beside the progress). */
const kubeadmOf = (dir: string, name: string) =>
  Object.fromEntries(
    Object.entries((JSON.parse(readFileSync(join(dir, `${name}.lab`, 'world.json'), 'utf8')) as { boards: Record<string, { facts: { kubeadm?: string } }> }).boards).map(([n, b]) => [n, b.facts.kubeadm ?? null]),
  );

/** The main panel's text with the sidebar and the dialog's frame cut away and wrapped lines joined. */
const panelText = (frame: string) =>
  frame
    .split('\n')
    .map((l) => l.slice(l.indexOf('│') + 1).replace(/^\s*│/, '').replace(/│\s*$/, '').trim())
    .filter(Boolean)
    .join(' ');

describe('board reset from the wizard', () => {
  it('workers: x names the workers and what is undone; n touches nothing; y resets them through the engine', async () => {
    const t = tempStateDir();
    await builtLabCluster(t.dir, 'rho');
    const before = kubeadmOf(t.dir, 'rho');
    expect(before['n2-worker1']).toBe('worker');
    ui = renderWizard({ stateDir: t.dir }, { columns: 120, rows: 40 });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume rho'));
    await ui.press(KEY.enter, /Enter runs this stage|Enter checks it again/);
    await ui.press('5', 'workers: Workers');
    expect(ui.frame()).toContain('x reset boards');
    await ui.press('x', 'y/n');
    const f = panelText(ui.frame());
    expect(f).toContain('Reset n2-worker1, n2-worker2, n2-worker3, n2-worker4 on the practice lab? y/n');
    expect(f).toContain('This undoes the workers stage on these boards');
    expect(f).toMatch(/• reset n2-worker3: kubeadm reset -f, CNI files and links, KUBE-\/FLANNEL chains, \/etc\/kubernetes; restart crio/);
    expect(f).toContain('• on this computer: forget the saved progress of the workers stage on n2-worker1, n2-worker2, n2-worker3, n2-worker4');
    expect(f).not.toMatch(/reset n2-master/);
    // n: nothing touched.
    await ui.press('n', 'Nothing was reset');
    expect(panelText(ui.frame())).toContain('Nothing was reset: n2-worker1, n2-worker2, n2-worker3, n2-worker4 stay as they are.');
    expect(status(t.dir, 'rho', 'workers/join@n2-worker1')).toBe('done');
    expect(kubeadmOf(t.dir, 'rho')).toEqual(before);
    // y: the reset runs; the boards' lines go to their logs.
    await ui.press('x', 'y/n');
    ui.write('y');
    await waitFor(() => panelText(ui!.frame()).includes('Reset n2-worker1, n2-worker2, n2-worker3, n2-worker4 (the practice lab): back to "packages done". Enter runs workers again.'), 'the reset to end', 30_000);
    expect(ui.controller.logWindow('n2-worker2', 200).lines.join('\n')).toContain('[reset] Stopping the kubelet service');
    for (const n of ['n2-worker1', 'n2-worker2', 'n2-worker3', 'n2-worker4']) expect(status(t.dir, 'rho', `workers/join@${n}`), n).toBeUndefined();
    expect(status(t.dir, 'rho', 'control-plane/init@n2-master')).toBe('done');
    const after = kubeadmOf(t.dir, 'rho');
    expect(after).toMatchObject({ 'n2-master': 'master', 'n2-worker1': null, 'n2-worker4': null });
    expect(ui.controller.getSnapshot().stages.find((s) => s.id === 'workers')?.status).not.toBe('done');
    // The next group: Enter joins the reset workers again.
    await ui.press(KEY.enter, /done in \d:\d\d|failed: Enter retries/, 30_000);
    expect(ui.controller.getSnapshot().stages.find((s) => s.id === 'workers')?.status).toBe('done');
    expect(kubeadmOf(t.dir, 'rho')['n2-worker1']).toBe('worker');
  }, 120_000);

  it('control-plane: every board, every stage after packages; Esc backs out; stages without a reset have no x', async () => {
    const t = tempStateDir();
    await builtLabCluster(t.dir, 'sigma');
    ui = renderWizard({ stateDir: t.dir }, { columns: 120, rows: 40 });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume sigma'));
    await ui.press(KEY.enter, /Enter runs this stage|Enter checks it again/);
    // packages has no board reset: no key, and x does nothing.
    await ui.press('3', 'packages: Kubernetes packages');
    expect(ui.frame()).not.toContain('x reset boards');
    ui.write('x');
    await new Promise((r) => setTimeout(r, 200));
    expect(ui.controller.getSnapshot().dialog).toBeUndefined();
    await ui.press('4', 'control-plane: Control plane');
    await ui.press('x', 'y/n');
    const f = panelText(ui.frame());
    expect(f).toContain('Reset n2-master, n2-worker1, n2-worker2, n2-worker3, n2-worker4 on the practice lab? y/n');
    expect(f).toContain('This undoes the cluster: every stage after packages');
    expect(f).toMatch(/remove the context sigma from \S+/);
    expect(f).toMatch(/forget the saved progress of control-plane, workers, ttl, webhook, registry, ci, readonly/);
    await ui.press(KEY.escape, 'Nothing was reset');
    expect(status(t.dir, 'sigma', 'control-plane/init@n2-master')).toBe('done');
    await ui.press('x', 'y/n');
    ui.write('y');
    await waitFor(() => /Reset n2-master, .* \(the practice lab\): back to "packages done"\. Enter runs control-plane again\./.test(panelText(ui!.frame())), 'the reset to end', 30_000);
    expect(status(t.dir, 'sigma', 'control-plane/init@n2-master')).toBeUndefined();
    expect(status(t.dir, 'sigma', 'packages/install@n2-master')).toBe('done');
    expect(Object.values(kubeadmOf(t.dir, 'sigma')).every((k) => k === null)).toBe(true);
  }, 120_000);
});
