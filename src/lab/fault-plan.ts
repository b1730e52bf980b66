// A trainer's fault plan (`--lab-faults FILE`, YAML or JSON): which lab fault, on which board (or the cards, a card
// reader, the downloads, the lab's cluster), switched on from the start or when a stage (or one of its steps) starts,
// so every table of a workshop meets the same surprises. Read and checked by name before anything runs: an unknown
// field, board, fault, stage or step is bad input that names the file, line and field and lists the known ones.
//
//   faults:
//     - node: n2-worker2        # a board, cards, /dev/sdX, downloads or cluster (as in --lab-fault NODE:FAULT)
//       fault: slow
//     - node: n2-master
//       fault: swap-on
//       stage: control-plane    # optional: switched on when this stage starts
//       step: preflight         # optional (with stage): when this step starts
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { InputError, STAGE_IDS, type StageId } from '../engine/types.ts';
import { fieldLines, lineOfField, yamlErrorText } from '../util/yaml-lines.ts';
import { parseLabFaults, unknownName, type LabNames } from './faults.ts';

/** One fault of the plan, as --lab-fault writes it ("n2-worker2:slow"), and when it is switched on. */
export interface PlannedLabFault {
  spec: string;
  /** Undefined: on from the start of the run. */
  stage?: StageId;
  /** With stage: when this step of it first starts (on any board). */
  step?: string;
}

export interface FaultPlanNames extends LabNames {
  /** The step ids of each stage. */
  steps(stage: StageId): readonly string[];
}

const ENTRY_FIELDS = ['node', 'fault', 'stage', 'step'] as const;
const EXAMPLE = 'faults: [{node: n2-worker2, fault: slow, stage: configure}]';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads and checks a fault plan; throws InputError naming FILE:LINE and the field. */
export function readLabFaultPlan(path: string, names: FaultPlanNames): PlannedLabFault[] {
  const flag = '--lab-faults';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${flag} ${path}`, code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (e as Error).message})`, `name a YAML or JSON file like ${EXAMPLE}`);
  }
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const { message, line } = yamlErrorText(doc.errors[0]!);
    throw new InputError(`${flag} ${path}${line ? `:${line}` : ''}`, message, 'correct the line named');
  }
  const lines = fieldLines(doc, counter);
  const at = (field: string) => {
    const line = lineOfField(field, lines);
    return `${flag} ${path}${line ? `:${line}` : ''}: ${field}`;
  };
  const raw = doc.toJS() as unknown;
  for (const key of isObj(raw) ? Object.keys(raw) : []) {
    if (key !== 'faults') throw unknownName(at(key), 'a field of a fault plan', key, ['faults']);
  }
  if (!isObj(raw) || !Array.isArray(raw.faults)) throw new InputError(`${flag} ${path}`, 'is not a mapping with a list `faults:`', `write it like ${EXAMPLE}`);
  const planned: PlannedLabFault[] = raw.faults.map((entry: unknown, i: number) => {
    const field = `faults[${i}]`;
    if (!isObj(entry)) throw new InputError(at(field), 'must be a mapping with node and fault', `e.g. ${EXAMPLE}`);
    for (const key of Object.keys(entry)) {
      if (!(ENTRY_FIELDS as readonly string[]).includes(key)) throw unknownName(at(`${field}.${key}`), 'a field of a planned fault', key, [...ENTRY_FIELDS]);
    }
    for (const key of ['node', 'fault'] as const) {
      if (typeof entry[key] !== 'string' || entry[key] === '') throw new InputError(at(`${field}.${key}`), entry[key] === undefined ? 'is missing' : 'must be a name', key === 'node' ? `a board (${names.nodes.join(', ')}), cards, a card reader, downloads or cluster` : 'a fault of the practice lab, e.g. slow (see boardkube --help, --lab-fault)');
    }
    const p: PlannedLabFault = { spec: `${entry.node as string}:${entry.fault as string}` };
    if (entry.stage !== undefined) {
      if (typeof entry.stage !== 'string' || !(STAGE_IDS as readonly string[]).includes(entry.stage)) throw unknownName(at(`${field}.stage`), 'a stage', String(entry.stage), [...STAGE_IDS]);
      p.stage = entry.stage as StageId;
      // A fault of the lab's cluster acts only in the stage it belongs to: it is there from the start.
      if (entry.node === 'cluster') throw new InputError(at(`${field}.stage`), "does not apply to a fault of the lab's cluster", 'leave stage out: the cluster faults act in their own stage (webhook) anyway');
    }
    if (entry.step !== undefined) {
      if (!p.stage) throw new InputError(at(`${field}.step`), 'needs the stage it belongs to', 'add stage: STAGE beside it');
      const steps = names.steps(p.stage);
      if (typeof entry.step !== 'string' || !steps.includes(entry.step)) throw unknownName(at(`${field}.step`), `a step of ${p.stage}`, String(entry.step), [...steps]);
      p.step = entry.step;
    }
    return p;
  });
  // The board or device and the fault, checked by the same rules as --lab-fault.
  parseLabFaults(
    planned.map((p) => p.spec),
    names,
    (_spec, i, part) => at(`faults[${i}].${part}`),
  );
  return planned;
}

/** The faults of the plan that are due when `stage` (or its `step`) starts; stage undefined: at the start. */
export function dueLabFaults(plan: readonly PlannedLabFault[], stage: StageId | undefined, step?: string): string[] {
  return plan.filter((p) => p.stage === stage && p.step === step).map((p) => p.spec);
}
