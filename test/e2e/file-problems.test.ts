// Headless commands name the file, line and field of each problem of the cluster file, as a compiler does
// (`cluster.yaml:24: timezon: ...`), through the built bin/boardkube.js; nothing is written.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterYaml } from '../../src/cluster/file.ts';
import { defaultCluster } from '../../src/cluster/spec.ts';
import { boardkubeCommand } from './common.ts';

const dir = mkdtempSync(join(tmpdir(), 'bk-file-problems-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The line (1-based) of the first line of `text` that starts with `start`. */
const lineOf = (text: string, start: string) => text.split('\n').findIndex((l) => l.startsWith(start)) + 1;

function run(...args: string[]) {
  const [node, bin] = boardkubeCommand();
  const r = spawnSync(node!, [bin!, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, BOARDKUBE_STATE_DIR: join(dir, 'state'), NO_COLOR: '1' },
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('problems of the cluster file name file:line: field', () => {
  const good = clusterYaml(defaultCluster(join(dir, 'id_ed25519')));
  // An unknown field and a bad value of the second node.
  const bad = good.replace(/^timezone:/m, 'timezon:').replace('address: 192.168.1.41', 'address: 192.168.1.4x');
  writeFileSync(join(dir, 'cluster.yaml'), bad);
  const tzLine = lineOf(bad, 'timezon:');
  const addrLine = lineOf(bad, '    address: 192.168.1.4x');

  it.each([['plan', '--lab'], ['apply', '--lab'], ['apply']])('%s %s', (...args) => {
    const r = run(...args, '-f', 'cluster.yaml');
    expect(r.code).toBe(2);
    expect(tzLine).toBeGreaterThan(1);
    expect(r.stderr).toContain(`cluster.yaml:${tzLine}: timezon: is not a field of the cluster file (fix: did you mean timezone?`);
    expect(r.stderr).toContain(`cluster.yaml:${addrLine}: nodes[1].address: "192.168.1.4x" is not an IPv4 address`);
    // Nothing touched: the file as written, no progress saved.
    expect(readFileSync(join(dir, 'cluster.yaml'), 'utf8')).toBe(bad);
    expect(existsSync(join(dir, 'state', 'homelab.json'))).toBe(false);
  });

  it('a value of the wrong type names its line', () => {
    const text = good.replace(/^kubernetesVersion: .*$/m, 'kubernetesVersion: 1.37');
    writeFileSync(join(dir, 'number.yaml'), text);
    const r = run('plan', '--lab', '-f', 'number.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`number.yaml:${lineOf(text, 'kubernetesVersion:')}: kubernetesVersion: must be a string`);
  });

  it('a YAML syntax error names its line once, without a field', () => {
    writeFileSync(join(dir, 'syntax.yaml'), 'name: x\nnodes: [1\n');
    const r = run('plan', '--lab', '-f', 'syntax.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^boardkube: syntax\.yaml:3: is not valid YAML at line 3, column 1: /);
  });

  it('a missing top-level field has no line to name: the file alone', () => {
    writeFileSync(join(dir, 'noname.yaml'), good.replace(/^name: .*\n/m, ''));
    const r = run('plan', '--lab', '-f', 'noname.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^boardkube: noname\.yaml: name: /);
  });

  it('a folder in place of the file: the file alone, no field', () => {
    mkdirSync(join(dir, 'folder.yaml'));
    const r = run('plan', '--lab', '-f', 'folder.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('boardkube: folder.yaml: is a folder, not a file (fix: name the cluster file itself)\n');
  });
});
