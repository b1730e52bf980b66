// One "computer" driving real OpenSSH test boards, for test/locks/board-lease.test.ts: a process that takes the
// cluster's lock in its own state directory and runs the real engine, with its board leases, through the real
// ssh2 adapter. The stage is a stand-in: the boards are this machine, where configure must never run for real,
// so each step appends one line to a work log on the board (and checks it is there). Events go to stdout as
// JSON lines; exit 0 done, 1 failed, 2 refused, like `boardkube apply`.
//
// argv: CONFIG.json = { stateDir, cluster (ClusterSpec), ports: {node: port}, keys: {node: privateKeyPath},
//                       workLog: {node: path}, name, steps, stepSeconds, forceUnlock?: string[] }
import { readFileSync } from 'node:fs';
import { SshHost } from '../../src/adapters/ssh/host.ts';
import type { ClusterSpec, NodeSpec } from '../../src/cluster/spec.ts';
import { Engine } from '../../src/engine/engine.ts';
import { pinnedHostKeys } from '../../src/engine/hostkeys.ts';
import { leaseSettings } from '../../src/engine/lease.ts';
import { lockCluster } from '../../src/engine/lock.ts';
import { MemorySecrets } from '../../src/engine/secrets.ts';
import { StateStore } from '../../src/engine/state.ts';
import { InputError, type Ports, type Stage, type Step } from '../../src/engine/types.ts';

interface Config {
  stateDir: string;
  cluster: ClusterSpec;
  ports: Record<string, number>;
  keys: Record<string, string>;
  workLog: Record<string, string>;
  /** The computer's name, in every work-log line. */
  name: string;
  steps: number;
  stepSeconds: number;
  forceUnlock?: string[];
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Config;
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

function work(i: number): Step {
  const line = (node: NodeSpec) => `${cfg.name} work-${i} ${node.name}`;
  return {
    id: `work-${i}`,
    title: `stand-in work ${i}`,
    explain: 'a stand-in for a stage step: appends a line to the board work log',
    nodes: (c) => c.nodes,
    plan: (ctx) => [{ type: 'command', description: 'append to the work log', content: `sleep ${cfg.stepSeconds}; echo '${line(ctx.node!)}' >>'${cfg.workLog[ctx.node!.name]}'` }],
    verify: async (ctx) => (await ctx.ports.host(ctx.node!).exec(`grep -qx '${line(ctx.node!)}' '${cfg.workLog[ctx.node!.name]}'`)).code === 0,
  };
}

const stage: Stage = { id: 'configure', title: 'stand-in', summary: 'stand-in work on every board', requires: [], steps: Array.from({ length: cfg.steps }, (_, i) => work(i + 1)) };

try {
  const lock = await lockCluster(cfg.stateDir, cfg.cluster.name, { command: 'lease-driver' });
  say({ type: 'locked', runId: lock.holder.runId, pid: process.pid });
  const store = StateStore.open(cfg.stateDir, cfg.cluster.name, { mode: 'real' });
  const keys = pinnedHostKeys(store);
  const hosts = new Map<string, SshHost>();
  const ports: Ports = {
    mode: 'real',
    host: (node) => {
      let h = hosts.get(node.name);
      if (!h) hosts.set(node.name, (h = new SshHost({ node: node.name, address: node.address, port: cfg.ports[node.name], user: 'root', privateKeyPath: cfg.keys[node.name]!, hostKeys: keys })));
      return h;
    },
    get local(): never {
      throw new Error('the stand-in stage runs nothing on this computer');
    },
    get disks(): never {
      throw new Error('the stand-in stage touches no disk');
    },
    cluster: () => Promise.reject(new Error('no cluster')),
    close: async () => {
      await Promise.allSettled([...hosts.values()].map((h) => h.close()));
    },
  };
  const engine = new Engine({ cluster: cfg.cluster, stages: [stage], store, ports, secrets: new MemorySecrets(), leases: leaseSettings(store.path, cfg.forceUnlock ?? []) });
  engine.on((e) => say(e));
  const outcome = await engine.run(['configure'], undefined, { holder: lock.holder });
  await ports.close();
  lock.release();
  process.exit({ done: 0, failed: 1, cancelled: 130, refused: 2 }[outcome]);
} catch (e) {
  say({ type: 'error', message: (e as Error).message });
  process.exit(e instanceof InputError ? 2 : 1);
}
