// The kernel modules and sysctl settings Kubernetes needs, now and after every boot.
import type { Step } from '../../src/engine/types.ts';
import type { Host } from '../../src/ports/host.ts';
import { boardOf, probe } from './common.ts';
import { judgeKernelSettings, KERNEL_SETTINGS_PROBE, MODPROBE_SCRIPT, MODULES_LOAD_CONF, MODULES_LOAD_PATH, SYSCTL_APPLY_SCRIPT, SYSCTL_CONF, SYSCTL_PATH, type ScriptOptions, type Verdict } from './scripts.ts';

/** The live values, and the two files with boardkube's content (so the settings survive a reboot). */
export async function checkKernelSettings(host: Host, opts: ScriptOptions & { signal?: AbortSignal } = {}): Promise<Verdict> {
  const v = judgeKernelSettings(await probe(host, KERNEL_SETTINGS_PROBE, opts.signal), host.node);
  for (const [path, want] of [
    [MODULES_LOAD_PATH, MODULES_LOAD_CONF],
    [SYSCTL_PATH, SYSCTL_CONF],
  ] as const) {
    const have = await host.readFile(`${opts.root ?? ''}${path}`, { signal: opts.signal }).then(
      (b) => b.toString(),
      () => undefined,
    );
    if (have !== want) v.problems.push(`${path} on ${host.node} ${have === undefined ? 'is missing' : 'differs from what boardkube writes'}`);
  }
  return { ...v, ok: v.problems.length === 0 };
}

export const kernelSettingsStep: Step = {
  id: 'kernel-settings',
  title: 'Load the kernel modules and set the sysctls Kubernetes needs',
  explain:
    'Containers keep their files on overlayfs, and pod traffic crosses a Linux bridge that iptables must see (br_netfilter, bridge-nf-call-iptables). The board must also forward packets between pods and the network (ip_forward).',
  nodes: (c) => c.nodes,
  plan: () => [
    { type: 'file', description: `load overlay and br_netfilter at every boot (${MODULES_LOAD_PATH})`, path: MODULES_LOAD_PATH, content: MODULES_LOAD_CONF, mode: 0o644, sudo: true },
    { type: 'command', description: 'load them now', content: MODPROBE_SCRIPT, sudo: true },
    { type: 'file', description: `bridge traffic through iptables and forward packets (${SYSCTL_PATH})`, path: SYSCTL_PATH, content: SYSCTL_CONF, mode: 0o644, sudo: true },
    { type: 'command', description: 'apply the sysctl settings now', content: SYSCTL_APPLY_SCRIPT, sudo: true },
  ],
  async verify(ctx) {
    const { host } = boardOf(ctx);
    const v = await checkKernelSettings(host, { signal: ctx.signal });
    for (const p of v.problems) ctx.log(p);
    return v.ok;
  },
};
