// The built `bin/boardkube.js` run against a real-cluster harness (test/harness/realcluster/), for the stage tests
// on it: the command with the test's environment, and failures that carry the nodes' kubelet/containerd logs.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHarnessClusterFile } from './harness-cluster-file.ts';
import { waitFor } from './realcluster/exec.ts';
import { startRealCluster, type HarnessNode, type RealCluster } from './realcluster/index.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/boardkube.js');

export interface BoardkubeRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HarnessClusterForBoardkube {
  cluster: RealCluster;
  /** master first, then the workers. */
  nodes: HarnessNode[];
  /** The test's temp folder: the cluster file, the state folder, the kubeconfig folder. */
  tmp: string;
  file: string;
  stateDir: string;
  /** Where boardkube merges its context (KUBECONFIG); the folder exists, the file not yet. */
  kubeconfig: string;
  stop(): Promise<void>;
}

/** A harness cluster (a master and the workers named), and a cluster file for boardkube naming them. */
export async function startClusterForBoardkube(name: string, tmpPrefix: string, workers = ['worker1', 'worker2']): Promise<HarnessClusterForBoardkube> {
  const cluster = await startRealCluster();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  const stop = async () => {
    await cluster.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const nodes = await Promise.all(['master', ...workers].map((n) => cluster.startNode({ name: n })));
    const kubeconfig = path.join(tmp, 'kube', 'config');
    fs.mkdirSync(path.dirname(kubeconfig));
    const file = path.join(tmp, 'cluster.yaml');
    writeHarnessClusterFile(file, name, cluster, nodes);
    return { cluster, nodes, tmp, file, stateDir: path.join(tmp, 'state'), kubeconfig, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `env` and `nodes` are read at each call (a test sets them up in beforeAll). */
export function harnessBoardkube(o: { env: () => NodeJS.ProcessEnv; nodes: () => HarnessNode[] }) {
  const logs = (): string => o.nodes().map((n) => n.logs(30)).join('\n');
  return {
    bin: BIN,
    boardkube(args: string[], timeoutMs = 1_200_000): BoardkubeRun {
      const r = spawnSync(process.execPath, [BIN, ...args], { env: o.env(), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    logs,
    /** The harness's waitFor, with the nodes' logs when it gives up. */
    async eventually<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
      try {
        return await waitFor(what, timeoutMs, probe);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${logs()}`);
      }
    },
    expectApplied(r: BoardkubeRun): void {
      if (r.code !== 0) throw new Error(`boardkube apply exited ${r.code}\n${r.stdout.split('\n').slice(-60).join('\n')}\n${r.stderr}\n${logs()}`);
    },
  };
}
