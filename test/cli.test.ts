// The headless command line, run as a user runs it: the built bin/boardkube.js in a child process.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { COMMAND_OPTIONS, HELP, OPTIONS } from '../src/cli/args.ts';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'bin/boardkube.js');

function boardkube(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, BOARDKUBE_LAB_SPEED: '0', ...env }, timeout: 60_000, cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let file: string;
let env: Record<string, string>;

beforeAll(() => {
  if (!existsSync(bin)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  dir = mkdtempSync(join(tmpdir(), 'bk-cli-'));
  file = join(dir, 'cluster.yaml');
  env = { BOARDKUBE_STATE_DIR: join(dir, 'state') };
  const key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  expect(boardkube(['init', '-f', file], env).code).toBe(0);
  const spec = parse(readFileSync(file, 'utf8'));
  spec.ssh.keyPath = key;
  writeFileSync(file, stringify(spec));
});

describe('boardkube CLI', () => {
  it('--help lists the commands and exit codes; --version prints the package version', () => {
    const help = boardkube(['--help']);
    expect(help.code).toBe(0);
    for (const word of ['init', 'plan', 'apply', 'status', 'reset', '--lab', 'Exit codes']) expect(help.stdout).toContain(word);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(boardkube(['--version']).stdout.trim()).toBe(pkg.version);
  });

  it('init writes a commented skeleton and refuses to overwrite it', () => {
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('nodes:');
    const again = boardkube(['init', '-f', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists already/);
  });

  it('plan --json is an array of actions with the documented fields', () => {
    const r = boardkube(['plan', '-f', file, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const actions = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) {
      expect(Object.keys(a).sort()).toEqual(expect.arrayContaining(['description', 'node', 'stage', 'step', 'type']));
      expect(['command', 'file', 'manifest', 'api', 'local']).toContain(a.type);
    }
    expect(actions.filter((a) => a.stage === 'configure' && a.step === 'connect').map((a) => a.node)).toEqual(['n2-master', 'n2-worker1', 'n2-worker2', 'n2-worker3', 'n2-worker4']);
  });

  it('a bad cluster file exits 2 and names the field', () => {
    const bad = join(dir, 'bad.yaml');
    const spec = parse(readFileSync(file, 'utf8'));
    spec.nodes[2].address = '192.168.1.256';
    writeFileSync(bad, stringify(spec));
    const r = boardkube(['plan', '-f', bad, '--json'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nodes\[2\]\.address: "192\.168\.1\.256" is not an IPv4 address/);
    expect(r.stdout).toBe('');
  });

  it('unknown stages and options exit 2 before anything runs, in our own words', () => {
    expect(boardkube(['apply', '-f', file, '--stage', 'kubernetes', '--yes', '--lab'], env)).toMatchObject({ code: 2 });
    const frob = boardkube(['plan', '-f', file, '--frobnicate'], env);
    expect(frob.code).toBe(2);
    expect(frob.stderr).toMatch(/--frobnicate: is not an option of boardkube/);
    expect(frob.stderr).not.toMatch(/positional/);
    expect(boardkube(['plan', '-f', file, '--stag', 'configure'], env).stderr).toMatch(/did you mean --stage\?/);
    expect(boardkube(['plan', '-f'], env).stderr).toMatch(/-f: needs a value/);
    expect(boardkube(['statsu'], env).stderr).toMatch(/unknown command "statsu".*did you mean status\?/);
    const early = boardkube(['apply', '-f', file, '--stage', 'ci', '--yes', '--lab'], env);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/stage "ci" needs stage "registry" to be done first/);
  });

  it('an unknown --set name exits 2 naming it, the stage\'s options and the closest one; nothing runs', () => {
    const stateDir = join(dir, 'state-set');
    const r = boardkube(['apply', '-f', file, '--lab', '--stage', 'readonly', '--set', 'scpoe=view', '--yes', '--state-dir', stateDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--set scpoe: stage readonly has no option "scpoe"/);
    expect(r.stderr).toMatch(/did you mean scope\?/);
    expect(r.stderr).toMatch(/account, namespace, scope, token, duration, kubeconfig-out/);
    expect(r.stdout).not.toMatch(/\[readonly\]/);
    expect(existsSync(join(stateDir, 'homelab.json'))).toBe(false);
    // Every stage alike: configure declares first-login only.
    const c = boardkube(['apply', '-f', file, '--lab', '--stage', 'configure', '--set', 'first-logn=arch-defaults', '--yes', '--state-dir', stateDir]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/stage configure has no option "first-logn".*did you mean first-login\?/);
    // A name another stage takes says which stage.
    const other = boardkube(['apply', '-f', file, '--lab', '--stage', 'configure', '--set', 'scope=view', '--yes', '--state-dir', stateDir]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/--set scope: is an option of stage readonly, which this run does not include/);
  });

  it('--node where the command or the stages run do not take it exits 2', () => {
    const s = boardkube(['status', '-f', file, '--node', 'n2-worker1'], env);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--node: is not an option of boardkube status \(fix: boardkube status takes: --file, --json, --verify/);
    const a = boardkube(['apply', '-f', file, '--lab', '--stage', 'configure', '--node', 'n2-worker1', '--yes'], env);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--node: is an option of stage flash, which this run does not include.*add --stage flash/);
  });

  it('a cluster file with an unknown field or a value of the wrong kind exits 2 saying what was expected', () => {
    const variant = (name: string, edit: (spec: any) => void) => {
      const f = join(dir, name);
      const spec = parse(readFileSync(file, 'utf8'));
      edit(spec);
      writeFileSync(f, stringify(spec));
      return boardkube(['plan', '-f', f, '--lab'], env);
    };
    const tz = variant('timezon.yaml', (spec) => {
      spec.timezon = spec.timezone;
      delete spec.timezone;
    });
    expect(tz.code).toBe(2);
    expect(tz.stderr).toMatch(/timezon: is not a field of the cluster file \(fix: did you mean timezone\? the fields are: apiVersion, kind, name/);
    const nested = variant('adress.yaml', (spec) => {
      spec.nodes[1].adress = spec.nodes[1].address;
      delete spec.nodes[1].address;
    });
    expect(nested.code).toBe(2);
    expect(nested.stderr).toMatch(/nodes\[1\]\.adress: is not a field of each entry of nodes \(fix: did you mean address\?/);
    const five = variant('nodes5.yaml', (spec) => (spec.nodes = 5));
    expect(five.code).toBe(2);
    expect(five.stderr).toMatch(/nodes: must be a list, got the number 5/);
    const version = join(dir, 'version.yaml');
    writeFileSync(version, readFileSync(file, 'utf8').replace(/^kubernetesVersion: .*$/m, 'kubernetesVersion: 1.37'));
    const v = boardkube(['plan', '-f', version, '--lab'], env);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/kubernetesVersion: must be a string, got the number 1\.37 \(fix: a string was expected: quote it, e\.g\. kubernetesVersion: "1\.37"/);
  });

  it('--lab-fault with an unknown board or fault exits 2 listing the known ones', () => {
    const stateDir = join(dir, 'state-badfault');
    const base = ['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--state-dir', stateDir];
    const board = boardkube([...base, '--lab-fault', 'nosuchboard:slow']);
    expect(board.code).toBe(2);
    expect(board.stderr).toMatch(/--lab-fault nosuchboard:slow: "nosuchboard" is not a board of the practice lab \(fix: known: n2-master, n2-worker1, n2-worker2, n2-worker3, n2-worker4/);
    const fault = boardkube([...base, '--lab-fault', 'n2-worker1:slw']);
    expect(fault.code).toBe(2);
    expect(fault.stderr).toMatch(/"slw" is not a board fault \(fix: did you mean slow\? known: unreachable, wrong-password/);
    const card = boardkube([...base, '--lab-fault', '/dev/sdz:card-pulled-out']);
    expect(card.code).toBe(2);
    expect(card.stderr).toMatch(/"\/dev\/sdz" is not a card reader of the practice lab/);
    expect(boardkube(['apply', '-f', file, '--stage', 'configure', '--yes', '--lab-fault', 'n2-worker1:slow'], env).stderr).toMatch(/--lab-fault: works only in the practice lab/);
    expect(existsSync(join(stateDir, 'homelab.json'))).toBe(false);
  });

  it('plan and status leave no progress behind, and status says where it will be kept', () => {
    const stateDir = join(dir, 'state-look');
    expect(boardkube(['plan', '-f', file, '--lab', '--state-dir', stateDir]).code).toBe(0);
    const s = boardkube(['status', '-f', file, '--lab', '--state-dir', stateDir]);
    expect(s.stdout).toContain(`no saved progress yet (it will be kept in ${join(stateDir, 'homelab.json')})`);
    expect(existsSync(join(stateDir, 'homelab.json'))).toBe(false);
  });

  it('first-login takes passwords from 0600 files only, and never shows them', () => {
    const stateDir = join(dir, 'state-first-login');
    const pw = (name: string, text: string, mode = 0o600) => {
      const f = join(dir, name);
      writeFileSync(f, `${text}\n`, { mode });
      chmodSync(f, mode);
      return f;
    };
    const base = ['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--state-dir', stateDir, '--set', 'first-login=arch-defaults', '--lab-fault', 'n2-worker3:key-not-installed'];
    const open = boardkube([...base, '--password-file', `root=${pw('root-open.pw', 'root', 0o644)}`]);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/--password-file root: .* can be read by others \(mode 644\)/);
    const refused = boardkube([...base, '--password-file', `root=${pw('root-secret.pw', 'S3cret-root')}`, '--lab-fault', 'n2-worker3:wrong-password']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/first-login on n2-worker3: .*refused the password of alarm/);
    expect(refused.stdout + refused.stderr).not.toContain('S3cret-root');
    boardkube(['reset', '-f', file, '--lab', '--state-dir', stateDir, '--stage', 'configure']);
    const right = boardkube([...base, '--lab-fault', 'n2-worker3:none', '--lab-fault', 'n2-worker3:key-not-installed', '--password-file', `root=${pw('root-right.pw', 'root')}`, '--password-file', `alarm=${pw('alarm.pw', 'alarm')}`]);
    expect(right.code, right.stdout).toBe(0);
  });

  it('apply without a terminal asks for --yes instead of hanging', () => {
    const r = boardkube(['apply', '-f', file, '--lab', '--stage', 'configure'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--yes/);
  });

  it('apply in the lab prints plain progress, then status shows the stage done', () => {
    const stateDir = join(dir, 'state-apply');
    const r = boardkube(['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--state-dir', stateDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[configure\] connect n2-worker4: done/);
    const s = boardkube(['status', '-f', file, '--lab', '--json', '--state-dir', stateDir]);
    const status = JSON.parse(s.stdout);
    expect(status.stages.find((x: { stage: string }) => x.stage === 'configure').status).toBe('done');
    expect(status.stages.find((x: { stage: string }) => x.stage === 'ci').status).toBe('not-started');
    expect(status.stages.some((x: { status: string }) => x.status === 'unavailable')).toBe(false);
  });

  it('a lab fault fails the step with a clear message and exit 1; the rest of the boards are done', () => {
    const stateDir = join(dir, 'state-fault');
    const r = boardkube(['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--state-dir', stateDir, '--lab-fault', 'n2-worker2:unreachable']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/configure\/connect on n2-worker2: cannot reach n2-worker2 at 192\.168\.1\.42:22/);
    const status = JSON.parse(boardkube(['status', '-f', file, '--lab', '--json', '--state-dir', stateDir]).stdout);
    expect(status.steps['configure/connect@n2-worker1'].status).toBe('done');
    expect(status.steps['configure/connect@n2-worker2'].status).toBe('failed');
  });

  it('a changed host key is refused; reset --forget-host-key lets the next run pin the new one', () => {
    const stateDir = join(dir, 'state-hostkey');
    const base = ['-f', file, '--lab', '--state-dir', stateDir];
    expect(boardkube(['apply', ...base, '--stage', 'configure', '--yes']).code).toBe(0);
    boardkube(['reset', ...base, '--stage', 'configure']);
    const changed = boardkube(['apply', ...base, '--stage', 'configure', '--yes', '--lab-fault', 'n2-worker1:changed-host-key']);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/host key of n2-worker1 .* has changed/);
    expect(changed.stdout).toMatch(/--forget-host-key n2-worker1/);
    expect(boardkube(['reset', ...base, '--forget-host-key', 'n2-worker1']).code).toBe(0);
    expect(boardkube(['apply', ...base, '--stage', 'configure', '--yes']).code).toBe(0);
  });

  it('status --verify re-checks with what each stage ran with, exits 1 and names the stage when a done step no longer holds', () => {
    const stateDir = join(dir, 'state-verify');
    const applied = boardkube(['apply', '-f', file, '--lab', '--stage', 'readonly', '--set', 'account=viewer', '--yes', '--state-dir', stateDir]);
    expect(applied.code, applied.stderr).toBe(0);
    // The kubeconfig goes beside the progress, not into the current folder, and the summary says where.
    const kubeconfig = join(stateDir, 'homelab', 'readonly.kubeconfig');
    expect(applied.stdout).toContain(`A read-only kubeconfig: ${kubeconfig} (mode 0600, context viewer@homelab`);
    expect(existsSync(kubeconfig)).toBe(true);
    // Headless, without --set and without --lab: the mode and the options come from the saved progress.
    const ok = boardkube(['status', '-f', file, '--verify', '--state-dir', stateDir]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^homelab \(practice lab\)/);
    expect(ok.stdout).toMatch(/readonly\s+done/);
    expect(ok.stdout).toMatch(/every step recorded as done still holds \(5 checked\)/);
    renameSync(kubeconfig, `${kubeconfig}.moved`);
    const lost = boardkube(['status', '-f', file, '--verify', '--state-dir', stateDir]);
    expect(lost.code).toBe(1);
    expect(lost.stdout).toMatch(/readonly\s+NO LONGER DONE \(.*write-kubeconfig/);
    const json = JSON.parse(boardkube(['status', '-f', file, '--verify', '--json', '--state-dir', stateDir]).stdout);
    expect(json.stages.find((x: { stage: string }) => x.stage === 'readonly').status).toBe('no-longer-done');
    renameSync(`${kubeconfig}.moved`, kubeconfig);
    expect(boardkube(['status', '-f', file, '--verify', '--state-dir', stateDir]).code).toBe(0);
  });

  it('flash is done only when every board\'s card is; the lab has a card reader per board', () => {
    const stateDir = join(dir, 'state-flash');
    const flash = (nodes: string, devices: string) => boardkube(['apply', '-f', file, '--lab', '--stage', 'flash', '--node', nodes, '--device', devices, '--yes', '--state-dir', stateDir]);
    const one = flash('n2-master', '/dev/sda');
    expect(one.code, one.stdout + one.stderr).toBe(0);
    const stageOf = () => JSON.parse(boardkube(['status', '-f', file, '--json', '--state-dir', stateDir]).stdout).stages.find((x: { stage: string }) => x.stage === 'flash').status;
    expect(stageOf()).toBe('in-progress');
    const rest = flash('n2-worker1,n2-worker2,n2-worker3,n2-worker4', '/dev/sdb,/dev/mmcblk0,/dev/sdd,/dev/sde');
    expect(rest.code, rest.stdout + rest.stderr).toBe(0);
    expect(stageOf()).toBe('done');
    // Five cards written: the progress stays small, the lab's world is in its own file.
    expect(statSync(join(stateDir, 'homelab.json')).size).toBeLessThan(100_000);
    expect(statSync(join(stateDir, 'homelab.lab', 'world.json')).size).toBeLessThan(1_000_000);
  });

  it('a board whose address changed marks the stages done on it as needing a re-check', () => {
    const stateDir = join(dir, 'state-moved');
    expect(boardkube(['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--state-dir', stateDir]).code).toBe(0);
    const moved = join(dir, 'moved', 'cluster.yaml');
    mkdirSync(join(dir, 'moved'), { recursive: true });
    writeFileSync(moved, readFileSync(file, 'utf8').replace('192.168.1.43', '192.168.1.53'));
    const s = boardkube(['status', '-f', moved, '--state-dir', stateDir]);
    expect(s.stdout).toMatch(/configure\s+needs a re-check: the address of n2-worker3 changed since it ran/);
    // apply again re-verifies (the lab's board moved with the file) and records the new address.
    const again = boardkube(['apply', '-f', moved, '--lab', '--yes', '--stage', 'configure', '--state-dir', stateDir]);
    expect(again.code, again.stdout).toBe(0);
    expect(boardkube(['status', '-f', moved, '--state-dir', stateDir]).stdout).toMatch(/configure\s+done/);
  });

  it('status and reset find the cluster without -f and write no log file', () => {
    const stateDir = join(dir, 'state-nof');
    expect(boardkube(['apply', '-f', file, '--lab', '--stage', 'configure', '--yes', '--state-dir', stateDir]).code).toBe(0);
    const logs = () => readdirSync(join(stateDir, 'logs')).length;
    const before = logs();
    // No ./cluster.yaml here: the only saved cluster is used, and said so.
    const elsewhere = mkdtempSync(join(tmpdir(), 'bk-cli-cwd-'));
    const s = boardkube(['status', '--state-dir', stateDir], {}, elsewhere);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toContain(`cluster file: ${file} (the only cluster with saved progress`);
    expect(s.stdout).toMatch(/configure\s+done/);
    // ./cluster.yaml comes first.
    const here = boardkube(['status', '--state-dir', stateDir], {}, dir);
    expect(here.stdout).toMatch(/configure\s+done/);
    expect(boardkube(['reset', '--lab', '--stage', 'configure', '--state-dir', stateDir], {}, elsewhere).code).toBe(0);
    expect(logs()).toBe(before);
    const none = boardkube(['status', '--state-dir', join(dir, 'state-empty')], {}, elsewhere);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no cluster file given, no \.\/cluster\.yaml, and no saved progress/);
  });
});

describe('rehearsing in the practice lab again and again', () => {
  it('reset --lab --stage puts the lab\'s boards back, so a fault can be rehearsed again; faults show in status and clear', () => {
    const stateDir = join(dir, 'state-rehearse');
    const base = ['-f', file, '--lab', '--state-dir', stateDir];
    expect(boardkube(['apply', ...base, '--stage', 'configure', '--yes']).code).toBe(0);
    const reset = boardkube(['reset', ...base, '--stage', 'configure']);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain("configure: the practice lab's boards are back to how they were before configure first ran");
    // The boards run the old kernel again: the reboot happens again, and with it the fault.
    const fault = boardkube(['apply', ...base, '--stage', 'configure', '--yes', '--lab-fault', 'n2-worker2:no-return-after-reboot']);
    expect(fault.code, fault.stdout).toBe(1);
    expect(fault.stdout).toMatch(/configure\/kernel on n2-worker2: .*did not come back/);
    const status = boardkube(['status', '-f', file, '--state-dir', stateDir]);
    expect(status.stdout).toContain('lab faults on: n2-worker2:no-return-after-reboot');
    expect(JSON.parse(boardkube(['status', '-f', file, '--json', '--state-dir', stateDir]).stdout).labFaults).toEqual(['n2-worker2:no-return-after-reboot']);
    const cleared = boardkube(['apply', ...base, '--stage', 'configure', '--yes', '--lab-fault', 'n2-worker2:none']);
    expect(cleared.code, cleared.stdout).toBe(0);
    expect(boardkube(['status', '-f', file, '--state-dir', stateDir]).stdout).not.toContain('lab faults on');
  });

  it('a flashed card is put back with --lab-card insert:DEV, and cards:none clears a card fault', () => {
    const stateDir = join(dir, 'state-cards');
    const flash = (node: string, device: string, ...more: string[]) => boardkube(['apply', '-f', file, '--lab', '--stage', 'flash', '--node', node, '--device', device, '--yes', '--state-dir', stateDir, ...more]);
    expect(flash('n2-master', '/dev/sda').code).toBe(0);
    // The card was ejected after flashing: the reader is empty.
    const empty = flash('n2-worker1', '/dev/sda');
    expect(empty.code).not.toBe(0);
    expect(empty.stdout + empty.stderr).toMatch(/\/dev\/sda/);
    const again = flash('n2-worker1', '/dev/sda', '--lab-card', 'insert:/dev/sda');
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const pulled = flash('n2-worker2', '/dev/sdb', '--lab-fault', 'cards:card-pulled-out');
    expect(pulled.code).toBe(1);
    expect(pulled.stdout).toMatch(/disappeared during/);
    const fixed = flash('n2-worker2', '/dev/sdb', '--lab-fault', 'cards:none', '--lab-card', 'insert:/dev/sdb');
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(boardkube(['apply', '-f', file, '--lab', '--stage', 'flash', '--node', 'n2-worker3', '--device', '/dev/sdd', '--yes', '--state-dir', stateDir, '--lab-card', 'insert:/dev/sdx']).stderr).toMatch(/--lab-card insert:\/dev\/sdx: "\/dev\/sdx" is not a card reader of the practice lab/);
  });
});

describe('the option table', () => {
  it('every option is taken by some command and explained in --help (a new option not added to a command is refused everywhere)', () => {
    const taken = new Set(Object.values(COMMAND_OPTIONS).flat());
    for (const name of Object.keys(OPTIONS)) {
      expect(taken.has(name as keyof typeof OPTIONS), `--${name} is in no command's list (src/cli/args.ts COMMAND_OPTIONS)`).toBe(true);
      expect(HELP, `--${name} is not in --help`).toContain(`--${name}`);
    }
  });
});
