// Step runtime: the container runtime started now and at every boot, and the kubelet enabled. The kubelet has
// nothing to run until kubeadm init or join configures it: until then systemd restarts it every 10 s, as planned.
import { RUNTIME_FACTS } from '../../src/catalog/packages.ts';
import { installedByHand, runtimeOf } from './options.ts';
import type { Step, StepContext } from '../../src/engine/types.ts';
import { boardOf, runAction } from '../configure/common.ts';
import { q } from '../configure/scripts.ts';
import { enableRuntimeScript } from './scripts.ts';

function facts(ctx: StepContext) {
  const f = RUNTIME_FACTS[runtimeOf(ctx.cluster)];
  return { ...f, socketPath: f.criSocket.replace(/^unix:\/\//, '') };
}

export const runtimeStep: Step = {
  id: 'runtime',
  title: 'Start the container runtime, enable the kubelet',
  explain:
    'Starts the container runtime and makes it start at boot, and waits for its socket. The kubelet is enabled but not configured yet: it restarts every 10 s until kubeadm init or join gives it its configuration (that is expected).',
  nodes: (c) => c.nodes,
  skip: installedByHand,
  plan: (ctx) => {
    const f = facts(ctx);
    return [{ type: 'command', description: `start ${f.service} now and at boot, enable kubelet.service`, content: enableRuntimeScript(f.service, f.socketPath), sudo: true }];
  },
  async run(ctx, actions) {
    const { host } = boardOf(ctx);
    for (const a of actions) await runAction(ctx, host, a, { timeoutMs: 120_000 });
  },
  async verify(ctx) {
    const { host } = boardOf(ctx);
    const f = facts(ctx);
    const r = await host.exec(`systemctl is-active --quiet ${q(f.service)} && systemctl is-enabled --quiet ${q(f.service)} && systemctl is-enabled --quiet kubelet.service && [ -S ${q(f.socketPath)} ]`, { sudo: true, signal: ctx.signal, timeoutMs: 60_000 });
    return r.code === 0;
  },
};
