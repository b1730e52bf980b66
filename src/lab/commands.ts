// How the practice lab answers commands. Each stage registers simulators for the scripts it sends;
// a script nobody simulates fails with exit 127, so a gap in the lab shows instead of passing silently.
import type { LabBoardData } from './board.ts';

export interface LabResult {
  code?: number;
  stdout?: string;
  stderr?: string;
  /** Simulated duration at speed 1. */
  ms?: number;
  /** The board goes down for a reboot after answering (simulated boot time in ms). */
  rebootMs?: number;
}

export interface LabCommand {
  /** What the simulator stands for, shown in the trainer's notes. */
  name: string;
  match: RegExp;
  run(board: LabBoardData, match: RegExpExecArray, script: string, all: LabBoardData[]): LabResult;
}

const registry: LabCommand[] = [];

export function registerLabCommands(commands: LabCommand[]): void {
  for (const c of commands) if (!registry.includes(c)) registry.push(c);
}

export function simulate(board: LabBoardData, script: string, all: LabBoardData[]): LabResult {
  for (const c of registry) {
    const m = c.match.exec(script);
    if (m) return c.run(board, m, script, all);
  }
  const first = script.trim().split('\n')[0] ?? '';
  return { code: 127, stderr: `practice lab: this command is not simulated yet: ${first}` };
}

// The commands every stage uses to look at a board.
registerLabCommands([
  {
    name: 'connectivity probe (uname, os-release, hostname)',
    match: /^uname -m -r && sed -n 's\/\^ID=\/\/p' \/etc\/os-release \| tr -d '"' && cat \/etc\/hostname$/,
    // uname prints the release before the machine, whatever the order of the flags.
    run: (b) => ({ stdout: `${String(b.facts.kernel)} ${String(b.facts.arch)}\narcharm\n${b.files['/etc/hostname'] ?? ''}`, ms: 120 }),
  },
  {
    name: 'cat FILE',
    match: /^\s*cat (\/[\w./-]+)\s*$/,
    run: (b, m) => {
      const content = b.files[m[1]!];
      return content === undefined ? { code: 1, stderr: `cat: ${m[1]}: No such file or directory`, ms: 30 } : { stdout: content, ms: 30 };
    },
  },
  { name: 'true', match: /^\s*true\s*$/, run: () => ({ ms: 10 }) },
]);
