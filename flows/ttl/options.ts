// The ttl stage's options: feature gates to set (checked against the catalogue for the cluster's minor at
// parse time, so a removed gate never reaches a component) and the TTL of the proof Job.
import { checkGateSet, type GateComponent } from '../../src/catalog/gates.ts';
import { findRelease } from '../../src/catalog/versions.ts';
import type { ClusterSpec } from '../../src/cluster/spec.ts';
import { InputError, type StageOption, type StepContext } from '../../src/engine/types.ts';

export interface RequestedGate {
  name: string;
  value: boolean;
  components: GateComponent[];
  /** e.g. "already true by default". */
  note?: string;
}

export interface TtlOptions {
  gates: RequestedGate[];
  /** ttlSecondsAfterFinished of the proof Job. */
  proofTtlSeconds: number;
  /** How long the proof Job may take to run (image pull on a board included). */
  finishTimeoutSeconds: number;
  minor: string;
}

export const TTL_OPTIONS: StageOption[] = [
  { name: 'gates', description: 'Feature gates to set, e.g. gates=MemoryQoS=true,PodDeletionCost=false (only gates of the cluster\'s minor; none by default)', default: '' },
  { name: 'proof-ttl', description: 'ttlSecondsAfterFinished of the proof Job, seconds (5..600)', default: '10' },
  { name: 'finish-timeout', description: 'How long the proof Job may take to run, seconds (includes pulling its image)', default: '300' },
];

function text(raw: Record<string, unknown>, name: string, def: string): string {
  const v = raw[name];
  if (v === undefined || v === null || v === '') return def;
  if (typeof v !== 'string') throw new InputError(name, `must be text, got ${typeof v}`);
  return v.trim();
}

function seconds(raw: Record<string, unknown>, name: string, def: string, min: number, max: number): number {
  const t = text(raw, name, def);
  if (!/^\d+$/.test(t)) throw new InputError(name, `"${t}" is not a number of seconds`, `e.g. --set ${name}=${def}`);
  const n = Number(t);
  if (n < min || n > max) throw new InputError(name, `${n} is outside ${min}..${max} seconds`, `e.g. --set ${name}=${def}`);
  return n;
}

/** "A=true,B=false" → gates checked for the minor. Throws InputError naming the gate, the reason and the fix. */
export function parseGates(textValue: string, minor: string): RequestedGate[] {
  const asked: Array<{ name: string; value: boolean }> = [];
  for (const part of textValue.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9]+)=(true|false)$/.exec(part);
    if (!m) throw new InputError('gates', `"${part}" is not NAME=true or NAME=false`, 'e.g. --set gates=MemoryQoS=true,PodDeletionCost=false');
    const [, name = '', v] = m;
    if (asked.some((g) => g.name === name)) throw new InputError('gates', `${name} is given twice`, 'name each gate once');
    asked.push({ name, value: v === 'true' });
  }
  return checkGateSet(asked, { minor }).map((verdict, i) => {
    if (!verdict.ok) throw new InputError('gates', verdict.reason, verdict.fix);
    return { ...asked[i]!, components: verdict.components, note: verdict.note };
  });
}

export function parseTtlOptions(raw: Record<string, unknown>, cluster: Pick<ClusterSpec, 'kubernetesVersion'>): TtlOptions {
  const release = findRelease(cluster.kubernetesVersion);
  if (!release) throw new InputError('kubernetesVersion', `${cluster.kubernetesVersion} is not in the version catalogue`, 'fix kubernetesVersion in the cluster file');
  return {
    gates: parseGates(text(raw, 'gates', ''), release.minor),
    proofTtlSeconds: seconds(raw, 'proof-ttl', '10', 5, 600),
    finishTimeoutSeconds: seconds(raw, 'finish-timeout', '300', 10, 3600),
    minor: release.minor,
  };
}

/** The parsed options of the running stage (`status --verify` probes without --set: then the defaults). */
export function ttlOptions(ctx: Pick<StepContext, 'options' | 'cluster'>): TtlOptions {
  const o = ctx.options as Partial<TtlOptions>;
  if (Array.isArray(o.gates) && typeof o.proofTtlSeconds === 'number' && typeof o.finishTimeoutSeconds === 'number' && o.minor) return o as TtlOptions;
  return parseTtlOptions(typeof ctx.options.gates === 'string' ? ctx.options : { ...ctx.options, gates: '' }, ctx.cluster);
}

export function gatesText(gates: RequestedGate[]): string {
  return gates.map((g) => `${g.name}=${g.value}`).join(',');
}
