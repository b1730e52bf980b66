// The mainline kernel. The ODROID-N2's vendor kernel (4.9) is too old for kubeadm and has no cgroup v2, which the
// kubelet requires from Kubernetes 1.35 on. This step installs the profile's kernel in place of the vendor one,
// writes mainline U-Boot and the boot script, reboots, waits for the board and proves the result.
import type { BoardProfile } from '../../src/boards/types.ts';
import type { PlannedAction, Step, StepContext } from '../../src/engine/types.ts';
import { HostError, type Host } from '../../src/ports/host.ts';
import { boardOf, probe, runAction } from './common.ts';
import { sleep } from '../../src/util/sleep.ts';
import {
  BOOT_TXT_PATH,
  bootloaderWriteScript,
  judgeKernel,
  KERNEL_PROBE,
  kernelInstallScript,
  kernelPackages,
  mkimageScript,
  parseKernelFacts,
  REBOOT_SCRIPT,
  renderBootTxt,
  type KernelFacts,
  type Verdict,
} from './scripts.ts';

/** How long a board may take to come back after the reboot. */
export const REBOOT_TIMEOUT_MS = 5 * 60_000;

export async function readKernel(host: Host, signal?: AbortSignal): Promise<KernelFacts> {
  return parseKernelFacts(await probe(host, KERNEL_PROBE, signal, { timeoutMs: 30_000 }));
}

function judge(ctx: StepContext, f: KernelFacts): Verdict {
  return judgeKernel(f, { requiresCgroupV2: ctx.release.requiresCgroupV2, node: ctx.node!.name, kernelPackage: ctx.board.kernelPackage, minor: ctx.release.minor });
}

export function kernelPlan(board: BoardProfile): PlannedAction[] {
  const actions: PlannedAction[] = [];
  const replaced = board.replacesKernels.length ? ` in place of ${board.replacesKernels.join(', ')}` : '';
  actions.push({ type: 'command', description: `install ${kernelPackages(board).join(', ')}${replaced}`, content: kernelInstallScript(board), sudo: true });
  const uboot = bootloaderWriteScript(board);
  if (uboot) actions.push({ type: 'command', description: `write ${board.bootloader.package} onto the disk holding /boot (only if it differs)`, content: uboot, sudo: true });
  const bootTxt = renderBootTxt(board);
  if (bootTxt) {
    actions.push({ type: 'file', description: `write the boot script source ${BOOT_TXT_PATH} for ${board.kernelPackage}`, path: BOOT_TXT_PATH, content: bootTxt, mode: 0o644, sudo: true });
    actions.push({ type: 'command', description: 'compile it to /boot/boot.scr (mkimage)', content: mkimageScript(), sudo: true });
  }
  actions.push({ type: 'command', description: `reboot into ${board.kernelPackage}, wait up to ${REBOOT_TIMEOUT_MS / 60_000} minutes for the board, then check the kernel and cgroup v2`, content: REBOOT_SCRIPT, sudo: true });
  return actions;
}

