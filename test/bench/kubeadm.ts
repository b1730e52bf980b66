// init_to_ready_s and join_fanout_ratio, real: the BUILT `boardkube apply` over SSH on the real-cluster harness
// (test/harness/realcluster/). init_to_ready_s: from the start of the control-plane stage's init step to the master
// Ready with CoreDNS running. join_fanout_ratio: the workers stage joining two workers at once, over the same stage
// joining one (1.0 would be perfect fan-out; the boards share this machine's two cores, a real LAN would not).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGES_INSTALLED, writeHarnessClusterFile } from '../harness/harness-cluster-file.ts';
import { startRealCluster } from '../harness/realcluster/index.ts';
import { median, type Metric } from './stats.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/boardkube.js');

/** Runs the built CLI; the time (ms since start) each output line arrived. */
function apply(args: string[], env: NodeJS.ProcessEnv): Promise<Array<{ at: number; line: string }>> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const lines: Array<{ at: number; line: string }> = [];
    const child = spawn(process.execPath, [BIN, 'apply', ...args, '--yes'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let rest = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const parts = (rest + d).split('\n');
      rest = parts.pop()!;
      for (const line of parts) lines.push({ at: performance.now() - t0, line });
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(lines) : reject(new Error(`boardkube apply ${args.join(' ')} exited ${code}: ${lines.slice(-20).map((l) => l.line).join('\n')}\n${err}`))));
  });
}

function at(lines: Array<{ at: number; line: string }>, re: RegExp): number {
  const hit = lines.find((l) => re.test(l.line));
  if (!hit) throw new Error(`no line matching ${re} in the output`);
  return hit.at;
}

export async function benchKubeadm(): Promise<Metric[]> {
  const cluster = await startRealCluster();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-bench-kubeadm-'));
  try {
    const nodes = await Promise.all(['master', 'worker1', 'worker2', 'worker3'].map((name) => cluster.startNode({ name })));
    const env = { ...process.env, KUBECONFIG: path.join(tmp, 'kubeconfig'), BOARDKUBE_STATE_DIR: path.join(tmp, 'state') };
    const one = path.join(tmp, 'one.yaml');
    const three = path.join(tmp, 'three.yaml');
    writeHarnessClusterFile(one, 'bkbench', cluster, nodes.slice(0, 2));
    writeHarnessClusterFile(three, 'bkbench', cluster, nodes);

    const cp = await apply(['-f', one, ...PACKAGES_INSTALLED, '--stage', 'control-plane'], env);
    const initToReady = (at(cp, /^\[control-plane\] ready master: done/) - at(cp, /^\[control-plane\] init master: /)) / 1000;

    const single = await apply(['-f', one, '--stage', 'workers'], env);
    const joinOne = at(single, /^== done/) - at(single, /^== workers/);
    // worker1 has joined (verified, not run again); worker2 and worker3 join together.
    const pair = await apply(['-f', three, '--stage', 'workers'], env);
    const joinTwo = at(pair, /^== done/) - at(pair, /^== workers/);
    return [
      { metric: 'init_to_ready_s', median: median([initToReady]), unit: 's', runs: 1, where: 'real-cluster harness (netns nodes, containerd)' },
      { metric: 'join_fanout_ratio', median: median([joinTwo / joinOne]), unit: 'ratio', runs: 1, one_worker_s: Math.round(joinOne / 100) / 10, two_workers_s: Math.round(joinTwo / 100) / 10 },
    ];
  } finally {
    await cluster.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
