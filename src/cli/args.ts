// Command-line parsing: one table of options, shared by every command, so --help and the parser agree.
import { parseArgs } from 'node:util';
import { InputError } from '../engine/types.ts';
import { closest, knownNames } from '../util/names.ts';

export const COMMANDS = ['wizard', 'init', 'plan', 'apply', 'status', 'reset', 'runbook', 'workshop'] as const;
export type Command = (typeof COMMANDS)[number];

export const OPTIONS = {
  file: { type: 'string', short: 'f' },
  stage: { type: 'string', multiple: true },
  skip: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  lab: { type: 'boolean' },
  'lab-fault': { type: 'string', multiple: true },
  'lab-card': { type: 'string', multiple: true },
  'lab-faults': { type: 'string' },
  'state-dir': { type: 'string' },
  parallel: { type: 'string' },
  verify: { type: 'boolean' },
  force: { type: 'boolean' },
  kubeconfig: { type: 'string' },
  node: { type: 'string', multiple: true },
  device: { type: 'string' },
  image: { type: 'string' },
  set: { type: 'string', multiple: true },
  'sudo-password-file': { type: 'string' },
  'password-file': { type: 'string', multiple: true },
  'forget-host-key': { type: 'string', multiple: true },
  out: { type: 'string', short: 'o' },
  tables: { type: 'string' },
  keys: { type: 'string' },
  all: { type: 'boolean' },
  wait: { type: 'boolean' },
  boards: { type: 'boolean' },
  'force-unlock': { type: 'string', multiple: true },
  'assume-done': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

export interface Parsed {
  command: Command;
  file?: string;
  stages: string[];
  skip: string[];
  json: boolean;
  yes: boolean;
  lab: boolean;
  labFaults: string[];
  /** --lab-faults FILE: a trainer's fault plan. */
  labFaultPlan?: string;
  /** Lab card controls: insert:DEV. */
  labCards: string[];
  stateDir?: string;
  parallel?: number;
  verify: boolean;
  force: boolean;
  kubeconfig?: string;
  nodes: string[];
  device?: string;
  image?: string;
  set: Record<string, string>;
  sudoPasswordFile?: string;
  /** Secret name -> file holding it (mode 0600): sudo, alarm, root. */
  passwordFiles: Record<string, string>;
  forgetHostKeys: string[];
  /** runbook: the handout file (.md or .html); workshop: the room folder. */
  out?: string;
  tables?: number;
  keys?: string;
  /** status --all: every saved cluster (or every table of a room.yaml given with -f). */
  all: boolean;
  /** apply/reset: wait for another run on the cluster to end instead of refusing. */
  wait: boolean;
  /** reset: reset the boards themselves (kubeadm reset and what it leaves behind). */
  boards: boolean;
  /** apply: take these boards' leases even when another run holds them. */
  forceUnlock: string[];
  /** apply: stages done by hand (boards prepared without boardkube): the stages after them may run. */
  assumeDone: string[];
  help: boolean;
  version: boolean;
}

/** The options each command takes: any other is refused, so nothing given is silently ignored. */
const COMMON = ['help', 'version'] as const;
const STAGE_ANSWERS = ['node', 'device', 'image', 'set'] as const;
export const COMMAND_OPTIONS: Record<Command, ReadonlyArray<keyof typeof OPTIONS>> = {
  wizard: ['file', 'lab', 'lab-fault', 'lab-faults', 'state-dir', 'parallel', ...COMMON],
  init: ['file', 'force', ...COMMON],
  plan: ['file', 'stage', 'skip', 'json', 'lab', 'state-dir', 'kubeconfig', ...STAGE_ANSWERS, ...COMMON],
  apply: ['file', 'stage', 'skip', 'yes', 'lab', 'lab-fault', 'lab-faults', 'lab-card', 'state-dir', 'parallel', 'kubeconfig', ...STAGE_ANSWERS, 'sudo-password-file', 'password-file', 'wait', 'force-unlock', 'assume-done', ...COMMON],
  status: ['file', 'json', 'verify', 'all', 'lab', 'state-dir', 'parallel', 'kubeconfig', 'sudo-password-file', 'password-file', ...COMMON],
  reset: ['file', 'stage', 'lab', 'lab-fault', 'state-dir', 'forget-host-key', 'wait', 'boards', 'node', 'yes', 'json', 'parallel', 'sudo-password-file', 'password-file', 'force-unlock', ...COMMON],
  runbook: ['file', 'stage', 'skip', 'lab', 'state-dir', 'kubeconfig', 'out', 'force', ...STAGE_ANSWERS, 'sudo-password-file', 'password-file', ...COMMON],
  workshop: ['file', 'tables', 'out', 'keys', 'force', ...COMMON],
};

const flagName = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);
const longName = (name: string) => Object.entries(OPTIONS).find(([, o]) => 'short' in o && o.short === name)?.[0] ?? name;

/**
 * Parses argv with our own words for every mistake (node's parser speaks of "positional arguments"): an unknown
 * option, one the command does not take, a value missing, or a value given to a switch.
 */