/** What to tell a person whose board did not come back. */
function minutes(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} minutes` : `${Math.round(ms / 1000)} s`;
}

export function notBackMessage(ctx: StepContext, cause: string, timeoutMs = REBOOT_TIMEOUT_MS): string {
  const b = ctx.board;
  const node = ctx.node!;
  return [
    `${node.name} (${node.address}) did not come back within ${minutes(timeoutMs)} after the reboot into ${b.kernelPackage} (${cause.split('\n')[0]}).`,
    'What to check:',
    '  - Is the power LED on, and does the network port blink?',
    ...b.firstBootHints.filter((h) => /switch/i.test(h)).map((h) => `  - ${h}`),
    `  - A serial console (${b.boot.console.replace(/,.*$/, '')}, ${b.boot.console.split(',')[1]?.replace(/n8$/, '') ?? '115200'} baud) shows whether U-Boot finds /boot/boot.scr and whether ${b.kernelPackage} starts.`,
    '  - If the kernel starts but the network does not, the board may have a new address: check your router\'s DHCP leases.',
    'When the board answers again, run the configure stage again: it continues here and checks the new kernel.',
  ].join('\n');
}

/**
 * Sends the reboot, then waits until the board answers with a new boot id (an answer with the old one means the
 * board has not gone down yet). Throws the "did not come back" message after `timeoutMs`.
 */
export async function rebootAndWait(ctx: StepContext, host: Host, bootBefore: string, timeoutMs = REBOOT_TIMEOUT_MS): Promise<KernelFacts> {
  ctx.log(`rebooting ${host.node} ...`);
  try {
    const r = await host.exec(REBOOT_SCRIPT, { sudo: true, signal: ctx.signal, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`"${REBOOT_SCRIPT}" exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  } catch (e) {
    // The connection dropping under the command is the reboot working.
    if (!(e instanceof HostError && (e.kind === 'disconnected' || e.kind === 'timeout'))) throw e;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await host.reconnect({ timeoutMs: Math.max(1000, deadline - Date.now()), signal: ctx.signal });
    } catch (e) {
      if (e instanceof HostError && (e.kind === 'timeout' || e.kind === 'unreachable')) throw new Error(notBackMessage(ctx, e.message, timeoutMs));
      throw e;
    }
    let facts: KernelFacts | undefined;
    try {
      facts = await readKernel(host, ctx.signal);
    } catch (e) {
      // The old system went down under the probe: keep waiting for the new one.
      if (!(e instanceof HostError) || e.kind === 'host-key-changed' || e.kind === 'auth' || e.kind === 'aborted') throw e;
      ctx.log(`not ready yet: ${e.message.split('\n')[0]}`);
    }
    // Same boot id: the board answered before it went down. Wait for the reboot proper.
    if (facts && (!bootBefore || facts.boot !== bootBefore)) return facts;
    if (Date.now() > deadline) {
      throw new Error(facts ? `${host.node} did not reboot: "${REBOOT_SCRIPT}" was sent, but the board kept running for ${minutes(timeoutMs)}` : notBackMessage(ctx, 'it stopped answering', timeoutMs));
    }
    await sleep(2000, ctx.signal);
  }
}

export const kernelStep: Step = {
  id: 'kernel',
  title: 'Install the mainline kernel and reboot into it',
  explain:
    'kubeadm accepts kernels 5.4, 5.10, 5.15 and 6.x or later, and from Kubernetes 1.35 the kubelet needs cgroup v2. The ODROID-N2\'s vendor kernel (4.9) has neither, so the board gets the mainline kernel, a boot script for it and mainline U-Boot, then reboots. Skipped when the board already runs a suitable kernel.',
  nodes: (c) => c.nodes,
  async skip(ctx) {
    const { host } = boardOf(ctx);
    const f = await readKernel(host, ctx.signal);
    if (judge(ctx, f).ok) return `${ctx.node!.name} runs kernel ${f.kernel} with cgroup v2 already`;
    return undefined;
  },
  plan: (ctx) => kernelPlan(ctx.board),
  async run(ctx, actions) {
    const { host } = boardOf(ctx);
    const before = await readKernel(host, ctx.signal);
    ctx.log(`running kernel ${before.kernel}, /sys/fs/cgroup is ${before.cgroup}`);
    const reboot = actions[actions.length - 1]!;
    for (const action of actions.slice(0, -1)) {
      if (action.type === 'file') {
        ctx.log(`> ${action.description}`);
        await host.writeFile(action.path!, action.content ?? '', { mode: action.mode, sudo: action.sudo, signal: ctx.signal });
      } else await runAction(ctx, host, action);
    }
    ctx.log(`> ${reboot.description}`);
    const after = await rebootAndWait(ctx, host, before.boot);
    ctx.log(`back: kernel ${after.kernel}, /sys/fs/cgroup is ${after.cgroup}`);
    const v = judge(ctx, after);
    if (!v.ok) {
      const stillOld = after.kernel === before.kernel;
      throw new Error(
        v.problems.join('\n') +
          (stillOld ? `\nThe board started the same kernel as before: U-Boot did not load ${ctx.board.kernelPackage}. A serial console shows what U-Boot reads; /boot/boot.scr must be there and mainline U-Boot on the card.` : ''),
      );
    }
    return { kernel: after.kernel, cgroup: after.cgroup, previousKernel: before.kernel, rebootedAt: new Date().toISOString() };
  },
  async verify(ctx) {
    const { host } = boardOf(ctx);
    const v = judge(ctx, await readKernel(host, ctx.signal));
    for (const p of v.problems) ctx.log(p);
    return v.ok;
  },
};
