// First step of the configure stage: reach every board over SSH, pin its host key on first use, and
// look at what runs there. Everything later in the wizard talks to boards that passed this step.
import type { Step } from '../../src/engine/types.ts';
import { HostError } from '../../src/ports/host.ts';
import { keyNotInstalled, optedIn } from './first-login.ts';

/** One line per fact: CPU architecture, kernel release, OS id, hostname. */
export const PROBE_SCRIPT = `uname -m -r && sed -n 's/^ID=//p' /etc/os-release | tr -d '"' && cat /etc/hostname`;

/** How long re-checking waits for a board that does not answer at once. */
const REBOOT_GRACE_MS = 90_000; // longer than an N2 takes to reboot into the new kernel

export const connectStep: Step = {
  id: 'connect',
  title: 'Reach every board over SSH',
  explain:
    'Connects to each board with your SSH key. The first time, the board\'s host key fingerprint is shown and pinned in the saved progress; a different key later is refused, so nobody can slip in between.',
  nodes: (cluster) => cluster.nodes,
  plan: () => [{ type: 'command', description: 'connect over SSH (pinning the host key on first use), then read architecture, kernel, OS and hostname', content: PROBE_SCRIPT }],
  async run(ctx, actions) {
    const host = ctx.ports.host(ctx.node!);
    try {
      await host.connect(ctx.signal);
    } catch (e) {
      // A card flashed by hand has no key on it: say how to get it there (first-login ran already when opted in).
      if (e instanceof HostError && e.kind === 'auth' && !optedIn(ctx.options)) throw keyNotInstalled(ctx.node!.name, e);
      throw e;
    }
    const key = host.hostKey();
    if (key) ctx.log(`host key ${key.type} ${key.fingerprint}`);
    const r = await host.exec(actions[0]!.content!, { signal: ctx.signal, timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`the probe failed (exit ${r.code}): ${r.stderr.trim()}`);
    // `uname -m -r` prints "RELEASE ARCH" on one line.
    const [unameLine = '', os = '', hostname = ''] = r.stdout.trim().split('\n');
    const [kernel = '', arch = ''] = unameLine.trim().split(/\s+/);
    ctx.log(`${arch}, kernel ${kernel}, ${os}, hostname ${hostname}`);
    if (arch !== ctx.board.arch) throw new Error(`${ctx.node!.name} is ${arch || 'an unknown architecture'}, but a ${ctx.board.name} is ${ctx.board.arch}: is the address right?`);
    if (os !== 'archarm') ctx.log(`note: this board runs "${os}", not Arch Linux ARM; the later stages expect Arch Linux ARM`);
    return { arch, kernel, os, hostname, hostKey: key?.fingerprint ?? null };
  },
  async verify(ctx) {
    const host = ctx.ports.host(ctx.node!);
    try {
      try {
        await host.connect(ctx.signal);
      } catch (e) {
        // A board caught mid-reboot by an interrupted run comes back by itself: give it a moment.
        if (!(e instanceof HostError) || e.kind !== 'unreachable') throw e;
        await host.reconnect({ timeoutMs: REBOOT_GRACE_MS, signal: ctx.signal });
      }
      return (await host.exec('true', { signal: ctx.signal, timeoutMs: 15_000 })).code === 0;
    } catch (e) {
      if (e instanceof HostError && e.kind === 'host-key-changed') throw e;
      return false;
    }
  },
};
