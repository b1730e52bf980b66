// pacman's keys and the full upgrade. Arch Linux ARM is rolling: the image on the card is months old, and the
// packages stage expects a current system.
import type { Step } from '../../src/engine/types.ts';
import { boardOf, probe, runAction } from './common.ts';
import { PACMAN_KEYS_PROBE, PACMAN_KEYS_SCRIPT, PacmanProgress, UPGRADE_PENDING_PROBE, UPGRADE_SCRIPTS } from './scripts.ts';

export const pacmanKeysStep: Step = {
  id: 'pacman-keys',
  title: "Set up pacman's signing keys",
  explain:
    'A fresh Arch Linux ARM system trusts no package signatures yet. `pacman-key --init` makes the local keyring and `--populate archlinuxarm` adds the Arch Linux ARM build keys, so pacman can check every package it installs.',
  nodes: (c) => c.nodes,
  plan: () => [{ type: 'command', description: 'initialise the pacman keyring and add the Arch Linux ARM keys', content: PACMAN_KEYS_SCRIPT, sudo: true }],
  async verify(ctx) {
    const { host } = boardOf(ctx);
    return (await host.exec(PACMAN_KEYS_PROBE, { sudo: true, signal: ctx.signal, timeoutMs: 60_000 })).code === 0;
  },
};

export const upgradeStep: Step = {
  id: 'upgrade',
  title: 'Upgrade every package',
  explain:
    'Brings the board up to date (pacman -Syu), keyring first. Everything is downloaded before anything is installed, so a dropped connection leaves the board as it was. This is the longest step: on a fresh card expect a few hundred MiB and several minutes.',
  nodes: (c) => c.nodes,
  plan: () => [
    { type: 'command', description: 'refresh the package lists and update the Arch Linux ARM keyring first', content: UPGRADE_SCRIPTS.keyring, sudo: true },
    { type: 'command', description: 'download every upgrade (nothing is installed yet)', content: UPGRADE_SCRIPTS.download, sudo: true },
    { type: 'command', description: 'install the upgrades', content: UPGRADE_SCRIPTS.install, sudo: true },
  ],
  async run(ctx, actions) {
    const { host } = boardOf(ctx);
    const progress = new PacmanProgress();
    const onStdout = (line: string) => {
      const p = progress.line(line);
      if (p) ctx.progress(p);
    };
    for (const action of actions) await runAction(ctx, host, action, { onStdout });
    const pending = (await probe(host, UPGRADE_PENDING_PROBE, ctx.signal)).trim();
    return { upgradedAt: new Date().toISOString(), packages: progress.total ?? 0, pending: pending ? pending.split('\n').length : 0 };
  },
  async verify(ctx) {
    const { host } = boardOf(ctx);
    return (await probe(host, UPGRADE_PENDING_PROBE, ctx.signal)).trim() === '';
  },
};
