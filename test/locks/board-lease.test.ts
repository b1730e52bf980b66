// One run at a time per board, across computers: two "computers" (two processes, two state directories) drive
// the same real OpenSSH test boards (test/harness/sshd.ts) through the real engine and ssh2 adapter
// (test/locks/lease-driver.ts; its stage is a stand-in, since these boards are this machine). The second is
// refused by the boards' lease naming the first; after a kill -9 of the first its lease expires (a short
// BOARDKUBE_LEASE_TTL) and the second goes on; --force-unlock takes a board from a live run, which then stops
// working on it. The lease scripts pass shellcheck.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCluster, type ClusterSpec } from '../../src/cluster/spec.ts';
import { leaseReadScript, leaseWriteScript, parseLease } from '../../src/engine/lease.ts';
import { until } from '../e2e/common.ts';
import { startBoard, type Board } from '../harness/sshd.ts';

const TTL = 8;
const NODES = ['board-1', 'board-2'];

let root: string;
let boards: Board[] = [];
let cluster: ClusterSpec;
const leaseFile: Record<string, string> = {};
const workLog: Record<string, string> = {};
const children: ChildProcess[] = [];

interface Computer {
  child: ChildProcess;
  events: () => Array<Record<string, unknown>>;
  out: () => string;
  exit: Promise<number | null>;
}

