// The headless command line, run as a user runs it: the built bin/boardkube.js in a child process.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'bin/boardkube.js');

function boardkube(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, BOARDKUBE_LAB_SPEED: '0', ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let file: string;
let env: Record<string, string>;

beforeAll(() => {
  if (!existsSync(bin)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  dir = mkdtempSync(join(tmpdir(), 'bk-cli-'));
  file = join(dir, 'cluster.yaml');
  env = { BOARDKUBE_STATE_DIR: join(dir, 'state') };
  const key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  expect(boardkube(['init', '-f', file], env).code).toBe(0);
  const spec = parse(readFileSync(file, 'utf8'));
  spec.ssh.keyPath = key;
  writeFileSync(file, stringify(spec));
});

describe('boardkube CLI', () => {
  it('--help lists the commands and exit codes; --version prints the package version', () => {
    const help = boardkube(['--help']);
    expect(help.code).toBe(0);
    for (const word of ['init', 'plan', 'apply', 'status', 'reset', '--lab', 'Exit codes']) expect(help.stdout).toContain(word);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(boardkube(['--version']).stdout.trim()).toBe(pkg.version);
  });

  it('init writes a commented skeleton and refuses to overwrite it', () => {
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('nodes:');
    const again = boardkube(['init', '-f', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists already/);
  });

  it('plan --json is an array of actions with the documented fields', () => {
    const r = boardkube(['plan', '-f', file, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const actions = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) {
      expect(Object.keys(a).sort()).toEqual(expect.arrayContaining(['description', 'node', 'stage', 'step', 'type']));
      expect(['command', 'file', 'manifest', 'api', 'local']).toContain(a.type);
    }
    expect(actions.filter((a) => a.stage === 'configure' && a.step === 'connect').map((a) => a.node)).toEqual(['n2-master', 'n2-worker1', 'n2-worker2', 'n2-worker3', 'n2-worker4']);
  });

  it('a bad cluster file exits 2 and names the field', () => {
    const bad = join(dir, 'bad.yaml');
    const spec = parse(readFileSync(file, 'utf8'));
    spec.nodes[2].address = '192.168.1.256';
    writeFileSync(bad, stringify(spec));
    const r = boardkube(['plan', '-f', bad, '--json'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nodes\[2\]\.address: "192\.168\.1\.256" is not an IPv4 address/);
    expect(r.stdout).toBe('');
  });

  it('unknown stages and options exit 2 before anything runs', () => {
    expect(boardkube(['apply', '-f', file, '--stage', 'kubernetes', '--yes', '--lab'], env)).toMatchObject({ code: 2 });
    expect(boardkube(['plan', '-f', file, '--frobnicate'], env)).toMatchObject({ code: 2 });
    expect(boardkube(['apply', '-f', file, '--stage', 'ttl', '--yes', '--lab'], env).stderr).toMatch(/not available yet/);
  });

  it('plan and status leave no progress behind, and status says where it will be kept', () => {
    const stateDir = join(dir, 'state-look');
    expect(boardkube(['plan', '-f', file, '--lab', '--state-dir', stateDir]).code).toBe(0);
    const s = boardkube(['status', '-f', file, '--lab', '--state-dir', stateDir]);
    expect(s.stdout).toContain(`no saved progress yet (it will be kept in ${join(stateDir, 'homelab.json')})`);
    expect(existsSync(join(stateDir, 'homelab.json'))).toBe(false);
  });

  it('first-login takes passwords from 0600 files only, and never shows them', () => {
    const stateDir = join(dir, 'state-first-login');
    const pw = (name: string, text: string, mode = 0o600) => {
      const f = join(dir, name);
      writeFileSync(f, `${text}\n`, { mode });
      chmodSync(f, mode);
      return f;
    };
    const base = ['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--state-dir', stateDir, '--set', 'first-login=arch-defaults', '--lab-fault', 'n2-worker3:key-not-installed'];
    const open = boardkube([...base, '--password-file', `root=${pw('root-open.pw', 'root', 0o644)}`]);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/--password-file root: .* can be read by others \(mode 644\)/);
    const refused = boardkube([...base, '--password-file', `root=${pw('root-secret.pw', 'S3cret-root')}`, '--lab-fault', 'n2-worker3:wrong-password']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/first-login on n2-worker3: .*refused the password of alarm/);
    expect(refused.stdout + refused.stderr).not.toContain('S3cret-root');
    boardkube(['reset', '-f', file, '--lab', '--state-dir', stateDir, '--stage', 'configure']);
    const right = boardkube([...base, '--lab-fault', 'n2-worker3:none', '--lab-fault', 'n2-worker3:key-not-installed', '--password-file', `root=${pw('root-right.pw', 'root')}`, '--password-file', `alarm=${pw('alarm.pw', 'alarm')}`]);
    expect(right.code, right.stdout).toBe(0);
  });

  it('apply without a terminal asks for --yes instead of hanging', () => {
    const r = boardkube(['apply', '-f', file, '--lab', '--stage', 'configure'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--yes/);
  });

  it('apply in the lab prints plain progress, then status shows the stage done', () => {
    const stateDir = join(dir, 'state-apply');
    const r = boardkube(['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--state-dir', stateDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[configure\] connect n2-worker4: done/);
    const s = boardkube(['status', '-f', file, '--lab', '--json', '--state-dir', stateDir]);
    const status = JSON.parse(s.stdout);
    expect(status.stages.find((x: { stage: string }) => x.stage === 'configure').status).toBe('done');
    expect(status.stages.find((x: { stage: string }) => x.stage === 'ttl').status).toBe('unavailable');
  });

  it('a lab fault fails the step with a clear message and exit 1; the rest of the boards are done', () => {
    const stateDir = join(dir, 'state-fault');
    const r = boardkube(['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--state-dir', stateDir, '--lab-fault', 'n2-worker2:unreachable']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/configure\/connect on n2-worker2: cannot reach n2-worker2 at 192\.168\.1\.42:22/);
    const status = JSON.parse(boardkube(['status', '-f', file, '--lab', '--json', '--state-dir', stateDir]).stdout);
    expect(status.steps['configure/connect@n2-worker1'].status).toBe('done');
    expect(status.steps['configure/connect@n2-worker2'].status).toBe('failed');
  });

  it('a changed host key is refused; reset --forget-host-key lets the next run pin the new one', () => {
    const stateDir = join(dir, 'state-hostkey');
    const base = ['-f', file, '--lab', '--state-dir', stateDir];
    expect(boardkube(['apply', ...base, '--stage', 'configure', '--yes']).code).toBe(0);
    boardkube(['reset', ...base, '--stage', 'configure']);
    const changed = boardkube(['apply', ...base, '--stage', 'configure', '--yes', '--lab-fault', 'n2-worker1:changed-host-key']);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/host key of n2-worker1 .* has changed/);
    expect(changed.stdout).toMatch(/--forget-host-key n2-worker1/);
    expect(boardkube(['reset', ...base, '--forget-host-key', 'n2-worker1']).code).toBe(0);
    expect(boardkube(['apply', ...base, '--stage', 'configure', '--yes']).code).toBe(0);
  });
});
