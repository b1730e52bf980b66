// The packages stage's board steps against real OpenSSH test boards (test/harness/system-board.ts: each its own
// namespace with a private /var/cache/boardkube, logged in as an ordinary user with sudo) through the real ssh2
// adapter, for the fan-out test and bench. The package files are stand-ins of realistic size (random bytes under the
// names makepkg gives): upload and its check never look inside a package; the real packages are built and installed
// by test/stages/packages/build.test.ts.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SshHost } from '../../src/adapters/ssh/host.ts';
import { LocalMachine } from '../../src/adapters/local/local.ts';
import { LocalWorkbench } from '../../src/adapters/local/workbench.ts';
import { findBoard } from '../../src/boards/index.ts';
import { DEFAULT_RELEASE } from '../../src/catalog/versions.ts';
import { defaultCluster, type ClusterSpec, type NodeSpec } from '../../src/cluster/spec.ts';
import { MemorySecrets } from '../../src/engine/secrets.ts';
import type { Ports, StepContext } from '../../src/engine/types.ts';
import type { HostKeyPolicy } from '../../src/ports/host.ts';
import { planBuild } from '../../flows/packages/components.ts';
import { buildDir } from '../../flows/packages/options.ts';
import { packageFile } from '../../flows/packages/pkgbuild.ts';
import { startSystemBoard, type SystemBoard } from './system-board.ts';

export interface UploadRig {
  boards: SystemBoard[];
  nodes: NodeSpec[];
  workbench: LocalWorkbench;
  /** A step context for a node (null: the cluster-wide steps). */
  ctx(node: NodeSpec | null): StepContext;
  /** The stand-in package files (name, path), as the build step leaves them. */
  files: Array<{ file: string; path: string }>;
  hosts: Map<string, SshHost>;
  stop(): Promise<void>;
}

const trusting: HostKeyPolicy = { check: () => ({ ok: true, firstUse: false }), pin: () => {} };

/** n test boards and the packages of the default release (cri-o), `mib` MiB each, in a workbench of its own. */
export async function uploadRig(n: number, mib: number): Promise<UploadRig> {
  const boards: SystemBoard[] = [];
  try {
    for (let i = 0; i < n; i++) boards.push(await startSystemBoard());
  } catch (e) {
    await Promise.allSettled(boards.map((b) => b.stop()));
    throw e;
  }
  const base = defaultCluster('/nonexistent');
  const nodes: NodeSpec[] = boards.map((_, i) => ({ name: i === 0 ? 'n2-master' : `n2-worker${i}`, role: i === 0 ? 'control-plane' : 'worker', address: `127.0.0.${i + 2}` }));
  const cluster: ClusterSpec = { ...base, nodes };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packages-rig-'));
  const workbench = new LocalWorkbench(path.join(dir, 'packages', cluster.name), new LocalMachine());
  const hosts = new Map<string, SshHost>();
  boards.forEach((b, i) => {
    hosts.set(nodes[i]!.name, new SshHost({ node: nodes[i]!.name, address: b.address, port: b.port, user: b.user, privateKeyPath: b.clientKeyPath, hostKeys: trusting, sudoPassword: () => b.sudoPassword, connectTimeoutMs: 10_000 }));
  });
  const ports = {
    mode: 'real',
    workbench,
    local: new LocalMachine(),
    disks: {} as Ports['disks'],
    host: (node: NodeSpec) => hosts.get(node.name)!,
    cluster: async () => {
      throw new Error('no cluster in this rig');
    },
    close: async () => {},
  } as unknown as Ports;
  const ctx = (node: NodeSpec | null): StepContext => ({
    cluster,
    board: findBoard(cluster.board)!,
    release: DEFAULT_RELEASE,
    node,
    ports,
    signal: new AbortController().signal,
    log: () => {},
    progress: () => {},
    outputOf: () => undefined,
    options: { source: { kind: 'upstream' } },
    secrets: new MemorySecrets(),
  });
  const files = planBuild(DEFAULT_RELEASE, 'cri-o').packages.map((p) => {
    const file = packageFile(p);
    const at = path.join(buildDir(ctx(null), p.name), file);
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.writeFileSync(at, randomBytes(mib * 1024 * 1024));
    return { file, path: at };
  });
  return {
    boards,
    nodes,
    workbench,
    ctx,
    files,
    hosts,
    async stop() {
      await Promise.allSettled([...hosts.values()].map((h) => h.close()));
      await Promise.allSettled(boards.map((b) => b.stop()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
