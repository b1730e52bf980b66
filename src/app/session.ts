// A session: one cluster file, its saved progress, the ports (real boards or practice lab), the engine and
// the run log. The CLI and the wizard both start here, so they run the very same flows.
import { existsSync } from 'node:fs';
import { STAGES } from '../../flows/index.ts';
import type { ClusterSpec } from '../cluster/spec.ts';
import { Engine } from '../engine/engine.ts';
import { leaseSettings } from '../engine/lease.ts';
import { RunLog } from '../engine/runlog.ts';
import type { Answer } from '../engine/options.ts';
import { MemorySecrets } from '../engine/secrets.ts';
import { StateStore } from '../engine/state.ts';
import { InputError, type Ports, type Secrets, type StageId } from '../engine/types.ts';
import type { HostKeyInfo } from '../ports/host.ts';
import type { LabControls } from '../lab/faults.ts';
import { labCardDevices } from '../lab/cards.ts';
import { dueLabFaults, readLabFaultPlan } from '../lab/fault-plan.ts';
import { makePorts } from './ports.ts';

export interface SessionOptions {
  cluster: ClusterSpec;
  clusterFile?: string;
  stateDir: string;
  lab: boolean;
  /** An existing cluster's kubeconfig: the add-on stages then work on it, and control-plane counts as done. */
  kubeconfig?: string;
  /** Stages the user did by hand (--assume-done): their dependants may run; they are never shown as done. */
  assumeDone?: StageId[];
  parallel?: number;
  options?: Partial<Record<StageId, Record<string, unknown>>>;
  /** Answers for the whole run (CLI --set, --node, ...), routed by the engine to the stages that declare them. */
  answers?: readonly Answer[];
  secrets?: Secrets;
  /** Lab faults to switch on: "node:fault". */
  labFaults?: string[];
  /** A trainer's fault plan (--lab-faults FILE): faults on from the start, or when a stage or step starts. */
  labFaultPlan?: string;
  /** Lab card controls: "insert:DEV" puts an ejected card back. */
  labCards?: string[];
  onHostKeyPinned?: (node: string, key: HostKeyInfo) => void;
  /** Keep a run log (off for read-only commands such as status). */
  log?: boolean;
  /** plan and status: never create saved progress that does not exist yet. */
  readOnly?: boolean;
  /** Boards whose lease a run takes even when another run holds it (--force-unlock NODE). */
  forceUnlock?: string[];
}

export interface Session {
  cluster: ClusterSpec;
  /** Where this cluster's progress is (or will be) saved. */
  statePath: string;
  /** False for a read-only look at a cluster that has no saved progress yet. */
  saved: boolean;
  store: StateStore;
  ports: Ports;
  engine: Engine;
  secrets: Secrets;
  log?: RunLog;
  /** The practice lab's controls (faults, cards); absent on real boards. */
  lab?: LabControls;
  /** Lab faults that are on (none on real boards), for status and the wizard's header. */
  labFaults?(): string[];
  close(): Promise<void>;
}

export function openSession(o: SessionOptions): Session {
  // The fault plan is checked by name before any progress is opened.
  const plan = o.labFaultPlan && o.lab ? readLabFaultPlan(o.labFaultPlan, { nodes: o.cluster.nodes.map((n) => n.name), devices: labCardDevices(o.cluster.nodes.length), steps: (id) => STAGES.find((st) => st.id === id)?.steps.map((x) => x.id) ?? [] }) : [];
  // A read-only look reads the saved progress afresh and never writes it (a run may be writing it right now),
  // and leaves nothing behind for a cluster with no progress yet.
  const saved = existsSync(StateStore.fileFor(o.stateDir, o.cluster.name));
  const store = StateStore.open(o.stateDir, o.cluster.name, { mode: o.lab ? 'lab' : 'real', clusterFile: o.clusterFile, readOnly: o.readOnly });
  if (store.mode !== (o.lab ? 'lab' : 'real')) {
    throw new InputError(
      '--lab',
      `the saved progress of "${o.cluster.name}" (${store.path}) belongs to ${store.mode === 'lab' ? 'the practice lab' : 'real boards'}`,
      `run ${store.mode === 'lab' ? 'with --lab' : 'without --lab'}, or give the cluster another name for a separate run`,
    );
  }
  const secrets = o.secrets ?? new MemorySecrets();
  const log = o.log === false ? undefined : new RunLog(o.stateDir, o.cluster.name, secrets);
  const ports = makePorts({ cluster: o.cluster, store, secrets, lab: o.lab, kubeconfig: o.kubeconfig, stateDir: o.stateDir, labFaults: [...(o.labFaults ?? []), ...dueLabFaults(plan, undefined)], labCards: o.labCards, onHostKeyPinned: o.onHostKeyPinned, log });
  const engine = new Engine({
    cluster: o.cluster,
    stages: STAGES,
    store,
    ports,
    secrets,
    log,
    parallel: o.parallel,
    options: o.options,
    answers: o.answers,
    stateDir: o.stateDir,
    // An existing cluster (--kubeconfig) or the practice lab's simulated one stands in for the control-plane
    // stage, so the add-on stages can run on it.
    assumeDone: [...(o.kubeconfig || o.lab ? (['control-plane'] as StageId[]) : []), ...(o.assumeDone ?? [])],
    leases: leaseSettings(StateStore.fileFor(o.stateDir, o.cluster.name), o.forceUnlock),
  });
  // The practice lab keeps its world as it was before each stage first ran: reset --lab --stage brings it back.
  if (ports.lab) engine.on((e) => e.type === 'stage-start' && ports.lab!.checkpoint(e.stage));
  // The plan's faults for a stage come on after its checkpoint, so reset --lab --stage rehearses them again.
  if (ports.lab && plan.length) {
    const fired = new Set<string>();
    engine.on((e) => {
      if (e.type !== 'stage-start' && e.type !== 'step-start') return;
      const when = e.type === 'step-start' ? `${e.stage}/${e.step}` : e.stage;
      if (fired.has(when)) return;
      fired.add(when);
      const due = dueLabFaults(plan, e.stage, e.type === 'step-start' ? e.step : undefined);
      if (due.length) ports.lab!.setFaults(due);
    });
  }
  return {
    cluster: o.cluster,
    statePath: StateStore.fileFor(o.stateDir, o.cluster.name),
    saved: saved || !o.readOnly,
    store,
    ports,
    engine,
    secrets,
    log,
    lab: ports.lab,
    labFaults: () => ports.lab?.faults() ?? [],
    async close() {
      await ports.close();
      log?.close();
    },
  };
}