/** Starts one computer's run: its own state directory, the same boards. */
function computer(name: string, o: { steps?: number; stepSeconds?: number; forceUnlock?: string[] } = {}): Computer {
  const stateDir = join(root, name);
  mkdirSync(stateDir, { recursive: true });
  const config = join(root, `${name}-${Date.now()}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      stateDir,
      cluster,
      ports: Object.fromEntries(NODES.map((n, i) => [n, boards[i]!.port])),
      keys: Object.fromEntries(NODES.map((n, i) => [n, boards[i]!.clientKeyPath])),
      workLog,
      name,
      steps: o.steps ?? 3,
      stepSeconds: o.stepSeconds ?? 0.2,
      forceUnlock: o.forceUnlock,
    }),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lease-driver.ts'), config], {
    env: { ...process.env, BOARDKUBE_LEASE_TTL: String(TTL) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const events = () => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, events, out: () => text, exit };
}

const ended = (c: Computer, status: string) => c.events().filter((e) => e.type === 'step-end' && e.status === status);
const workLines = (node: string) => (existsSync(workLog[node]!) ? readFileSync(workLog[node]!, 'utf8').split('\n').filter(Boolean) : []);
const lease = (node: string) => (existsSync(leaseFile[node]!) ? parseLease(readFileSync(leaseFile[node]!, 'utf8')) : undefined);

describe('board leases across computers (real OpenSSH boards)', () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'bk-lease-'));
    // Each board keeps its lease and work log in its own folder, as separate machines would.
    boards = await Promise.all(
      NODES.map((n) => {
        mkdirSync(join(root, n));
        leaseFile[n] = join(root, n, 'lease');
        workLog[n] = join(root, n, 'work.log');
        // HOME: root's own .bashrc (pyenv rehash, which leaves a stale lock when a kill -9 cuts a login off) is not read.
        return startBoard({ setEnv: { BOARDKUBE_LEASE_FILE: leaseFile[n]!, HOME: join(root, n) } });
      }),
    );
    cluster = { ...defaultCluster('/nonexistent'), nodes: NODES.map((n, i) => ({ name: n, role: i === 0 ? 'control-plane' : 'worker', address: boards[i]!.address })) };
  }, 120_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.allSettled(boards.map((b) => b.stop()));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the lease scripts pass shellcheck (sh and bash)', () => {
    for (const script of [leaseReadScript(), leaseWriteScript('0'.repeat(64), "node=a\ncommand=it's"), leaseWriteScript('0'.repeat(64), null)]) {
      for (const shell of ['sh', 'bash']) {
        const r = spawnSync('shellcheck', ['-s', shell, '-'], { input: script, encoding: 'utf8' });
        expect(r.status, `${r.stdout}\n${script}`).toBe(0);
      }
    }
  });

  it('a second computer is refused naming the first; after kill -9 the lease expires and the second goes on', async () => {
    const first = computer('laptop-a', { steps: 40, stepSeconds: 0.5 });
    await until(() => NODES.every((n) => workLines(n).length > 0), 'the first computer working on both boards', 60_000);
    const holder = lease('board-1')!;
    expect(holder).toMatchObject({ node: 'board-1', cluster: 'homelab', command: 'lease-driver', pid: first.child.pid, progress: join(root, 'laptop-a', 'homelab.json'), ttl: TTL });

    const second = computer('laptop-b');
    expect(await second.exit, second.out()).toBe(2);
    const refusal = ended(second, 'failed').map((e) => String(e.error)).join('\n');
    expect(refusal).toMatch(new RegExp(`another run is working on board-\\d: cluster "homelab" from \\S+ \\(lease-driver, PID ${first.child.pid}, run ${holder.run.slice(0, 8)}, progress ${join(root, 'laptop-a')}/homelab.json`));
    expect(refusal).toMatch(/--force-unlock board-\d/);
    // The refused computer ran nothing on the boards.
    for (const n of NODES) expect(workLines(n).every((l) => l.startsWith('laptop-a ')), n).toBe(true);
    expect(first.child.exitCode, 'the first computer goes on').toBeNull();

    first.child.kill('SIGKILL');
    await first.exit;
    // The dead run's lease stays on the boards until it expires; then the second computer takes them.
    expect(lease('board-1')?.run).toBe(holder.run);
    let third: Computer | undefined;
    let refusedAfterKill = 0;
    for (let i = 0; i < 30; i++) {
      const c = computer('laptop-b');
      const code = await c.exit;
      if (code === 0) {
        third = c;
        break;
      }
      expect(code, c.out()).toBe(2);
      expect(ended(c, 'failed').map((e) => String(e.error)).join('\n')).toMatch(new RegExp(`PID ${first.child.pid}, .* its lease expires in \\d+ s`));
      refusedAfterKill++;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(third, 'the second computer went on once the lease expired').toBeDefined();
    expect(refusedAfterKill, 'the lease outlived its run until it expired').toBeGreaterThan(0);
    for (const n of NODES) {
      const lines = workLines(n);
      // The second computer's steps came after every line of the first (whose last command may have finished on the
      // board after its laptop died), each once per board (a board freed earlier than the other may have had its
      // first step done by an attempt that the other board still refused).
      const b = lines.filter((l) => l.startsWith('laptop-b '));
      expect(b).toEqual(['work-1', 'work-2', 'work-3'].map((w) => `laptop-b ${w} ${n}`));
      expect(lines.indexOf(b[0]!)).toBeGreaterThan(lines.findLastIndex((l) => l.startsWith('laptop-a ')));
      // A run that ends frees its boards.
      expect(lease(n), n).toBeUndefined();
    }
  }, 180_000);

  it('--force-unlock NODE takes a board from a live run, says whose lease it overrode; that run stops working on it', async () => {
    const first = computer('laptop-c', { steps: 40, stepSeconds: 0.3 });
    await until(() => lease('board-2')?.pid === first.child.pid && lease('board-1')?.pid === first.child.pid, 'the first computer holding both boards', 60_000);
    const second = computer('laptop-d', { steps: 1, forceUnlock: ['board-2'] });
    expect(await second.exit, second.out()).toBe(2);
    const notes = second.events().filter((e) => e.type === 'log' && e.node === 'board-2').map((e) => String(e.line));
    expect(notes.join('\n')).toMatch(new RegExp(`--force-unlock board-2: overriding the lease of cluster "homelab" from \\S+ \\(lease-driver, PID ${first.child.pid}, `));
    // board-1 was not named: still refused there; board-2 was taken and worked on, then freed.
    expect(ended(second, 'failed').map((e) => `${e.node}: ${e.error}`).join('\n')).toMatch(/^board-1: .*another run is working on board-1/m);
    expect(ended(second, 'done').map((e) => e.node)).toEqual(['board-2']);
    const code = await first.exit;
    expect(code, first.out()).toBe(1);
    expect(ended(first, 'failed').map((e) => `${e.node}: ${e.error}`).join('\n')).toMatch(/board-2: .*the lease on board-2 was taken over by cluster "homelab" from .*this run stopped working on board-2/);
  }, 120_000);
});
