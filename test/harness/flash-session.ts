// Runs the flash stage through the real engine with real ports (this computer, real card readers), without the
// CLI: for tests and the bench. Also a tiny command-line entry used inside the devices-cgroup guard:
//   node --import tsx test/harness/flash-session.ts STATE_DIR CLUSTER_JSON OPTIONS_JSON
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flashStage } from '../../flows/flash/index.ts';
import { RealDisks } from '../../src/adapters/disks/index.ts';
import { LocalMachine } from '../../src/adapters/local/local.ts';
import { defaultCluster, type ClusterSpec } from '../../src/cluster/spec.ts';
import { Engine, type RunOutcome } from '../../src/engine/engine.ts';
import { MemorySecrets } from '../../src/engine/secrets.ts';
import { StateStore } from '../../src/engine/state.ts';
import type { EngineEvent, Ports } from '../../src/engine/types.ts';
import type { Disks } from '../../src/ports/disks.ts';

export function realFlashPorts(disks: Disks = new RealDisks()): Ports {
  return {
    mode: 'real',
    host: () => {
      throw new Error('the flash stage talks to no board');
    },
    local: new LocalMachine(),
    disks,
    cluster: async () => {
      throw new Error('the flash stage talks to no cluster');
    },
    close: async () => {},
  };
}

/** A cluster file for tests, with a real SSH key pair in dir. */
export function testCluster(dir: string, name = 'flashlab'): ClusterSpec {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, 'id_ed25519');
  writeFileSync(`${key}.pub`, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBoardkubeTestKeyForFlashingCardsOnlyAAAAAAA trainer@boardkube\n');
  writeFileSync(key, 'not a real private key\n', { mode: 0o600 });
  return { ...defaultCluster(key), name };
}

export interface FlashRun {
  outcome: RunOutcome;
  events: EngineEvent[];
  log: string[];
  errors: string[];
  store: StateStore;
  engine: Engine;
}

export async function runFlash(o: { stateDir: string; cluster: ClusterSpec; options: Record<string, unknown>; ports?: Ports; signal?: AbortSignal; onEvent?: (e: EngineEvent) => void }): Promise<FlashRun> {
  const store = StateStore.open(o.stateDir, o.cluster.name, { mode: o.ports?.mode ?? 'real' });
  const engine = new Engine({ cluster: o.cluster, stages: [flashStage], store, ports: o.ports ?? realFlashPorts(), secrets: new MemorySecrets(), options: { flash: o.options } });
  const events: EngineEvent[] = [];
  engine.on((e) => {
    events.push(e);
    o.onEvent?.(e);
  });
  const outcome = await engine.run(['flash'], o.signal);
  const log = events.filter((e): e is Extract<EngineEvent, { type: 'log' }> => e.type === 'log').map((e) => `${e.step}${e.node ? `@${e.node}` : ''}: ${e.line}`);
  const errors = events.filter((e): e is Extract<EngineEvent, { type: 'step-end' }> => e.type === 'step-end' && !!e.error).map((e) => e.error!);
  return { outcome, events, log, errors, store, engine };
}

/** What the stage would do, without doing it (`boardkube plan`). */
export async function planFlash(o: { stateDir: string; cluster: ClusterSpec; options: Record<string, unknown>; ports?: Ports }) {
  const store = StateStore.open(o.stateDir, o.cluster.name, { mode: o.ports?.mode ?? 'real' });
  const engine = new Engine({ cluster: o.cluster, stages: [flashStage], store, ports: o.ports ?? realFlashPorts(), secrets: new MemorySecrets(), options: { flash: o.options } });
  return engine.plan(['flash']);
}

// Command-line entry (for the guard test): prints one JSON line with the outcome and errors; exit 2 when a
// step refused bad input, 1 when it failed otherwise.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [stateDir, clusterFile, optionsJson] = process.argv.slice(2);
  const cluster = JSON.parse(readFileSync(clusterFile!, 'utf8')) as ClusterSpec;
  const r = await runFlash({ stateDir: stateDir!, cluster, options: JSON.parse(optionsJson!) as Record<string, unknown> });
  process.stdout.write(`${JSON.stringify({ outcome: r.outcome, errors: r.errors, log: r.log })}\n`);
  process.exitCode = r.outcome === 'done' ? 0 : r.errors.some((e) => /--device|--yes|--image|--node/.test(e)) ? 2 : 1;
}
