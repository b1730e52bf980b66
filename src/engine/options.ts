// Stage options by name: every stage declares the options it takes (Stage.options), so the engine can refuse a
// name no stage takes, for every stage alike, before anything runs.
import { closest } from '../util/names.ts';
import { InputError, type Stage, type StageId } from './types.ts';

/** One answer given for the whole run (the CLI's --set NAME=VALUE, --node, ...), routed to the stages that take it. */
export interface Answer {
  name: string;
  value: unknown;
  /** How the user wrote it, for messages: "--set scope", "--node". */
  flag: string;
  /** Given for the command as a whole too (--yes): no error when no stage takes it. */
  quiet?: boolean;
}

const declared = (stage: Stage): string[] => (stage.options ?? []).map((o) => o.name);

function unknownOption(flag: string, name: string, known: string[], where: string): InputError {
  const guess = closest(name, known);
  const list = known.length ? `${where} takes: ${known.join(', ')}` : `${where} takes no options`;
  return new InputError(flag, `${where} has no option "${name}"`, guess ? `did you mean ${guess}? ${list}` : list);
}

/**
 * Hands each answer to the selected stages that declare it. An answer no selected stage takes is refused, naming
 * the stage that would take it (not selected) or the options that exist.
 */
export function routeAnswers(all: readonly Stage[], selected: readonly StageId[], answers: readonly Answer[]): Partial<Record<StageId, Record<string, unknown>>> {
  const out: Partial<Record<StageId, Record<string, unknown>>> = {};
  const chosen = all.filter((s) => selected.includes(s.id));
  for (const a of answers) {
    const takers = chosen.filter((s) => declared(s).includes(a.name));
    for (const s of takers) (out[s.id] ??= {})[a.name] = a.value;
    if (takers.length > 0 || a.quiet) continue;
    const elsewhere = all.filter((s) => declared(s).includes(a.name)).map((s) => s.id);
    if (elsewhere.length > 0) {
      throw new InputError(a.flag, `is an option of stage ${elsewhere.join(', ')}, which this run does not include${chosen.length ? ` (it runs ${chosen.map((s) => s.id).join(', ')})` : ''}`, `add --stage ${elsewhere[0]}, or leave ${a.flag} out`);
    }
    if (chosen.length === 1) throw unknownOption(a.flag, a.name, declared(chosen[0]!), `stage ${chosen[0]!.id}`);
    const known = [...new Set(all.flatMap(declared))];
    const guess = closest(a.name, known);
    throw new InputError(a.flag, `no stage${chosen.length ? ` of this run (${chosen.map((s) => s.id).join(', ')})` : ''} has an option "${a.name}"`, `${guess ? `did you mean ${guess}? ` : ''}the stages take: ${known.join(', ')}`);
  }
  return out;
}

/** Refuses a name the stage does not declare (answers handed to it directly, e.g. by the wizard or saved ones). */
export function checkOptionNames(stage: Stage, raw: Record<string, unknown>): void {
  const known = declared(stage);
  for (const name of Object.keys(raw)) {
    if (!known.includes(name)) throw unknownOption(`--set ${name}`, name, known, `stage ${stage.id}`);
  }
}
