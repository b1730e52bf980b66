// The practice lab through the BUILT command, as a trainer rehearses: `apply --lab --yes` goes through every stage
// up to the workers, `status` shows control-plane and workers done; `reset --boards` brings the boards back to
// "packages done" and removes the context; apply again builds the cluster again.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/boardkube.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-kubeadm-lab-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function bk(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, BOARDKUBE_LAB_SPEED: '0', BOARDKUBE_STATE_DIR: path.join(dir, 'state') }, timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const statusOf = () => Object.fromEntries((JSON.parse(bk(['status', '-f', 'cluster.yaml', '--lab', '--json']).stdout) as { stages: Array<{ stage: string; status: string }> }).stages.map((s) => [s.stage, s.status]));

describe('the lab through boardkube apply', () => {
  it('a full lab run goes through control-plane and workers; reset --boards takes the boards back to packages done', () => {
    expect(bk(['init', '-f', 'cluster.yaml']).code).toBe(0);
    // A stage done by hand lets the next ones run; a name that is no stage is refused; what is not assumed is needed.
    expect(bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes', '--assume-done', 'configur']).stderr).toMatch(/--assume-done: unknown stage "configur"/);
    expect(bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes', '--assume-done', 'configure', '--stage', 'control-plane']).stderr).toMatch(/needs stage "packages" to be done first/);
    const r = bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes']);
    expect(r.code, `${r.stdout.slice(-3000)}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/\[control-plane\] init n2-master: done/);
    expect(r.stdout).toMatch(/\[workers\] join n2-worker4: done/);
    expect(statusOf()).toMatchObject({ configure: 'done', packages: 'done', 'control-plane': 'done', workers: 'done' });
    const kubeconfig = path.join(dir, 'state', 'homelab.lab-kubeconfig');
    expect(fs.readFileSync(kubeconfig, 'utf8')).toContain('name: homelab\n');

    expect(bk(['reset', '-f', 'cluster.yaml', '--lab', '--boards']).code).toBe(2);
    const reset = bk(['reset', '-f', 'cluster.yaml', '--lab', '--boards', '--yes']);
    expect(reset.code, reset.stderr).toBe(0);
    expect(statusOf()).toMatchObject({ packages: 'done', 'control-plane': 'not-started', workers: 'not-started' });
    expect(fs.readFileSync(kubeconfig, 'utf8')).not.toContain('homelab');

    const again = bk(['apply', '-f', 'cluster.yaml', '--lab', '--yes', '--stage', 'control-plane', '--stage', 'workers']);
    expect(again.code, again.stdout.slice(-2000)).toBe(0);
    expect(statusOf()).toMatchObject({ 'control-plane': 'done', workers: 'done' });
  }, 600_000);
});
