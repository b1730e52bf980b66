// The join token of this run: made fresh on the master the first time a worker needs it (short TTL), kept in
// memory only (a secret: redacted from every log line), shared by the workers joining in parallel. The CA hash
// and the endpoint come with it, as the master sees them.
import type { StepContext } from '../../src/engine/types.ts';
import { controlPlaneNode } from '../../src/cluster/spec.ts';
import { runScript } from '../configure/common.ts';
import { tokenCreateScript } from '../control-plane/scripts.ts';

export const JOIN_TOKEN_SECRET = 'join-token';
/** Long enough for a slow fan-out, short enough that a token seen by someone is useless soon. */
export const TOKEN_TTL_MINUTES = 30;
/** A token older than this is not handed to another worker (it could expire during that worker's join). */
const REUSE_MS = 15 * 60_000;

export interface JoinCredentials {
  token: string;
  caCertHash: string;
  endpoint: string;
}

/** Reads `kubeadm token create --print-join-command`'s line. */
export function parseJoinCommand(stdout: string): JoinCredentials {
  const m = /kubeadm join (\S+) --token (\S+) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})/.exec(stdout);
  if (!m) throw new Error('kubeadm token create printed no join command (its output is not shown: it holds the token)');
  return { endpoint: m[1]!, token: m[2]!, caCertHash: m[3]! };
}

const made = new WeakMap<object, { at: number; creds: Promise<JoinCredentials> }>();

export function joinCredentials(ctx: StepContext): Promise<JoinCredentials> {
  const key = ctx.secrets;
  const known = made.get(key);
  if (known && Date.now() - known.at < REUSE_MS) return known.creds;
  const creds = (async () => {
    const master = controlPlaneNode(ctx.cluster);
    ctx.log(`making a join token on ${master.name} (valid ${TOKEN_TTL_MINUTES} minutes)`);
    const r = await runScript(ctx, ctx.ports.host(master), 'kubeadm token create', tokenCreateScript(TOKEN_TTL_MINUTES), { sudo: true, quiet: true });
    const c = parseJoinCommand(r.stdout);
    ctx.secrets.set(JOIN_TOKEN_SECRET, c.token);
    return c;
  })();
  made.set(key, { at: Date.now(), creds });
  creds.catch(() => made.delete(key));
  return creds;
}
