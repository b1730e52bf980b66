// The real-cluster harness after a crash: a test process killed with -9 leaves its node running (sshd, containerd,
// the kubelet's stand-in supervisor, the namespace holder), its namespaces, link, cgroups and folder. The next
// harness cluster on the machine ends all of it, by PID, before it claims its own LAN.
// Needs root and `npm run testbin`.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startRealCluster } from '../../harness/realcluster/index.ts';

const CHILD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../harness/realcluster/crash-child.ts');

interface Left {
  n: number;
  dir: string;
  netns: string;
  cgroupRoot: string;
  pids: number[];
}

function startCrashingRun(): Promise<{ left: Left; kill: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ left: JSON.parse(line) as Left, kill: () => child.kill('SIGKILL') });
    });
    child.on('exit', (code) => reject(new Error(`the crashing run exited (${code}) before its node was up:\n${out}`)));
  });
}

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

describe('real-cluster harness after a crash', () => {
  it('the next cluster ends what a killed run left: processes, namespaces, link, cgroups, folder', async () => {
    const { left, kill } = await startCrashingRun();
    kill();
    await new Promise((r) => setTimeout(r, 500));
    // Left behind, for real: the node outlives the process that started it.
    expect(left.pids.filter(alive).length).toBeGreaterThan(2);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(left.netns);

    const next = await startRealCluster();
    try {
      expect(left.pids.filter(alive)).toEqual([]);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(`harness-${left.n}-`);
      expect(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })).not.toContain(`hrn-${left.n}:`);
      expect(fs.existsSync(path.join('/sys/fs/cgroup/pids', left.cgroupRoot))).toBe(false);
      expect(fs.existsSync(left.dir)).toBe(false);
    } finally {
      await next.stop();
    }
  }, 300_000);
});