function tokenize(argv: string[]) {
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  const positionals: string[] = [];
  const values: Record<string, string | boolean | string[]> = {};
  const used: string[] = [];
  const known = Object.keys(OPTIONS);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.kind === 'option-terminator') continue;
    const name = longName(t.name);
    const spec = (OPTIONS as Record<string, { type: string; multiple?: boolean }>)[name];
    if (!spec) {
      const guess = closest(t.name, known);
      throw new InputError(t.rawName, 'is not an option of boardkube', `${guess ? `did you mean --${guess}? ` : ''}see \`boardkube --help\` for every option`);
    }
    used.push(name);
    if (spec.type === 'boolean') {
      if (t.inlineValue) throw new InputError(t.rawName, `is a switch and takes no value (got "${t.value}")`, `write just ${t.rawName}`);
      values[name] = true;
      continue;
    }
    let value = t.value;
    // parseArgs (not strict) leaves a value that starts with "-" as the next token: that is a missing value.
    if (value === undefined) throw new InputError(t.rawName, 'needs a value', `write ${flagName(name)} VALUE (see \`boardkube --help\`)`);
    if (spec.multiple) values[name] = [...((values[name] as string[] | undefined) ?? []), value];
    else {
      if (values[name] !== undefined && values[name] !== value) throw new InputError(t.rawName, `is given twice ("${values[name]}" and "${value}")`, 'give it once');
      values[name] = value;
    }
  }
  return { positionals, values, used };
}

