// How the practice lab answers commands. Each stage registers simulators for the scripts it sends;
// a script nobody simulates fails with exit 127, so a gap in the lab shows instead of passing silently.
// The lab is as strict as a board whose login is an ordinary user with sudo: a command that needs root (its
// simulator says so, or it manages packages, services, modules, mounts or writes under /etc ...) fails without sudo.
import { fileMode, labPrivateFiles, type LabBoardData } from './board.ts';

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
  /** The real command needs root (on a board it fails without sudo); default: what needsRoot() sees in the script. */
  root?: boolean;
  run(board: LabBoardData, match: RegExpExecArray, script: string, all: LabBoardData[], io: { stdin?: string }): LabResult;
}

/** Directories only root may write to on a board. */
export const ROOT_ONLY_DIRS = /^\/(etc|boot|usr|var|opt|root|srv|lib|lib64|bin|sbin)(\/|$)/;

/** What needs root on an Arch Linux ARM board whatever stage sends it. */
const ROOT_COMMANDS: readonly RegExp[] = [
  /\bpacman\s+-(?!Q)[A-Za-z]/, // -S, -U, -R (queries with -Q do not)
  /\bpacman-key\b/, // the keyring is root's, 0700
  /\bsystemctl\s+(?!(?:--\S+\s+)*(?:is-active|is-enabled|is-failed|status|show|cat|list-units)\b)\S/,
  /\b(?:hostnamectl|timedatectl)\s+set/,
  /\b(?:modprobe|swapoff|swapon|mount|umount|mkfs(?:\.\w+)?|sfdisk|losetup|useradd|usermod|chpasswd|systemd-machine-id-setup|mkimage)\b/,
  /\bsysctl\s+(?:--system|-w|-p)\b/,
  /\bdd\b[^\n]*\bof=/,
  // writes under a root-only directory
  /(?:>>?|\btee(?:\s+-a)?|\bln\s+-\S+\s+\S+|\brm\s+-\S+|\binstall\b[^\n]*|\bcp\b[^\n]*|\bmv\b[^\n]*)\s*'?\/(?:etc|boot|usr|var|opt|root|srv|lib)\//,
];

export function needsRoot(script: string, command?: LabCommand): boolean {
  return command?.root ?? ROOT_COMMANDS.some((re) => re.test(script));
}

const registry: LabCommand[] = [];

export function registerLabCommands(commands: LabCommand[]): void {
  for (const c of commands) if (!registry.includes(c)) registry.push(c);
}

/** The simulator that answers this script, if any. */
export function simulatorFor(script: string): LabCommand | undefined {
  return registry.find((c) => c.match.test(script));
}

export interface SimulateOptions {
  sudo?: boolean;
  stdin?: string;
}

export function simulate(board: LabBoardData, script: string, all: LabBoardData[], opts: SimulateOptions = {}): LabResult {
  const first = script.trim().split('\n')[0] ?? '';
  for (const c of registry) {
    const m = c.match.exec(script);
    if (!m) continue;
    if (!opts.sudo && needsRoot(script, c)) return notRoot(first);
    return c.run(board, m, script, all, { stdin: opts.stdin });
  }
  if (!opts.sudo && needsRoot(script)) return notRoot(first);
  return { code: 127, stderr: `practice lab: this command is not simulated yet: ${first}` };
}

function notRoot(first: string): LabResult {
  const tool = /^\s*(?:set -e\s*)?(\S+)/.exec(first)?.[1] ?? 'sh';
  return { code: 1, stderr: `${tool}: Permission denied: this needs root (practice lab: the login is an ordinary user, as on most boards; send it with sudo)`, ms: 30 };
}

/** Whether the login user may read the file without sudo: world-readable, or its own. */
export function readable(b: LabBoardData, path: string, user: string): boolean {
  const m = fileMode(b, path);
  return (m.mode & 0o004) !== 0 || (m.owner === user && user !== 'root' && (m.mode & 0o400) !== 0);
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
    root: false,
    run: (b, m) => {
      const content = b.files[m[1]!];
      return content === undefined ? { code: 1, stderr: `cat: ${m[1]}: No such file or directory`, ms: 30 } : { stdout: content, ms: 30 };
    },
  },
  {
    name: "stat -c '%a %U' FILE (mode and owner)",
    match: /^\s*stat -c '%a %U' (\/[\w./-]+)\s*$/,
    root: false,
    run: (b, m) => {
      if (b.files[m[1]!] === undefined && !labPrivateFiles(b).has(m[1]!)) return { code: 1, stderr: `stat: cannot statx '${m[1]}': No such file or directory`, ms: 30 };
      const f = fileMode(b, m[1]!);
      return { stdout: `${f.mode.toString(8)} ${f.owner}\n`, ms: 30 };
    },
  },
  { name: 'true', match: /^\s*true\s*$/, run: () => ({ ms: 10 }) },
]);
