// The built wizard (bin/boardkube.js, as a user runs it) in a real terminal (tmux), opening a cluster file the
// way the README tells a newcomer: `boardkube init -f cluster.yaml`, edit it, `boardkube -f cluster.yaml`.
// The bundle is what is tested: a bundling bug (a missing export in a chunk) shows only there.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_KUBERNETES_VERSION, RELEASES } from '../../src/catalog/versions.ts';
import { boardkubeCommand, tmuxPerTest, type Tmux, until } from './common.ts';

const per = tmuxPerTest();
let dir: string | undefined;

/** A folder with a key and a cluster file written by the built `boardkube init`, then edited by `edit`. */
function initAndEdit(edit: (text: string) => string): { file: string; original: Buffer } {
  dir = per.tempDir('bk-e2e-wizfile-');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id_ed25519')]);
  const file = join(dir, 'cluster.yaml');
  execFileSync(boardkubeCommand()[0]!, [...boardkubeCommand().slice(1), 'init', '-f', file], { cwd: dir });
  const text = edit(readFileSync(file, 'utf8').replace(/^  keyPath: .*$/m, `  keyPath: ${join(dir, 'id_ed25519')}`));
  writeFileSync(file, text);
  return { file, original: readFileSync(file) };
}

function startWizard(file: string): Tmux {
  const t = per.tmux();
  t.start([...boardkubeCommand(), '-f', file], { BOARDKUBE_STATE_DIR: join(dir!, 'state'), NO_COLOR: '1' }, { columns: 110, rows: 34 }, dir);
  return t;
}

/** The 1-based line of the first line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

const OTHER_VERSION = RELEASES.map((r) => r.patch).find((v) => v !== DEFAULT_KUBERNETES_VERSION)!;

describe('the built wizard opens a cluster file (tmux)', () => {
  it('a file made by init and edited opens with its own values, and opening writes nothing', async () => {
    const { file, original } = initAndEdit((t) =>
      t
        .replace('name: homelab', 'name: shed # the garden shed')
        .replace(`kubernetesVersion: ${DEFAULT_KUBERNETES_VERSION}`, `kubernetesVersion: ${OTHER_VERSION}`)
        .replace('192.168.1.43', '192.168.1.77')
        .replace(/  - name: n2-worker4\n.*\n.*\n/, ''),
    );
    expect(parse(original.toString()).nodes).toHaveLength(4);
    const t = startWizard(file);
    await t.waitFor('Open shed', 20_000);
    t.send('Enter');
    // Straight to the stages: its name and version in the header, its four boards in the grid.
    let screen = await t.waitFor('Enter runs this stage', 20_000);
    expect(screen).toContain(`shed │ Kubernetes ${OTHER_VERSION}`);
    expect(screen).toMatch(/master\s+worker1\s+worker2\s+worker3/);
    expect(screen).not.toContain('worker4');
    expect(screen).not.toMatch(/not valid YAML|parse is not a function/);
    // The inventory shows the file's values, not the defaults.
    t.send('i');
    screen = await t.waitFor('Inventory: your boards');
    expect(screen).toMatch(/Name\s+shed/);
    expect(screen).toContain('Boards (4)');
    expect(screen).toMatch(/n2-worker3\s+worker\s+192\.168\.1\.77/);
    expect(screen).not.toContain('homelab');
    t.send('Escape');
    await t.waitFor('Enter runs this stage');
    t.send('q');
    await until(() => t.dead() || undefined, 'the wizard to exit', 10_000);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(existsSync(`${file}.bak`)).toBe(false);
  }, 90_000);

  it('a file with one bad field opens with that problem at its field; unchanged until saved, then the old one kept as .bak', async () => {
    const { file, original } = initAndEdit((t) => t.replace('name: homelab', 'name: shed # the garden shed').replace('192.168.1.42', '192.168.1.4x'));
    const badLine = lineOf(original.toString(), '192.168.1.4x');
    const t = startWizard(file);
    let screen = await t.waitFor('1 problem.', 20_000);
    expect(screen).toContain('Open shed');
    t.send('Enter');
    // The inventory, on the bad field: the user's values, the problem with its line, the file untouched.
    screen = await t.waitFor('Inventory: your boards', 20_000);
    expect(screen).toContain('✗ 1 problem to fix');
    expect(screen).toMatch(/Name\s+shed/);
    expect(screen).toContain('[192.168.1.4x▌]');
    expect(screen).toContain(`"192.168.1.4x" is not an IPv4 address (line ${badLine} of`);
    expect(screen).toContain('is left as it is until you save');
    expect(screen).not.toContain('homelab');
    expect(readFileSync(file).equals(original)).toBe(true);

    // Correct it, still unsaved: the file has not changed.
    t.send('BSpace');
    t.type('2');
    await t.waitFor('[192.168.1.42▌]');
    await t.waitFor('✓ looks right');
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(existsSync(`${file}.bak`)).toBe(false);

    // Save: the previous version is kept beside it, and the wizard says so.
    await t.pressUntil('Down', (s) => s.includes('› Continue'));
    t.send('Enter');
    screen = await t.waitFor('its previous version is kept as', 20_000);
    expect(screen.replace(/\s+/g, ' ')).toContain(`${file}.bak`);
    expect(readFileSync(`${file}.bak`).equals(original)).toBe(true);
    const saved = readFileSync(file, 'utf8');
    expect(parse(saved).nodes[2].address).toBe('192.168.1.42');
    // Only the corrected value changed: the user's comment and the rest stay as they wrote them.
    expect(saved).toBe(original.toString().replace('192.168.1.4x', '192.168.1.42'));
    t.send('q');
    await until(() => t.dead() || undefined, 'the wizard to exit', 10_000);
  }, 90_000);

  it('a file that is not valid YAML: the line is named, and nothing is written over it', async () => {
    const { file, original } = initAndEdit((t) => t.replace('  gateway: 192.168.1.1', '  gateway: [192.168.1.1'));
    const t = startWizard(file);
    let screen = await t.waitFor(/is not valid YAML at line \d+/, 20_000);
    expect(screen).toContain('Open the cluster file');
    t.send('Enter');
    screen = await t.waitFor(/✗ .*is not valid YAML at line \d+/);
    expect(screen).toContain('Welcome to boardkube');
    // A new cluster from here leaves the unreadable file alone.
    t.send('n');
    screen = await t.waitFor('Inventory: your boards');
    expect(screen.replace(/\s+/g, ' ')).toContain('the new cluster is saved to a file of its own');
    t.send('C-c');
    await until(() => t.dead() || undefined, 'the wizard to exit', 10_000);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(existsSync(`${file}.bak`)).toBe(false);
  }, 90_000);
});
