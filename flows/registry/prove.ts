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

/** What curl's error means for this node's runtime, and the fix (curl's own line stays in the message). */
export function explainProbeError(message: string, node: string, caPath: string, hostPort: string): string {
  if (/curl: \(77\)/.test(message)) {
    return `${message}\n${node} has no CA at ${caPath}: its runtime trusts the registry only through the folder named for exactly the HOST:PORT image references use (${hostPort}; a folder for another port does not count). Run the stage again to write it, and name images ${hostPort}/NAME:TAG.`;
  }
  if (/curl: \(60\)/.test(message)) {
    return `${message}\nThe CA at ${caPath} on ${node} is not the cluster CA that signed the registry's certificate: run the stage again (its trust step writes the master's CA there).`;
  }
  if (/curl: \(7\)/.test(message)) {
    return `${message}\nNothing answers at ${hostPort} from ${node}: images must name the NodePort (--set port), not the registry's port inside its pod (5000).`;
  }
  return message;
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
    const { hostPort } = optionsOf(ctx);
    const caPath = runtimeCaPath(runtimeOf(ctx.cluster), hostPort);
    const code = await answers(ctx).catch((err: Error) => {
      throw new Error(explainProbeError(err.message, ctx.node!.name, caPath, hostPort));
    });
    if (code !== '401') throw new Error(`https://${optionsOf(ctx).hostPort}/v2/ answered ${code} on ${ctx.node!.name}, expected 401 (the registry asking for its password)`);
    return { answer: code, caPath };
  },
  async verify(ctx) {
    return (await answers(ctx).catch(() => '')) === '401';
  },
};
