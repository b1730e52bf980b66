// A trainer's fault plan (--lab-faults FILE) through the built bin/boardkube.js: faults on from the start or from
// when a stage's step starts, the same for every table; unknown names refused with the file's line (exit 2).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeClusterFile } from '../../src/cluster/file.ts';
import { defaultCluster } from '../../src/cluster/spec.ts';
import { boardkubeCommand, readState } from './common.ts';

const dir = mkdtempSync(join(tmpdir(), 'bk-fault-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'id_ed25519');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
const file = join(dir, 'cluster.yaml');
writeClusterFile(file, defaultCluster(key));

function run(args: string[], stateDir: string) {
  const [node, bin] = boardkubeCommand();
  const r = spawnSync(node!, [bin!, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, BOARDKUBE_STATE_DIR: stateDir, BOARDKUBE_LAB_SPEED: '0', NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function plan(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return name;
}

describe('--lab-faults FILE: a fault plan for rehearsals', () => {
  it('faults come on at the start, or when the planned step starts; status shows them', () => {
    const stateDir = join(dir, 'state-run');
    const f = plan('faults.yaml', ['faults:', '  - node: n2-worker2', '    fault: slow', '  - node: n2-worker3', '    fault: unreachable', '    stage: configure', '    step: kernel', ''].join('\n'));
    const r = run(['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--lab-faults', f], stateDir);
    expect(r.code, r.stderr).toBe(1);
    const steps = readState(join(stateDir, 'homelab.json')).steps;
    // n2-worker3 answered until its kernel step began (the fault was not on from the start), then it did not
    // come back from the kernel step's reboot; the slow board and the others got through that step.
    for (const step of ['connect', 'upgrade']) expect(steps[`configure/${step}@n2-worker3`]?.status).toBe('done');
    expect(steps['configure/kernel@n2-worker3']?.status).toBe('failed');
    for (const n of ['n2-master', 'n2-worker1', 'n2-worker2', 'n2-worker4']) expect(steps[`configure/kernel@${n}`]?.status, n).toBe('done');
    const status = run(['status', '-f', file, '--json'], stateDir);
    expect((JSON.parse(status.stdout) as { labFaults: string[] }).labFaults.sort()).toEqual(['n2-worker2:slow', 'n2-worker3:unreachable']);
  }, 180_000);

  it('a fault planned for a later stage is not on before it starts (JSON works as well)', () => {
    const stateDir = join(dir, 'state-later');
    const f = plan('later.json', JSON.stringify({ faults: [{ node: 'n2-worker1', fault: 'unreachable', stage: 'packages' }] }));
    const r = run(['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--lab-faults', f], stateDir);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(run(['status', '-f', file, '--json'], stateDir).stdout) as { labFaults: string[] }).labFaults).toEqual([]);
  }, 180_000);

  it.each([
    ['node', 'faults:\n  - node: n2-workr3\n    fault: slow\n', /--lab-faults bad\.yaml:2: faults\[0\]\.node: "n2-workr3" is not a board of the practice lab \(fix: did you mean n2-worker3\? known: n2-master, n2-worker1, n2-worker2, n2-worker3, n2-worker4/],
    ['fault', 'faults:\n  - node: n2-worker3\n    fault: unreach\n', /--lab-faults bad\.yaml:3: faults\[0\]\.fault: "unreach" is not a board fault \(fix: did you mean unreachable\? known: unreachable, wrong-password/],
    ['card fault', 'faults:\n  - {node: cards, fault: slow}\n', /bad\.yaml:2: faults\[0\]\.fault: "slow" is not a card fault \(fix: known: card-pulled-out/],
    ['stage', 'faults:\n  - node: n2-worker3\n    fault: slow\n    stage: confgure\n', /bad\.yaml:4: faults\[0\]\.stage: "confgure" is not a stage \(fix: did you mean configure\? known: flash, configure/],
    ['step', 'faults:\n  - node: n2-worker3\n    fault: slow\n    stage: configure\n    step: upgrad\n', /bad\.yaml:5: faults\[0\]\.step: "upgrad" is not a step of configure \(fix: did you mean upgrade\? known: first-login, connect/],
    ['field', 'faults:\n  - node: n2-worker3\n    falt: slow\n', /bad\.yaml:3: faults\[0\]\.falt: "falt" is not a field of a planned fault \(fix: did you mean fault\? known: node, fault, stage, step\)/],
    ['top-level field', 'fault:\n  - node: n2-worker3\n', /bad\.yaml:1: fault: "fault" is not a field of a fault plan \(fix: did you mean faults\?/],
    ['YAML', 'faults: [\n', /--lab-faults bad\.yaml:2: is not valid YAML at line 2/],
  ])('an unknown %s is refused with its line, before anything runs (exit 2)', (_what, text, message) => {
    const stateDir = join(dir, 'state-bad');
    const r = run(['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--lab-faults', plan('bad.yaml', text)], stateDir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(stateDir, 'homelab.json'))).toBe(false);
  });

  it('a missing file, and real boards, are refused', () => {
    const missing = run(['apply', '-f', file, '--lab', '--lab-faults', 'nothere.yaml'], join(dir, 'state-missing'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--lab-faults nothere.yaml: does not exist');
    const real = run(['apply', '-f', file, '--stage', 'configure', '--yes', '--lab-faults', plan('ok.yaml', 'faults: []\n')], join(dir, 'state-real'));
    expect(real.code).toBe(2);
    expect(real.stderr).toContain('--lab-faults: works only in the practice lab');
  });

  it('--help documents it', () => {
    const help = run(['--help'], join(dir, 'state-help')).stdout;
    expect(help).toContain('--lab-faults FILE');
    expect(help).toContain('boardkube apply -f FILE --lab --lab-faults faults.yaml');
  });
});
