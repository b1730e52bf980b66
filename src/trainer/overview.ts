// One overview of many clusters (a trainer's room): stage by stage, the first failure, when it last changed.
// Strictly read-only: it reads the progress files, takes no lock and opens no board, so it never blocks a run.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { STAGES } from '../../flows/index.ts';
import { loadClusterFile } from '../cluster/file.ts';
import type { ClusterSpec } from '../cluster/spec.ts';
import { Engine } from '../engine/engine.ts';
import { lockHolder } from '../engine/lock.ts';
import { MemorySecrets } from '../engine/secrets.ts';
import { StateStore, type StateSummary } from '../engine/state.ts';
import { InputError, type Ports, type StageId, type StageStatus } from '../engine/types.ts';

export interface ClusterOverview {
  cluster: string;
  clusterFile: string | null;
  stateFile: string | null;
  mode: 'real' | 'lab' | null;
  updatedAt: string | null;
  stages: Partial<Record<StageId, StageStatus | 'running'>>;
  /** The first line of each failed step's error. */
  failures: string[];
  /** Why this row could not be read completely (a missing cluster file, an unreadable progress file). */
  problem?: string;
}

/** Ports that refuse every use: the overview computes status from saved progress only. */
const NO_PORTS: Ports = {
  mode: 'real',
  host() {
    throw new Error('the overview never connects to a board');
  },
  get local(): never {
    throw new Error('the overview runs nothing');
  },
  get disks(): never {
    throw new Error('the overview touches no disk');
  },
  cluster() {
    return Promise.reject(new Error('the overview never calls a cluster'));
  },
  close: () => Promise.resolve(),
};

function readSpec(file: string | undefined): { spec?: ClusterSpec; problem?: string } {
  if (!file) return { problem: 'the progress does not name its cluster file' };
  try {
    return { spec: loadClusterFile(file, { checkKeyFile: false }) };
  } catch (e) {
    return { problem: (e as Error).message.split('\n')[0] };
  }
}

function overviewOf(summary: StateSummary, stateDir: string): ClusterOverview {
  const row: ClusterOverview = { cluster: summary.cluster, clusterFile: summary.clusterFile ?? null, stateFile: summary.path, mode: summary.mode, updatedAt: summary.updatedAt, stages: {}, failures: [] };
  const data = JSON.parse(readFileSync(summary.path, 'utf8')) as { steps?: Record<string, { status: string; error?: string }> };
  const steps = data.steps ?? {};
  for (const rec of Object.values(steps)) if (rec.status === 'failed' && rec.error) row.failures.push(rec.error.split('\n')[0]!);
  const { spec, problem } = readSpec(summary.clusterFile);
  if (problem) row.problem = problem;
  if (spec) {
    const store = StateStore.open(stateDir, summary.cluster, { mode: summary.mode, readOnly: true });
    const engine = new Engine({ cluster: spec, stages: STAGES, store, ports: NO_PORTS, secrets: new MemorySecrets() });
    for (const st of STAGES) row.stages[st.id] = engine.stageStatus(st.id);
  }
  // A step recorded as running is a run in progress when a run holds the cluster's lock (otherwise one killed
  // mid-step, which the computed status already shows as partly done): say so over the computed status.
  const live = lockHolder(stateDir, summary.cluster) !== undefined;
  for (const [key, rec] of Object.entries(steps)) {
    if (rec.status !== 'running' || !live) continue;
    const stage = key.slice(0, key.indexOf('/')) as StageId;
    row.stages[stage] = 'running';
  }
  return row;
}

/** Every cluster saved in a state directory. */
export function overviewOfStateDir(stateDir: string): ClusterOverview[] {
  return StateStore.list(stateDir).map((s) =>
    'error' in s ? { cluster: s.cluster, clusterFile: null, stateFile: s.path, mode: null, updatedAt: null, stages: {}, failures: [], problem: s.error } : overviewOf(s, stateDir),
  );
}

/** The clusters of a room.yaml (`boardkube workshop` wrote it), saved or not yet. */
export function overviewOfRoom(roomFile: string, stateDir: string): ClusterOverview[] {
  let room: { kind?: string; tables?: Array<{ cluster?: string; file?: string }> };
  try {
    room = parse(readFileSync(roomFile, 'utf8')) as typeof room;
  } catch (e) {
    throw new InputError('-f', `${roomFile} cannot be read as a room file: ${(e as Error).message.split('\n')[0]}`, 'pass the room.yaml that `boardkube workshop` wrote');
  }
  if (room?.kind !== 'Room' || !Array.isArray(room.tables)) throw new InputError('-f', `${roomFile} is not a room file (kind: Room with tables)`, 'pass the room.yaml that `boardkube workshop` wrote, or leave -f out to list every saved cluster');
  const saved = new Map(StateStore.list(stateDir).filter((s): s is StateSummary => !('error' in s)).map((s) => [s.cluster, s]));
  return room.tables.map((t) => {
    const file = resolve(dirname(roomFile), t.file ?? '');
    const cluster = t.cluster ?? '';
    const s = saved.get(cluster);
    if (s) return overviewOf({ ...s, clusterFile: s.clusterFile ?? file }, stateDir);
    return { cluster, clusterFile: existsSync(file) ? file : null, stateFile: null, mode: null, updatedAt: null, stages: {}, failures: [], problem: existsSync(file) ? undefined : `${file} does not exist` };
  });
}

const SHORT: Record<string, string> = { done: 'done', failed: 'FAIL', running: 'run', 'in-progress': 'part', recheck: 'chk', 'not-started': '-', unavailable: 'n/a' };

/** The overview as a table that fits a trainer's terminal: one row per table, one column per stage. */
export function overviewTable(rows: readonly ClusterOverview[]): string {
  const ids = STAGES.map((s) => s.id);
  const width = Math.max(7, ...rows.map((r) => r.cluster.length));
  const head = `${'cluster'.padEnd(width)}  ${ids.map((id) => id.slice(0, 5).padEnd(5)).join(' ')}  last change`;
  const lines = [head];
  for (const r of rows) {
    const cells = ids.map((id) => (SHORT[r.stages[id] ?? 'not-started'] ?? '?').padEnd(5)).join(' ');
    lines.push(`${r.cluster.padEnd(width)}  ${cells}  ${r.updatedAt ?? 'never'}`);
    if (r.failures[0]) lines.push(`${' '.repeat(width)}  first failure: ${r.failures[0]}`);
    if (r.problem) lines.push(`${' '.repeat(width)}  note: ${r.problem}`);
  }
  if (rows.length === 0) lines.push('(no saved cluster in this state directory)');
  return lines.join('\n');
}
