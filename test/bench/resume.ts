// What resuming a finished run costs boardkube itself: every done step re-verified, nothing re-run.
// - resume_verify_ms: a finished practice-lab cluster resumed at lab speed 0 (no simulated waits: only boardkube's
//   own work: opening the progress, the engine, the probes' parsing, the saves). Same session the CLI opens.
// - resume_verify_openssh_ms: the configure stage's done steps re-verified (what a resume and `status --verify` do
//   first) on real OpenSSH test boards (test/harness/system-board.ts) through the real ports: SSH handshakes,
//   host-key pins, sudo, the probes on real shells. kernel-settings cannot pass on this machine (no module loading),
//   so the steps before it are what is verified.
// Medians of 10 (lab) and 7 (OpenSSH) runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSession } from '../../src/app/session.ts';
import { defaultCluster, type ClusterSpec } from '../../src/cluster/spec.ts';
import { MemorySecrets } from '../../src/engine/secrets.ts';
import { startSystemBoard, type SystemBoard } from '../harness/system-board.ts';
import { median, type Metric } from './stats.ts';

export async function benchResumeLab(runs = 10): Promise<Metric> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bk-bench-resume-'));
  const cluster = defaultCluster('/nonexistent');
  process.env.BOARDKUBE_LAB_SPEED = '0';
  try {
    // The read-only kubeconfig goes beside the progress, not into the folder the bench runs from.
    const options = { readonly: { 'kubeconfig-out': join(stateDir, 'readonly.kubeconfig') } };
    const first = openSession({ cluster, stateDir, lab: true, log: false, options });
    // The stages a practice-lab cluster finishes on its own (flash needs cards, control-plane the packages stage).
    const stages = ['configure', 'readonly'] as const;
    if ((await first.engine.run(stages)) !== 'done') throw new Error('the lab run to resume from failed');
    await first.close();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = openSession({ cluster, stateDir, lab: true, log: false, options });
      const t0 = performance.now();
      const outcome = await s.engine.run(stages);
      times.push(performance.now() - t0);
      await s.close();
      if (outcome !== 'done') throw new Error(`resume ${i} ended ${outcome}`);
    }
    return { metric: 'resume_verify_ms', median: median(times), unit: 'ms', runs, boards: 'practice lab at speed 0 (no simulated waits)', stages: stages.join(','), nodes: cluster.nodes.length };
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export async function benchResumeOpenSsh(runs = 7): Promise<Metric> {
  // One board: ssh.port and the key are one per cluster, and every test board has its own port and key.
  const boards: SystemBoard[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'bk-bench-resume-ssh-'));
  try {
    const board = await startSystemBoard({ sudo: 'nopasswd' });
    boards.push(board);
    const base = defaultCluster(board.clientKeyPath);
    const cluster: ClusterSpec = {
      ...base,
      network: { ...base.network, lan: '127.0.0.0/8', gateway: '127.0.0.1', dns: ['127.0.0.1'] },
      ssh: { user: board.user, keyPath: board.clientKeyPath, port: board.port },
      nodes: [{ name: 'n2-master', role: 'control-plane', address: board.address }],
    };
    const open = () => openSession({ cluster, stateDir, lab: false, log: false, secrets: new MemorySecrets() });
    const first = open();
    await first.engine.run(['configure']);
    const done = Object.entries(first.store.steps()).filter(([, r]) => r.status === 'done').length;
    await first.close();
    if (done < 9) throw new Error(`configure on the OpenSSH test boards finished only ${done} steps`);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = open();
      const t0 = performance.now();
      const checks = await s.engine.recheck(['configure']);
      times.push(performance.now() - t0);
      await s.close();
      const bad = checks.filter((c) => !c.ok);
      if (bad.length) throw new Error(`re-verification ${i} found ${bad.map((c) => `${c.step}@${c.node}: ${c.error ?? 'not done'}`).join('; ')}`);
    }
    return { metric: 'resume_verify_openssh_ms', median: median(times), unit: 'ms', runs, boards: 'one OpenSSH test board, ordinary login with sudo', steps_verified: done };
  } finally {
    await Promise.allSettled(boards.map((b) => b.stop()));
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export async function benchResume(): Promise<Metric[]> {
  return [await benchResumeLab(), await benchResumeOpenSsh()];
}

// npx tsx test/bench/resume.ts: run it alone
if (process.argv[1]?.endsWith('bench/resume.ts')) {
  for (const m of await benchResume()) process.stdout.write(`${JSON.stringify(m)}\n`);
}