export function parseCommandLine(argv: string[]): Parsed {
  const { positionals, values, used } = tokenize(argv);
  const v = values as {
    [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : (typeof OPTIONS)[K] extends { multiple: true } ? string[] : string;
  };
  const name = positionals[0] ?? 'wizard';
  if (!(COMMANDS as readonly string[]).includes(name)) {
    const commands = COMMANDS.filter((c) => c !== 'wizard');
    throw new InputError('command', `unknown command "${name}"`, `${knownNames(name, commands, 'use one of')} (or none for the wizard)`);
  }
  if (positionals.length > 1) throw new InputError('arguments', `unexpected "${positionals[1]}"`, 'see `boardkube --help`');
  const takes = COMMAND_OPTIONS[name as Command];
  for (const opt of used) {
    if (takes.includes(opt as keyof typeof OPTIONS)) continue;
    const label = name === 'wizard' ? 'the wizard' : `boardkube ${name}`;
    throw new InputError(`--${opt}`, `is not an option of ${label}`, `${label} takes: ${takes.filter((o) => !(COMMON as readonly string[]).includes(o)).map((o) => `--${o}`).join(', ')}`);
  }
  let parallel: number | undefined;
  if (v.parallel !== undefined) {
    parallel = Number(v.parallel);
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new InputError('--parallel', `"${v.parallel}" is not a number from 1 to 64`, 'e.g. --parallel 5');
  }
  let tables: number | undefined;
  if (v.tables !== undefined) {
    tables = Number(v.tables);
    if (!Number.isInteger(tables) || tables < 1) throw new InputError('--tables', `"${v.tables}" is not a whole number of tables`, 'e.g. --tables 10');
  }
  const set: Record<string, string> = {};
  for (const kv of v.set ?? []) {
    const i = kv.indexOf('=');
    if (i < 1) throw new InputError('--set', `"${kv}" is not NAME=VALUE`, 'e.g. --set account=readonly');
    set[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const passwordFiles: Record<string, string> = {};
  for (const kv of v['password-file'] ?? []) {
    const m = /^(sudo|alarm|root)=(.+)$/.exec(kv);
    if (!m) throw new InputError('--password-file', `"${kv}" is not WHO=FILE with WHO sudo, alarm or root`, 'e.g. --password-file root=./root.pw (the file mode 0600)');
    passwordFiles[m[1]!] = m[2]!;
  }
  for (const opt of ['lab-fault', 'lab-faults', 'lab-card'] as const) {
    if (v[opt]?.length && !v.lab) throw new InputError(`--${opt}`, 'works only in the practice lab', `add --lab, or leave --${opt} out`);
  }
  return {
    command: name as Command,
    file: v.file,
    stages: v.stage ?? [],
    skip: v.skip ?? [],
    json: v.json ?? false,
    yes: v.yes ?? false,
    lab: v.lab ?? false,
    labFaults: v['lab-fault'] ?? [],
    labFaultPlan: v['lab-faults'],
    labCards: v['lab-card'] ?? [],
    stateDir: v['state-dir'],
    parallel,
    verify: v.verify ?? false,
    force: v.force ?? false,
    kubeconfig: v.kubeconfig,
    nodes: v.node ?? [],
    device: v.device,
    image: v.image,
    set,
    sudoPasswordFile: v['sudo-password-file'],
    passwordFiles,
    forgetHostKeys: v['forget-host-key'] ?? [],
    out: v.out,
    tables,
    keys: v.keys,
    all: v.all ?? false,
    wait: v.wait ?? false,
    boards: v.boards ?? false,
    forceUnlock: v['force-unlock'] ?? [],
    assumeDone: v['assume-done'] ?? [],
    help: v.help ?? false,
    version: v.version ?? false,
  };
}

export const HELP = `boardkube: from a box of ODROID-N2 boards to a working Kubernetes cluster.

Usage:
  boardkube [-f cluster.yaml]          open the full-screen wizard (resumes saved progress)
  boardkube --lab                      the wizard on the practice lab: simulated boards, no hardware
  boardkube init [-f cluster.yaml]     write a commented cluster file (ODROID-N2, 1 master + 4 workers)
  boardkube plan -f FILE [--stage S]... [--json]
                                       show every action a run would perform, touching nothing
  boardkube apply -f FILE [--stage S]... [--yes]
                                       run the stages (all that are not done yet when no --stage)
  boardkube status -f FILE [--verify] [--json]
                                       saved progress per stage; --verify probes the boards again
  boardkube reset -f FILE [--stage S]... [--forget-host-key NODE]...
                                       forget saved progress (boards are not touched) or a pinned host key
  boardkube reset -f FILE --boards [--node N]... [--yes]
                                       reset the boards to "packages done": kubeadm reset and what it leaves
                                       behind (CNI files, links, KUBE-/FLANNEL chains, /etc/kubernetes), the
                                       context removed from your kubeconfig; shows the plan and asks first

For trainers:
  boardkube runbook -f FILE [--stage S]... [-o handout.md|handout.html]
                                       a handout from the plan: every command and file, step by step
  boardkube workshop -f TEMPLATE --tables N [--out DIR] [--keys shared|per-table]
                                       a cluster file per table from one template, and DIR/room.yaml
  boardkube status --all [-f room.yaml] [--json]
                                       every saved cluster (or every table of a room) in one table
  boardkube apply -f FILE --lab --lab-faults faults.yaml
                                       rehearse in the practice lab with the fault plan every table will meet

Stages, in order: flash, configure, packages, control-plane, workers, ttl, webhook, registry, ci, readonly

Options:
  -f, --file FILE          the cluster file (default ./cluster.yaml for init)
  --stage S                only this stage (repeatable); --skip S leaves one out
  --lab                    use the practice lab instead of real boards
  --lab-fault NODE:FAULT   switch a lab fault on: unreachable, wrong-password, changed-host-key, slow,
                           no-return-after-reboot, clock-skew, duplicate-machine-id, key-not-installed,
                           swap-on, port-in-use, cgroup-v1, cgroup-driver-mismatch, expired-token,
                           api-unreachable, disk-full, pacman-locked, runtime-fails, leased-elsewhere;
                           cards:card-pulled-out, cards:checksum-mismatch; downloads:download-cut-off,
                           downloads:package-checksum-mismatch; ci:oauth-rejected, ci:agent-unreachable,
                           ci:pipeline-pending (ci:none clears); NODE:none clears
                           (faults are saved with the lab's progress until cleared); cards:none, DEV:none
  --lab-card insert:DEV    put an ejected (or pulled-out) lab card back into its reader, to flash it again
  --lab-faults FILE        a fault plan (YAML or JSON), the same surprises for every table: a list
                           faults: [{node: n2-worker2, fault: slow, stage: configure, step: upgrade}]; node as
                           in --lab-fault (a board, cards, DEV, downloads, cluster); without stage the fault is
                           on from the start, with stage (and step) from when that first starts
  --assume-done STAGE      apply: a stage you did by hand (e.g. configure on boards you prepared yourself)
                           counts as done for the stages after it (repeatable); it is never shown as done
  --kubeconfig PATH        an existing cluster for the add-on stages (ttl ... readonly)
  --node NAME              flash: the node whose card is in the reader; reset --boards: only this board
                           (repeatable)
  --device DEV             flash: the card's device, e.g. /dev/sdb (you confirm it by name, or --yes)
  --image PATH|URL         flash: an Arch Linux ARM tarball you already have (checked against its .md5)
  --set NAME=VALUE         a stage option, e.g. --set account=readonly --set scope=view
  --sudo-password-file F   sudo password for boards whose user is not root (file mode 0600)
  --password-file WHO=F    a password from a file (mode 0600), never from the command line: sudo, or for
                           configure's first-login (--set first-login=arch-defaults) alarm and root
  --wait                   apply, reset: when another run works on the cluster, wait for it to end
                           (without it the second run is refused at once, exit 2)
  --force-unlock NODE      apply, reset --boards: take NODE's lease although another run (another computer) holds it;
                           only when you are sure nothing works on that board (repeatable)
  --parallel N             boards worked on at once (default 5)
  --state-dir DIR          where progress and logs live (default $BOARDKUBE_STATE_DIR or ~/.config/boardkube)
  --json                   machine-readable output (plan, status)
  -y, --yes                do not ask before changing anything
  -h, --help               this help;  -V, --version  the version

Exit codes: 0 done, 1 a step failed, 2 bad input (the message names the field), 130 interrupted.
`;
