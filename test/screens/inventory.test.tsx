import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { KEY, type Rendered, renderWizard, tempStateDir, useScreenTests, waitFor } from './helpers.tsx';


let ui: Rendered | undefined;
useScreenTests();

async function openLabInventory(): Promise<Rendered> {
  const t = tempStateDir();
  ui = renderWizard({ stateDir: t.dir });
  await ui.waitForText('Practice lab: simulated boards');
  await ui.press('l', 'Inventory: your boards');
  // The practice lab creates its key in the state directory by itself.
  await ui.waitForText('✓ created');
  await ui.waitForText('✓ looks right');
  return ui;
}

/** Moves the focus down to a node row (the focused cell shows as [value▌]). */
async function focusNode(r: Rendered, name: string): Promise<void> {
  await r.pressUntil(KEY.down, (f) => f.includes(`› [${name}▌]`));
}

describe('inventory', () => {
  it('shows a bad IPv4 address inline, as it is typed, and clears it when corrected', async () => {
    const r = await openLabInventory();
    await focusNode(r, 'n2-worker2');
    await r.pressUntil(KEY.tab, (f) => f.includes('[192.168.1.42▌]'));
    await r.pressUntil(KEY.backspace, (f) => f.includes('[192.168.1.▌]'));
    const bad = await r.press('300', '"192.168.1.300" is not an IPv4 address');
    expect(bad).toContain('fix: write four numbers 0-255 separated by dots');
    expect(bad).toMatch(/✗ 1 problem to fix/);
    await r.pressUntil(KEY.backspace, (f) => f.includes('[192.168.1.▌]'));
    const good = await r.press('142', '✓ looks right');
    expect(good).not.toContain('is not an IPv4 address');
  });

  it('shows a duplicate board name inline', async () => {
    const r = await openLabInventory();
    await focusNode(r, 'n2-worker3');
    r.write(KEY.ctrlU);
    await r.waitForText('[▌]');
    const dup = await r.press('n2-worker1', '"n2-worker1" is used twice');
    expect(dup).toContain('give every board its own name');
  });

  it('names the field of a bad subnet, then refuses to continue until it is fixed', async () => {
    const r = await openLabInventory();
    await r.pressUntil(KEY.down, (f) => /› Pod subnet\s+10\.244\.0\.0\/16▌/.test(f));
    r.write(KEY.ctrlU);
    await r.press('192.168.1.0/25', "overlaps the boards' LAN");
    await r.pressUntil(KEY.down, (f) => f.includes('› Continue'));
    r.write(KEY.enter);
    // Back on the field with the problem.
    await r.waitForText(/› Pod subnet/);
    expect(r.controller.getSnapshot().screen).toBe('inventory');
  });

  it('continues: writes the cluster file and opens the stages', async () => {
    const r = await openLabInventory();
    r.write('-x');
    await r.waitForText('lab-x▌');
    await r.pressUntil(KEY.down, (f) => f.includes('› Continue'));
    await r.press(KEY.enter, 'Enter runs this stage');
    expect(r.controller.getSnapshot().screen).toBe('stage');
    const snap = r.controller.getSnapshot();
    expect(snap.clusterFile).toBe(join(snap.stateDir, 'lab-x.cluster.yaml'));
    expect(existsSync(snap.clusterFile!)).toBe(true);
    const spec = parse(readFileSync(snap.clusterFile!, 'utf8')) as { name: string; nodes: unknown[] };
    expect(spec.name).toBe('lab-x');
    expect(spec.nodes).toHaveLength(5);
    await waitFor(() => existsSync(join(snap.stateDir, 'lab-x.json')), 'the progress file');
  });
});
