// Step join: each worker joins with this run's token through a 0600 JoinConfiguration file that is removed
// afterwards (the token is never on a command line), then waits until it is Ready and labelled as a worker.
// All workers at once (the engine's fan-out limit); one failing does not stop the others. A worker that has
// joined already is verified, never joined twice.
import type { PlannedAction, Step, StepContext } from '../../src/engine/types.ts';
import { boardOf, runScript } from '../configure/common.ts';
import { redactTokens } from '../control-plane/common.ts';
import { joinConfig } from '../control-plane/kubeadm-config.ts';
import { nodeReady, waitNodeReady } from '../control-plane/ready.ts';
import { joinedScript, joinScript } from '../control-plane/scripts.ts';
import { endpointOf, JOIN_CONFIG_PATH, localPatchesDir, BOARD_PATCHES_DIR, nodeRegistrationOf, runtimeOf } from '../control-plane/settings.ts';
import { patchActions } from '../control-plane/write-config.ts';
import { workerNodes } from '../../src/cluster/spec.ts';
import { joinCredentials, TOKEN_TTL_MINUTES } from './token.ts';

export const WORKER_LABEL = 'node-role.kubernetes.io/worker';
export const JOIN_TIMEOUT_MS = 15 * 60_000;
const TOKEN_PLACEHOLDER = '<fresh token, made on the master when the step runs>';
const HASH_PLACEHOLDER = '<sha256 of the cluster CA\'s public key, read with the token>';

function joinFile(ctx: StepContext, token: string, caCertHash: string, endpoint: string): string {
  const { node } = boardOf(ctx);
  return joinConfig({ release: ctx.release, node: nodeRegistrationOf(ctx.cluster, node), apiServerEndpoint: endpoint, token, caCertHash, patchesDir: localPatchesDir(ctx.cluster, node) ? BOARD_PATCHES_DIR : undefined });
}

/** The classic join failures, named with what to do. */
export function joinFailureHint(output: string, node: string, endpoint: string): string | undefined {
  if (/expired|invalid or has expired|JWS signature|token id .* is invalid/i.test(output)) {
    return `the master refused the join token as expired or unknown. boardkube makes a new one on every run: check that the master's clock is right (the configure stage sets up time sync), then apply again`;
  }
  if (/connection refused|no route to host|i\/o timeout|dial tcp|unable to fetch the kubeadm-config|couldn't validate the identity/i.test(output)) {
    return `${node} cannot reach the API server at ${endpoint}: is the master up, is port ${endpoint.split(':').pop()} open in its firewall, and does ${endpoint.split(':')[0]} resolve on ${node}?`;
  }
  if (/cgroup|kubelet.*not healthy|kubelet-check/i.test(output)) {
    return `the kubelet on ${node} did not start: a cgroup-driver mismatch between the kubelet (systemd) and the runtime is the classic cause; \`journalctl -u kubelet -n 50\` on ${node}`;
  }
  return undefined;
}

async function labelled(ctx: StepContext): Promise<boolean> {
  const c = await ctx.ports.cluster();
  const n = await c.get('v1', 'Node', ctx.node!.name);
  const labels = (n?.metadata.labels ?? {}) as Record<string, string>;
  return !!n && nodeReady(n) && WORKER_LABEL in labels;
}

async function joinedHere(ctx: StepContext): Promise<boolean> {
  const { host } = boardOf(ctx);
  const r = await host.exec(joinedScript(), { sudo: true, signal: ctx.signal, timeoutMs: 60_000 });
  return r.code === 0;
}

export const joinStep: Step = {
  id: 'join',
  title: 'Join the worker',
  explain:
    'Each worker joins with a token made for this run (valid 30 minutes; a token kept from yesterday would be refused) and checks the master by the hash of the cluster\'s CA, so it cannot be talked into joining another cluster. The token travels in a file only root can read, removed right after the join.',
  nodes: (cluster) => workerNodes(cluster),
  plan(ctx) {
    const endpoint = endpointOf(ctx.cluster).text;
    return [
      { type: 'command', sudo: true, description: `on the master: kubeadm token create --ttl ${TOKEN_TTL_MINUTES}m --print-join-command (once per run; the token stays in memory)` },
      ...patchActions(ctx),
      { type: 'file', sudo: true, mode: 0o600, path: JOIN_CONFIG_PATH, description: `JoinConfiguration for ${ctx.node!.name} (mode 0600, removed after the join)`, content: joinFile(ctx, TOKEN_PLACEHOLDER, HASH_PLACEHOLDER, endpoint) },
      { type: 'command', sudo: true, description: 'kubeadm join with that file, then remove it', content: joinScript(JOIN_CONFIG_PATH, runtimeOf(ctx.cluster).criSocket) },
      { type: 'api', description: `wait until node ${ctx.node!.name} is Ready, then label it ${WORKER_LABEL}` },
    ];
  },
  async run(ctx) {
    const { node, host } = boardOf(ctx);
    const c = await ctx.ports.cluster();
    if (await joinedHere(ctx)) {
      if (!(await c.get('v1', 'Node', node.name))) {
        throw new Error(`${node.name} has joined a cluster before, but this cluster does not know it (the master was set up again?).\n  fix: \`boardkube reset -f FILE --boards --node ${node.name}\`, then apply again`);
      }
      ctx.log(`${node.name} has joined already: not joined again`);
    } else {
      const creds = await joinCredentials(ctx);
      for (const a of patchActions(ctx)) await performPatch(ctx, a);
      await host.writeFile(JOIN_CONFIG_PATH, joinFile(ctx, creds.token, creds.caCertHash, creds.endpoint), { mode: 0o600, sudo: true, signal: ctx.signal });
      const output: string[] = [];
      const onLine = (l: string) => {
        const line = redactTokens(l);
        output.push(line);
        ctx.log(line);
      };
      try {
        await runScript(ctx, host, 'kubeadm join', joinScript(JOIN_CONFIG_PATH, runtimeOf(ctx.cluster).criSocket), { sudo: true, quiet: true, timeoutMs: JOIN_TIMEOUT_MS, onStdout: onLine, onStderr: onLine });
      } catch (err) {
        const hint = joinFailureHint(output.join('\n'), node.name, creds.endpoint);
        throw new Error(`${redactTokens((err as Error).message)}${hint ? `\n  fix: ${hint}` : ''}`);
      }
    }
    await waitNodeReady(ctx, c, node.name);
    await c.apply([{ apiVersion: 'v1', kind: 'Node', metadata: { name: node.name, labels: { [WORKER_LABEL]: '' } } }], { signal: ctx.signal });
    ctx.log(`${node.name} is Ready, labelled ${WORKER_LABEL}`);
    return {};
  },
  async verify(ctx) {
    return (await joinedHere(ctx)) && (await labelled(ctx));
  },
};

async function performPatch(ctx: StepContext, a: PlannedAction): Promise<void> {
  const { host } = boardOf(ctx);
  if (a.type === 'command') await runScript(ctx, host, a.description, a.content ?? '', { sudo: true });
  else if (a.type === 'file' && a.path) await host.writeFile(a.path, a.content ?? '', { mode: a.mode, sudo: true, signal: ctx.signal });
}

