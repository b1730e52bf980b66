// Step prove: from every node, the registry answers over TLS checked with the very CA file its runtime reads.
import { runtimeOf } from '../packages/options.ts';
import type { Step, StepContext } from '../../src/engine/types.ts';
import { probe } from '../configure/common.ts';
import { optionsOf } from './common.ts';
import { runtimeCaPath, tlsProbeScript } from './trust-files.ts';

/** 401: TLS checked, the registry answered and asks for the password, as it should without one. */
function script(ctx: StepContext): string {
  const { hostPort } = optionsOf(ctx);
  return tlsProbeScript(runtimeCaPath(runtimeOf(ctx.cluster), hostPort), hostPort);
}

async function answers(ctx: StepContext): Promise<string> {
  return (await probe(ctx.ports.host(ctx.node!), script(ctx), ctx.signal)).trim();
}

export const proveStep: Step = {
  id: 'prove',
  title: 'Reach the registry from every node',
  explain: "Each node asks the registry for its API over TLS, checking the certificate with the same CA file its runtime uses. A 401 answer (password required) proves the trust and the registry; an x509 error would name what is wrong.",
  nodes: (cluster) => cluster.nodes,
  plan(ctx) {
    return [{ type: 'command', description: `ask https://${optionsOf(ctx).hostPort}/v2/ with the runtime's CA file (expects 401: password required)`, content: script(ctx) }];
  },
  async run(ctx) {
    const code = await answers(ctx);
    if (code !== '401') throw new Error(`https://${optionsOf(ctx).hostPort}/v2/ answered ${code} on ${ctx.node!.name}, expected 401 (the registry asking for its password)`);
    return { answer: code, caPath: runtimeCaPath(runtimeOf(ctx.cluster), optionsOf(ctx).hostPort) };
  },
  async verify(ctx) {
    return (await answers(ctx).catch(() => '')) === '401';
  },
};
