// Opening a cluster file from the wizard (resume, -f): the file's own values with each problem at its field,
// nothing written until the user saves, and never over a file that cannot be read.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { KEY, renderWizard, savedLabCluster, tempStateDir, useScreenTests } from './helpers.tsx';

useScreenTests();

describe('opening a cluster file', () => {
  it('resume of a cluster whose file was edited into a problem: the inventory shows its values and the problem', async () => {
    const t = tempStateDir();
    const { file } = await savedLabCluster(t.dir, 'shed');
    writeFileSync(file, readFileSync(file, 'utf8').replace('192.168.1.43', '192.168.1.300'));
    const before = readFileSync(file);
    const ui = renderWizard({ stateDir: t.dir });
    await ui.waitForText('Resume shed');
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume shed'));
    const frame = (await ui.press(KEY.enter, 'Inventory: your boards')).replace(/\s+/g, ' ');
    expect(frame).toContain('[192.168.1.300▌]');
    expect(frame).toMatch(/"192\.168\.1\.300" is not an IPv4 address \(line \d+ [│ ]*of shed\.cluster\.yaml\)/);
    expect(frame).toMatch(/Name\s+shed/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('saving keeps the fields the inventory does not edit; a misspelt field is listed with its line and the name meant', async () => {
    const t = tempStateDir();
    const { file } = await savedLabCluster(t.dir, 'shed');
    const text = readFileSync(file, 'utf8')
      .replace('192.168.1.43', '192.168.1.300')
      .replace('timezone:', 'timezon:')
      .replace(/(  - name: n2-worker1\n.*\n.*\n)/, '$1    kubeadm:\n      ignorePreflightErrors: [Swap]\n')
      .concat('kubernetes:\n  podNetwork: host-gw # one flat LAN\n');
    writeFileSync(file, text);
    const ui = renderWizard({ stateDir: t.dir });
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume shed'));
    const frame = (await ui.press(KEY.enter, '[192.168.1.300▌]')).replace(/\s+/g, ' ');
    expect(frame).toMatch(/✗ line \d+: timezon: is not a field of the cluster file \(fix: did you mean/);
    expect(ui.controller.getSnapshot().inventoryFile!.outside).toEqual([expect.objectContaining({ field: 'timezon', fix: expect.stringMatching(/^did you mean timezone\?/) })]);
    await ui.pressUntil(KEY.backspace, (f) => f.includes('[192.168.1.▌]'));
    await ui.press('43', '✓ looks right');
    await ui.pressUntil(KEY.down, (f) => f.includes('› Continue'));
    await ui.press(KEY.enter, 'its previous version');
    const saved = parse(readFileSync(file, 'utf8'));
    expect(saved.kubernetes).toEqual({ podNetwork: 'host-gw' });
    expect(saved.nodes[1].kubeadm).toEqual({ ignorePreflightErrors: ['Swap'] });
    expect(saved.nodes[3].address).toBe('192.168.1.43');
    expect(saved.timezon).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toContain('podNetwork: host-gw # one flat LAN');
    expect(readFileSync(`${file}.bak`, 'utf8')).toBe(text);
  });

  it('a file that became unreadable while the inventory was open is not written over', async () => {
    const t = tempStateDir();
    const { file } = await savedLabCluster(t.dir, 'shed');
    writeFileSync(file, readFileSync(file, 'utf8').replace('192.168.1.43', '192.168.1.300'));
    const ui = renderWizard({ stateDir: t.dir, clusterFile: file });
    await ui.waitForText('Resume shed');
    await ui.pressUntil(KEY.down, (f) => f.includes('› Resume shed'));
    await ui.press(KEY.enter, '[192.168.1.300▌]');
    await ui.pressUntil(KEY.backspace, (f) => f.includes('[192.168.1.▌]'));
    await ui.press('43', '✓ looks right');
    // Meanwhile someone breaks the file in an editor.
    const broken = readFileSync(file, 'utf8').replace('  gateway: 192.168.1.1', '  gateway: [192.168.1.1');
    writeFileSync(file, broken);
    await ui.pressUntil(KEY.down, (f) => f.includes('› Continue'));
    const frame = (await ui.press(KEY.enter, /is not valid YAML at line \d+/)).replace(/\s+/g, ' ');
    expect(frame).toContain('nothing is written over a file that cannot be read');
    expect(ui.controller.getSnapshot().screen).toBe('inventory');
    expect(readFileSync(file, 'utf8')).toBe(broken);
    expect(existsSync(`${file}.bak`)).toBe(false);
  });
});
