// The practice lab with every stage's simulators registered. Import this (not ./commands.ts) where the lab is
// wired up, so that each stage's scripts have answers.
import './commands.ts';
import './commands/configure.ts';
import './commands/kubeadm.ts';
import './commands/lease.ts';
import './commands/packages.ts';
import './commands/gates.ts';
import './commands/registry.ts';

export { simulate, registerLabCommands } from './commands.ts';
export { LAB_MAINLINE_KERNEL } from './commands/configure.ts';
