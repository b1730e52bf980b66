// The webhook stage's options: the mode (default from the catalogue by minor) and the TTL it gives Jobs.
import { defaultWebhookMode, mutatingPolicySupport, type WebhookMode } from '../../src/catalog/admission.ts';
import { findRelease } from '../../src/catalog/versions.ts';
import type { ClusterSpec } from '../../src/cluster/spec.ts';
import { InputError, type StageOption, type StepContext } from '../../src/engine/types.ts';
import { formatDuration, parseDuration } from '../../src/util/duration.ts';

export interface WebhookOptions {
  mode: WebhookMode;
  /** Whether the mode was asked for or is the catalogue's default for the minor (for the explanation). */
  modeChosen: 'asked' | 'default';
  /** The ttlSecondsAfterFinished given to Jobs that have none. */
  ttlSeconds: number;
  minor: string;
}

export const DEFAULT_TTL_SECONDS = 3600;
/** A day is plenty for a default; a Job that must stay longer sets its own TTL. */
const MAX_TTL_SECONDS = 7 * 86400;

export const WEBHOOK_OPTIONS: StageOption[] = [
  {
    name: 'mode',
    description: 'policy: a MutatingAdmissionPolicy inside the API server (from 1.36; no pod, no certificate); webhook: the seed\'s mutating webhook, a small server in the cluster. Default: policy where the cluster has it on, else webhook',
  },
  { name: 'ttl', description: 'ttlSecondsAfterFinished given to Jobs without one: seconds or a duration (1h, 30m)', default: '1h' },
];

function text(raw: Record<string, unknown>, name: string): string | undefined {
  const v = raw[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new InputError(name, `must be text, got ${typeof v}`);
  return v.trim();
}

export function parseWebhookOptions(raw: Record<string, unknown>, cluster: Pick<ClusterSpec, 'kubernetesVersion'>): WebhookOptions {
  const release = findRelease(cluster.kubernetesVersion);
  if (!release) throw new InputError('kubernetesVersion', `${cluster.kubernetesVersion} is not in the version catalogue`, 'fix kubernetesVersion in the cluster file');
  const asked = text(raw, 'mode');
  if (asked !== undefined && asked !== 'policy' && asked !== 'webhook') {
    throw new InputError('mode', `"${asked}" is not a mode`, 'use --set mode=policy (MutatingAdmissionPolicy) or --set mode=webhook (a webhook server)');
  }
  const mode: WebhookMode = (asked as WebhookMode | undefined) ?? defaultWebhookMode(release);
  if (mode === 'policy') {
    const support = mutatingPolicySupport(release);
    if (support.kind === 'absent') throw new InputError('mode', `mode policy cannot work here: ${support.reason}`, 'use --set mode=webhook');
  }
  const ttlText = text(raw, 'ttl') ?? '1h';
  const ttlSeconds = /^\d+$/.test(ttlText) ? Number(ttlText) : parseDuration(ttlText);
  if (ttlSeconds === null || !Number.isFinite(ttlSeconds)) throw new InputError('ttl', `"${ttlText}" is not a duration`, 'use seconds or e.g. 30m, 1h, 1d');
  if (ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new InputError('ttl', `${formatDuration(ttlSeconds)} is outside 1s..7d`, `a Job that must stay longer sets spec.ttlSecondsAfterFinished itself; e.g. --set ttl=1h`);
  }
  return { mode, modeChosen: asked ? 'asked' : 'default', ttlSeconds, minor: release.minor };
}

export function isParsed(options: Record<string, unknown>): boolean {
  const o = options as Partial<WebhookOptions>;
  return (o.mode === 'policy' || o.mode === 'webhook') && typeof o.ttlSeconds === 'number' && !!o.minor;
}

/** The parsed options of the running stage; outside a run (`status --verify`) the defaults of the raw ones. */
export function webhookOptions(ctx: Pick<StepContext, 'options' | 'cluster'>): WebhookOptions {
  if (isParsed(ctx.options)) return ctx.options as unknown as WebhookOptions;
  return parseWebhookOptions(ctx.options, ctx.cluster);
}
