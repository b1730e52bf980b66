// The built wizard in a real terminal (tmux) beside a headless `boardkube apply` on the same practice-lab
// cluster: while the apply runs, the wizard's run is refused with who and since when, and it can watch that
// run's progress read-only until it ends; the wizard, open all along, never wrote the progress (each step ran
// once). While the wizard runs a stage, a headless run on the cluster is refused naming the wizard.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../../src/engine/types.ts';
import { boardkubeCommand, tmuxPerTest, until } from '../e2e/common.ts';

const per = tmuxPerTest();

describe('the wizard and a headless run on one cluster (tmux, built bin)', () => {
  it('refused with who and since when; watches read-only until the run ends; its own run refuses the CLI', async () => {
    const dir = per.tempDir('bk-locks-wizard-');
    const cmd = boardkubeCommand();
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id_ed25519')]);
    const file = join(dir, 'cluster.yaml');
    execFileSync(cmd[0]!, [...cmd.slice(1), 'init', '-f', file], { cwd: dir });
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^  keyPath: .*$/m, `  keyPath: ${join(dir, 'id_ed25519')}`));
    const state = join(dir, 'state');
    const env = { ...process.env, BOARDKUBE_STATE_DIR: state, BOARDKUBE_LAB_SPEED: '0.15', NO_COLOR: '1' };
    const bk = (args: string[]) => spawnSync(cmd[0]!, [...cmd.slice(1), ...args, '-f', file], { env, encoding: 'utf8', timeout: 60_000 });

    // The headless run first.
    const apply = spawn(cmd[0]!, [...cmd.slice(1), 'apply', '-f', file, '--lab', '--yes', '--stage', 'configure'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    apply.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    apply.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const applied = new Promise<number | null>((r) => apply.on('exit', (code) => r(code)));
    await until(() => /^== configure$/m.test(out), 'the apply to start', 30_000);

    // The wizard on the same cluster: open, go to configure, try to run it.
    const t = per.tmux();
    t.start([...cmd, '-f', file, '--lab'], { BOARDKUBE_STATE_DIR: state, BOARDKUBE_LAB_SPEED: '0.15', NO_COLOR: '1' }, { columns: 110, rows: 34 }, dir);
    const welcome = await t.waitFor(/(Resume|Open) homelab/, 20_000);
    // The saved cluster says it is being worked on (not "cut off").
    expect(welcome).toMatch(/being worked on now by boardkube apply/);
    expect(welcome).not.toMatch(/cut off/);
    t.send('Enter');
    await t.waitFor('Enter runs this stage', 20_000);
    await t.pressUntil('2', (s) => s.includes('configure: Configure the boards'));
    t.send('Enter');
    let screen = await t.waitFor('Another run is working on "homelab"', 20_000);
    // Who (the command, its PID and computer) and since when, wrapped inside the dialog's frame.
    expect(screen).toMatch(/│ boardkube apply -f \S+ --lab --yes\s/);
    expect(screen).toMatch(new RegExp(`│ --stage configure \\(PID ${apply.pid} on \\S+, since \\d\\d:\\d\\d:\\d\\d UTC, \\d+ s ago\\)`));
    expect(screen).toMatch(/w\s+watch its progress/);
    expect(apply.exitCode).toBeNull();

    // Watch it, read-only, until it ends.
    t.send('w');
    screen = await t.waitFor('Watching (read-only)', 10_000);
    expect(await applied, out).toBe(0);
    screen = await t.waitFor('That run has ended', 20_000);
    // The wizard was open the whole time and wrote nothing: the apply's progress is whole, each step once.
    const steps = (JSON.parse(readFileSync(join(state, 'homelab.json'), 'utf8')) as { steps: Record<string, StepRecord> }).steps;
    expect(Object.keys(steps).length).toBeGreaterThan(10);
    for (const [key, rec] of Object.entries(steps)) {
      expect(['done', 'skipped'], key).toContain(rec.status);
      if (rec.status === 'done') expect(rec.runs, key).toBe(1);
    }

    // Now the wizard runs configure again (its records forgotten first, so the run takes a while) ...
    expect(bk(['reset', '--lab', '--stage', 'configure']).status).toBe(0);
    t.send('Enter');
    await until(() => /"running"/.test(readFileSync(join(state, 'homelab.json'), 'utf8')) || undefined, 'the wizard to run a step', 30_000);
    // ... and a headless run on the cluster is refused, naming the wizard.
    const refused = bk(['apply', '--lab', '--yes', '--stage', 'configure']);
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`another run is working on "homelab": boardkube \\(the wizard\\) \\(PID ${t.pid()} `));
    const status = JSON.parse(bk(['status', '--lab', '--json']).stdout) as { runningNow: { command: string } | null };
    expect(status.runningNow?.command).toBe('boardkube (the wizard)');
    t.send('q');
  }, 180_000);
});
