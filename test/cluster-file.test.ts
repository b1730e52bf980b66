// Reading and writing cluster.yaml: the one reader the CLI and the wizard share (values as written, problems
// with their lines, YAML errors with theirs) and the writer that keeps the user's comments and a .bak copy.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterYaml, loadClusterFile, readClusterFile, writeClusterFile } from '../src/cluster/file.ts';
import { defaultCluster } from '../src/cluster/spec.ts';
import { InvalidClusterError } from '../src/cluster/validate.ts';

const dir = mkdtempSync(join(tmpdir(), 'bk-clusterfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'id_ed25519');
writeFileSync(key, 'a readable file standing in for a key', { mode: 0o600 });
let n = 0;
function fileWith(text: string): string {
  const f = join(dir, `c${n++}.yaml`);
  writeFileSync(f, text);
  return f;
}
const good = () => clusterYaml(defaultCluster(key));
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('readClusterFile', () => {
  it('reads a valid file into its spec, with no problems', () => {
    const r = readClusterFile(fileWith(good()));
    expect(r.problems).toEqual([]);
    expect(r.spec?.nodes).toHaveLength(5);
    expect(r.unreadable).toBeUndefined();
  });

  it('keeps the values as written and puts each problem on its line', () => {
    const text = good().replace('192.168.1.42', '192.168.1.4x').replace('  gateway: 192.168.1.1', '  gateway: 10.0.0.1');
    const r = readClusterFile(fileWith(text));
    expect(r.spec).toBeUndefined();
    expect((r.raw as { nodes: Array<{ address: string }> }).nodes[2]!.address).toBe('192.168.1.4x');
    const addr = r.problems.find((p) => p.field === 'nodes[2].address')!;
    expect(addr.line).toBe(lineOf(text, '192.168.1.4x'));
    expect(r.problems.find((p) => p.field === 'network.gateway')!.line).toBe(lineOf(text, 'gateway: 10.0.0.1'));
    expect(r.lines.network).toBe(lineOf(text, 'network:'));
  });

  it('puts a missing field on the line of the map that lacks it', () => {
    const text = good().replace(/^ {4}address: 192\.168\.1\.43\n/m, '');
    const r = readClusterFile(fileWith(text));
    const p = r.problems.find((x) => x.field === 'nodes[3].address')!;
    expect(p.message).toBe('is missing');
    expect(p.line).toBe(lineOf(text, 'name: n2-worker3'));
  });

  it('names the line and column of a YAML syntax error, and marks the file unreadable', () => {
    const text = good().replace('  gateway: 192.168.1.1', '  gateway: [192.168.1.1');
    const r = readClusterFile(fileWith(text));
    expect(r.unreadable?.message).toMatch(/^is not valid YAML at line \d+, column \d+: /);
    expect(r.unreadable?.line).toBeGreaterThan(0);
    expect(r.problems).toEqual([r.unreadable]);
  });

  it('says when the file is missing or a folder', () => {
    expect(readClusterFile(join(dir, 'none.yaml'))).toMatchObject({ exists: false, problems: [{ field: '-f' }] });
    const folder = join(dir, 'folder.yaml');
    mkdirSync(folder);
    expect(readClusterFile(folder).unreadable?.message).toBe('is a folder, not a file');
  });

  it('loadClusterFile throws the same problems for the CLI', () => {
    const f = fileWith(good().replace('192.168.1.42', '192.168.1.4x'));
    expect(() => loadClusterFile(f)).toThrow(InvalidClusterError);
    expect(() => loadClusterFile(f)).toThrow(/nodes\[2\]\.address: "192\.168\.1\.4x" is not an IPv4 address/);
    expect(() => loadClusterFile(fileWith('a: [1\n'))).toThrow(/is not valid YAML at line 2/);
  });
});

describe('writeClusterFile', () => {
  it('writes a new file with the explaining comments and no backup', () => {
    const f = join(dir, 'new', 'cluster.yaml');
    const w = writeClusterFile(f, defaultCluster(key));
    expect(w).toEqual({ path: f });
    expect(readFileSync(f, 'utf8')).toBe(good());
    expect(existsSync(`${f}.bak`)).toBe(false);
  });

  it('over a file it keeps the previous version as .bak, the user comments, and the file mode', () => {
    const before = good().replace('name: homelab', 'name: shed # the garden shed').replace('\nnodes:', '\n# five boards on the shelf\nnodes:');
    const f = fileWith(before);
    chmodSync(f, 0o600);
    const spec = { ...defaultCluster(key), name: 'shed' };
    spec.nodes = spec.nodes.slice(0, 4);
    spec.nodes[3] = { ...spec.nodes[3]!, address: '192.168.1.77' };
    const w = writeClusterFile(f, spec);
    expect(w.backup).toBe(`${f}.bak`);
    expect(readFileSync(`${f}.bak`, 'utf8')).toBe(before);
    const after = readFileSync(f, 'utf8');
    expect(after).toContain('name: shed # the garden shed');
    expect(after).toContain('# five boards on the shelf');
    expect(after).toContain('192.168.1.77');
    expect(after).not.toContain('n2-worker4');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readClusterFile(f).spec).toEqual(spec);
  });

  it('fresh (init --force): a new commented file, the old one kept as .bak', () => {
    const before = good().replace('name: homelab', 'name: shed # mine');
    const f = fileWith(before);
    const w = writeClusterFile(f, defaultCluster(key), { fresh: true });
    expect(readFileSync(f, 'utf8')).toBe(good());
    expect(readFileSync(w.backup!, 'utf8')).toBe(before);
  });

  it('drops fields the spec does not have (the .bak keeps them) and leaves an unchanged file alone', () => {
    const before = `${good()}timezon: Europe/Paris\n`;
    const f = fileWith(before);
    writeClusterFile(f, defaultCluster(key));
    expect(readFileSync(f, 'utf8')).not.toContain('timezon:');
    expect(readFileSync(`${f}.bak`, 'utf8')).toBe(before);
    rmSync(`${f}.bak`);
    expect(writeClusterFile(f, defaultCluster(key)).backup).toBeUndefined();
    expect(existsSync(`${f}.bak`)).toBe(false);
  });
});
