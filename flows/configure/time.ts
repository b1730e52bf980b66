// Time sync on, and the board's clock checked against this computer's. Boards without a battery-backed clock
// (the N2 has none) start in the past after a power cut, and then TLS, join tokens and package signatures fail.
import type { Step } from '../../src/engine/types.ts';
import type { Host } from '../../src/ports/host.ts';
import { actionNamed, boardOf, runAction } from './common.ts';
import { CLOCK_PROBE, clockSkew, judgeSkew, parseKeyValues, TIME_SYNC_SCRIPT, TIME_SYNC_WAIT_S, type Verdict } from './scripts.ts';

/** Reads the board's clock and compares it with this computer's, allowing for the round trip. */
export async function measureSkew(host: Host, signal?: AbortSignal): Promise<Verdict & { skewS: number; uncertaintyS: number }> {
  const sent = Date.now();
  const r = await host.exec(CLOCK_PROBE, { signal, timeoutMs: 30_000 });
  const received = Date.now();
  const board = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isInteger(board)) throw new Error(`cannot read ${host.node}'s clock (date +%s exited ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  const { skewS, uncertaintyS } = clockSkew(board, sent, received);
  return { skewS, uncertaintyS, ...judgeSkew(skewS, uncertaintyS, host.node) };
}

export const timeStep: Step = {
  id: 'time',
  title: 'Turn on time sync and check the clock',
  explain:
    'Certificates and join tokens are only valid within a time window, and pacman checks signatures against the clock. Boards without a battery-backed clock (like the ODROID-N2) need time sync, and boardkube compares each board\'s clock with this computer\'s.',
  nodes: (c) => c.nodes,
  plan: () => [
    { type: 'command', description: `turn on time sync (systemd-timesyncd) and wait up to ${TIME_SYNC_WAIT_S} s for it`, content: TIME_SYNC_SCRIPT, sudo: true },
    { type: 'command', description: "read the board's clock and compare it with this computer's (fails over 60 s apart)", content: CLOCK_PROBE },
  ],
  async run(ctx, actions) {
    const { host } = boardOf(ctx);
    const sync = await runAction(ctx, host, actionNamed(actions, 'turn on time sync')!, { timeoutMs: (TIME_SYNC_WAIT_S + 60) * 1000 });
    const synchronized = parseKeyValues(sync.stdout).synchronized ?? 'unknown';
    const m = await measureSkew(host, ctx.signal);
    ctx.log(`clock ${m.skewS >= 0 ? '+' : ''}${m.skewS.toFixed(1)} s against this computer (time sync: ${synchronized === 'yes' ? 'synchronized' : 'not synchronized yet'})`);
    if (!m.ok) throw new Error(m.problems.join('\n'));
    return { skewSeconds: Math.round(m.skewS), synchronized };
  },
  async verify(ctx) {
    const { host } = boardOf(ctx);
    return (await measureSkew(host, ctx.signal)).ok;
  },
};
