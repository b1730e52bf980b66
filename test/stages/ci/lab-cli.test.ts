// The whole journey in the practice lab through the BUILT command, as a trainer rehearses it: every board's card
// flashed, then `apply --lab --yes` runs every other stage, ci included, and `status` shows every stage done.
// `plan --stage ci --json`, in the lab and for real boards from the cluster file alone, holds the pipeline file
// and no secret value (the known values: the password files the run wrote).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { STAGE_IDS } from '../../../src/engine/types.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/boardkube.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-ci-lab-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function bk(args: string[], stateDir = path.join(dir, 'state')) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, BOARDKUBE_LAB_SPEED: '0', BOARDKUBE_STATE_DIR: stateDir }, timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('a full practice-lab run through the built boardkube', () => {
  it('goes through ci; status shows every stage done; plan --json of ci holds the pipeline file and no secret', () => {
    const key = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    expect(bk(['init', '-f', 'cluster.yaml']).code).toBe(0);
    const file = path.join(dir, 'cluster.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^(\s*keyPath:).*$/m, `$1 ${key}`));
    const nodes = [...fs.readFileSync(file, 'utf8').matchAll(/^\s*- name: (\S+)/gm)].map((m) => m[1]!);
    expect(nodes.length).toBe(5);
    // The lab's card readers, one card per board (each flashed card is ejected).
    const devices = ['/dev/sda', '/dev/sdb', '/dev/mmcblk0', '/dev/sdd', '/dev/sde'];
    nodes.forEach((n, i) => {
      const f = bk(['apply', '-f', 'cluster.yaml', '--lab', '--stage', 'flash', '--node', n, '--device', devices[i]!, '--yes']);
      expect(f.code, `${f.stdout.slice(-1500)}\n${f.stderr}`).toBe(0);
    });
    const r = bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes']);
    expect(r.code, `${r.stdout.slice(-3000)}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/\[ci\] prove: done/);
    expect(r.stdout).toMatch(/a push of [0-9a-f]{8} runs the pipeline +ok/);
    const status = JSON.parse(bk(['status', '-f', 'cluster.yaml', '--lab', '--json']).stdout) as { stages: Array<{ stage: string; status: string }> };
    expect(Object.fromEntries(status.stages.map((s) => [s.stage, s.status]))).toEqual(Object.fromEntries(STAGE_IDS.map((id) => [id, 'done'])));
    // Probed again in a new process (the OAuth secret no longer in memory): every step still holds.
    const verify = bk(['status', '-f', 'cluster.yaml', '--lab', '--verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).not.toMatch(/no longer done/);

    const secrets = [path.join(dir, 'state', 'homelab-forge-admin.password'), path.join(dir, 'state', 'homelab', 'registry.password')].map((f) => fs.readFileSync(f, 'utf8').trim());
    for (const s of secrets) expect(s.length).toBeGreaterThanOrEqual(24);
    const plans = [bk(['plan', '-f', 'cluster.yaml', '--lab', '--stage', 'ci', '--json']), bk(['plan', '-f', 'cluster.yaml', '--stage', 'ci', '--json'], path.join(dir, 'state-real'))];
    for (const p of plans) {
      expect(p.code, p.stderr).toBe(0);
      const actions = JSON.parse(p.stdout) as Array<{ stage: string; step: string; path?: string; content?: string }>;
      const pipeline = actions.find((a) => a.step === 'sample' && a.path?.endsWith(':.woodpecker.yaml'));
      expect(pipeline?.content).toMatch(/--destination "192\.168\.1\.40:30500\/app:\$\{CI_COMMIT_SHA\}"/);
      expect(pipeline?.content).toMatch(/from_secret: registry_docker_config/);
      for (const s of secrets) expect(p.stdout.includes(s)).toBe(false);
    }
    for (const s of secrets) expect(r.stdout.includes(s) || r.stderr.includes(s)).toBe(false);
  }, 600_000);
});
