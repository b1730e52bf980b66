// `boardkube apply --stage flash` on a real terminal without --yes: the user must type the device's name.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeClusterFile } from '../../src/cluster/file.ts';
import { defaultCluster } from '../../src/cluster/spec.ts';
import { boardkubeCommand, readState, Tmux, until } from './common.ts';

let tmux: Tmux | undefined;
afterEach(() => {
  try {
    tmux?.tmux('kill-server');
  } catch {
    // already gone
  }
  tmux = undefined;
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'bk-flash-confirm-'));
  const file = join(dir, 'cluster.yaml');
  // The lab's card gets the public key written onto it, as a real one would.
  const key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  writeClusterFile(file, defaultCluster(key));
  const env = { BOARDKUBE_STATE_DIR: join(dir, 'state'), BOARDKUBE_LAB_SPEED: '0', NO_COLOR: '1' };
  const argv = [...boardkubeCommand(), 'apply', '-f', file, '--lab', '--stage', 'flash', '--node', 'n2-worker1', '--device', '/dev/sdb'];
  // The pane shows the exit code when boardkube ends, so the test can read it.
  const shell = ['sh', '-c', `${argv.map((a) => `'${a}'`).join(' ')}; echo "exit=$?"`];
  return { dir, env, shell };
}

describe('flash confirmation on a terminal', () => {
  it('a wrong device name stops before anything is touched (exit 2)', async () => {
    const { dir, env, shell } = setup();
    tmux = new Tmux();
    tmux.start(shell, env);
    await tmux.waitFor('Type its name (/dev/sdb) to go on');
    tmux.type('/dev/sda');
    tmux.send('Enter');
    const screen = await tmux.waitFor(/exit=\d+/);
    expect(screen).toMatch(/you typed "\/dev\/sda", not \/dev\/sdb; nothing was touched/);
    expect(screen).toContain('exit=2');
    await until(() => tmux!.dead() || undefined, 'the pane to end').catch(() => undefined);
    // nothing ran: no step of the flash stage was recorded
    const state = (() => {
      try {
        return readState(join(dir, 'state', 'homelab.json'));
      } catch {
        return undefined;
      }
    })();
    expect(Object.keys(state?.steps ?? {}).filter((k) => k.startsWith('flash/'))).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the right name flashes the lab card', async () => {
    const { dir, env, shell } = setup();
    tmux = new Tmux();
    tmux.start(shell, env);
    await tmux.waitFor('Type its name (/dev/sdb) to go on');
    tmux.type('/dev/sdb');
    tmux.send('Enter');
    const screen = await tmux.waitFor(/exit=\d+/, 60_000);
    expect(screen).toContain('exit=0');
    const state = readState(join(dir, 'state', 'homelab.json'));
    expect(state.steps['flash/verify@n2-worker1']?.status).toBe('done');
    rmSync(dir, { recursive: true, force: true });
  });
});
