// Bad input to the registry stage, through the BUILT command on the practice lab: an address that is no node's, a
// password file that exists and is not the stage's, a NodePort another Service holds, a master without the cluster
// CA. Each: exit 2, a message naming what is wrong and the fix, and nothing touched (no step after the check ran,
// no password file written, the user's file unchanged).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/boardkube.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-registry-bad-input-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function bk(args: string[], stateDir = path.join(dir, 'state')) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, BOARDKUBE_LAB_SPEED: '0', BOARDKUBE_STATE_DIR: stateDir }, timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const TO_WORKERS = ['--stage', 'configure', '--stage', 'packages', '--stage', 'control-plane', '--stage', 'workers'];

/** The registry stage's step records: "step@node" -> status and how often it ran. */
function registrySteps(stateDir = path.join(dir, 'state')): Record<string, { status: string; runs?: number }> {
  const s = JSON.parse(bk(['status', '-f', 'cluster.yaml', '--lab', '--json'], stateDir).stdout) as { steps: Record<string, { status: string; runs?: number }> };
  return Object.fromEntries(Object.entries(s.steps).filter(([k]) => k.startsWith('registry/')).map(([k, v]) => [k.slice('registry/'.length), { status: v.status, runs: v.runs }]));
}

function expectRefused(r: { code: number; stdout: string; stderr: string }, what: RegExp): void {
  expect(r.code, `${r.stdout.slice(-2000)}\n${r.stderr}`).toBe(2);
  expect(`${r.stdout}\n${r.stderr}`).toMatch(what);
}

beforeAll(() => {
  expect(bk(['init', '-f', 'cluster.yaml']).code).toBe(0);
  const r = bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes', ...TO_WORKERS]);
  expect(r.code, r.stdout.slice(-2000)).toBe(0);
}, 300_000);

describe('bad input to the registry stage', () => {
  const passwordFile = path.join(dir, 'state', 'homelab', 'registry.password');

  it('an address that is not a node\'s: refused before the run, naming the nodes\' addresses', () => {
    const r = bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes', '--stage', 'registry', '--set', 'address=192.168.1.99']);
    expectRefused(r, /address: "192\.168\.1\.99" is not the address of a node in the cluster file/);
    expect(r.stderr).toMatch(/use one of: 192\.168\.1\.40 \(n2-master\)/);
    expect(registrySteps()).toEqual({});
    expect(fs.existsSync(passwordFile)).toBe(false);
  });

  it('a password file that exists and is not the stage\'s: never overwritten, nothing else done', () => {
    const mine = path.join(dir, 'notes.txt');
    fs.writeFileSync(mine, 'my own notes\n');
    const r = bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes', '--stage', 'registry', '--set', `password-file=${mine}`]);
    expectRefused(r, /password-file: .*notes\.txt exists already and was not written by this stage \(fix: name another file with --set password-file=PATH/);
    expect(fs.readFileSync(mine, 'utf8')).toBe('my own notes\n');
    expect(Object.keys(registrySteps())).toEqual(['check@-']);
  });

  it('a NodePort another Service holds: refused naming that Service and a free port', () => {
    // A first registry takes NodePort 30500; a second one in another namespace may not.
    const first = bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes', '--stage', 'registry']);
    expect(first.code, first.stdout.slice(-2000)).toBe(0);
    const before = registrySteps();
    const r = bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes', '--stage', 'registry', '--set', 'namespace=second-registry']);
    expectRefused(r, /port: NodePort 30500 is taken by Service boardkube-registry\/registry in the cluster \(fix: choose a free one, e\.g\. --set port=30501\)/);
    const after = registrySteps();
    for (const [step, rec] of Object.entries(before)) if (step !== 'check@-') expect(after[step], step).toEqual(rec);
    // The registry's own Service on its port is no conflict: the same run again is fine.
    expect(bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes', '--stage', 'registry']).code).toBe(0);
  });

  it('a master without the cluster CA: refused naming the files and the fix', () => {
    // Another lab whose control plane and workers the user says are done: its master never ran kubeadm init.
    const other = path.join(dir, 'other-state');
    const r = bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes', '--assume-done', 'configure', '--assume-done', 'packages', '--assume-done', 'control-plane', '--assume-done', 'workers', '--stage', 'registry'], other);
    expectRefused(r, /cluster CA: cannot read \/etc\/kubernetes\/pki\/ca\.crt and \/etc\/kubernetes\/pki\/ca\.key on n2-master/);
    expect(r.stderr + r.stdout).toMatch(/run the control-plane stage first/);
    expect(Object.keys(registrySteps(other))).toEqual(['check@-']);
    expect(fs.existsSync(path.join(other, 'homelab', 'registry.password'))).toBe(false);
  });
});
