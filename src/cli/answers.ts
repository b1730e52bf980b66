// The command line's stage answers (--set and the flash flags): the engine hands each to the stages that
// declare it and refuses a name none of them takes.
import type { Answer } from '../engine/options.ts';
import type { Parsed } from './args.ts';

export function answersOf(p: Parsed): Answer[] {
  const out: Answer[] = Object.entries(p.set).map(([name, value]) => ({ name, value, flag: `--set ${name}` }));
  if (p.nodes.length) out.push({ name: 'node', value: p.nodes, flag: '--node' });
  if (p.device) out.push({ name: 'device', value: p.device, flag: '--device' });
  if (p.image) out.push({ name: 'image', value: p.image, flag: '--image' });
  // --yes also confirms apply itself: no stage needs to take it.
  if (p.yes) out.push({ name: 'yes', value: true, flag: '--yes', quiet: true });
  return out;
}
