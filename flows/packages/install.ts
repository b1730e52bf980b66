// Step install: the dependencies from the repository, our packages with pacman -U, and the pin (IgnorePkg) so a
// plain `pacman -Syu` can never move Kubernetes past the control plane. Every part is safe to repeat: a board
// where a cut connection stopped the run half-way gets only what is still missing.
import type { PlannedAction, Step, StepContext } from '../../src/engine/types.ts';
import { boardOf, probe, runAction } from '../configure/common.ts';
import { q } from '../configure/scripts.ts';
import { boardSet, expected } from './onboard.ts';
import { BOARD_PACKAGE_DIR, installedByHand } from './options.ts';
import { dependenciesScript, ignoredProbe, ignorePkgScript, installScript } from './scripts.ts';

/** pacman's words when another pacman holds the database, and what to do about it. */
function lockedHint(e: Error, node: string): Error {
  if (!/unable to lock database|db\.lck/.test(e.message)) return e;
  return new Error(`${e.message.split('\n')[0]}\n  fix: another pacman is running on ${node} (an upgrade, or someone logged in): wait until it ends and run the same command again. If none runs, boardkube removes the stale lock itself.`);
}

export function installActions(ctx: StepContext): PlannedAction[] {
  const set = boardSet(ctx);
  const actions: PlannedAction[] = [];
  if (set.fromRepository) {
    actions.push({ type: 'command', description: `install ${set.names.join(', ')} from the distribution's repository`, content: dependenciesScript(set.names), sudo: true });
  } else {
    actions.push({ type: 'command', description: `install the dependencies from the repository (${set.deps.join(', ')})`, content: dependenciesScript(set.deps), sudo: true });
    actions.push({ type: 'command', description: `install ${set.names.join(', ')} with pacman -U`, content: installScript(BOARD_PACKAGE_DIR, set.files, set.replaces), sudo: true });
  }
  actions.push({ type: 'command', description: `pin ${set.names.join(', ')} (IgnorePkg in /etc/pacman.conf; your own entries stay)`, content: ignorePkgScript(set.names), sudo: true });
  return actions;
}

export const installStep: Step = {
  id: 'install',
  title: 'Install and pin the packages',
  explain:
    'Installs what Kubernetes needs from the repository (conntrack, ethtool, iptables-nft, socat, CNI plugins), then our packages, and pins them with IgnorePkg: Arch is rolling, and a plain `pacman -Syu` would otherwise move the kubelet past the control plane.',
  nodes: (c) => c.nodes,
  skip: installedByHand,
  plan: installActions,
  async run(ctx, actions) {
    const { host, node } = boardOf(ctx);
    for (const a of actions) {
      await runAction(ctx, host, a, { timeoutMs: 30 * 60_000 }).catch((e: Error) => {
        throw lockedHint(e, node.name);
      });
    }
  },
  async verify(ctx) {
    const { host } = boardOf(ctx);
    const set = boardSet(ctx);
    const want = set.fromRepository ? undefined : expected(ctx).packages;
    const out = await probe(host, `for p in ${set.names.map(q).join(' ')}; do pacman -Q "$p" 2>/dev/null || echo "$p missing"; done`, ctx.signal);
    const have = new Map(out.split('\n').map((l) => l.trim().split(/\s+/) as [string, string]).filter((w) => w.length === 2));
    const ignored = (await probe(host, ignoredProbe(), ctx.signal)).split('\n').map((l) => l.trim());
    return set.names.every((n) => have.has(n) && have.get(n) !== 'missing' && (!want || have.get(n) === want[n]) && ignored.includes(n));
  },
};
