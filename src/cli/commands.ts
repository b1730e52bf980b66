// The headless commands: init, plan, apply, status, reset. Loaded only when one of them runs.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { openSession, type Session } from '../app/session.ts';
import { loadClusterFile, writeClusterFile } from '../cluster/file.ts';
import { defaultCluster, type ClusterSpec } from '../cluster/spec.ts';
import { StateStore, type StateSummary } from '../engine/state.ts';
import { lockCluster, lockHolder, describeHolder, type ClusterLock } from '../engine/lock.ts';
import { MemorySecrets } from '../engine/secrets.ts';
import { InputError, STAGE_IDS, type EngineEvent, type StageId } from '../engine/types.ts';
import { DEFAULT_USER_PASSWORD_SECRET, ROOT_PASSWORD_SECRET } from '../../flows/configure/first-login.ts';
import { labCardDevices } from '../lab/cards.ts';
import { parseLabCards, parseLabFaults } from '../lab/faults.ts';
import { answersOf } from './answers.ts';
import type { Parsed } from './args.ts';
import { progressText } from '../util/progress.ts';
import { reportText, stageReport } from '../app/report.ts';
import { EXIT } from './exit.ts';

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

function requireFile(p: Parsed): string {
  if (!p.file) throw new InputError('-f', 'no cluster file given', 'pass -f cluster.yaml (create one with `boardkube init`)');
  return p.file;
}

/** status and reset without -f: ./cluster.yaml, or the one cluster that has saved progress. */
function defaultClusterFile(p: Parsed, stateDir: string): void {
  if (p.file) return;
  if (existsSync('cluster.yaml')) {
    p.file = 'cluster.yaml';
    return;
  }
  const saved = StateStore.list(stateDir).filter((c): c is StateSummary => !('error' in c) && !!c.clusterFile && existsSync(c.clusterFile));
  if (saved.length === 1) {
    p.file = saved[0]!.clusterFile!;
    err(`cluster file: ${p.file} (the only cluster with saved progress in ${stateDir})`);
    return;
  }
  const which = saved.map((c) => `${c.cluster} (-f ${c.clusterFile})`).join(', ');
  throw new InputError('-f', saved.length ? `no ./cluster.yaml, and ${saved.length} clusters have saved progress: ${which}` : 'no cluster file given, no ./cluster.yaml, and no saved progress', saved.length ? 'name one with -f FILE' : 'pass -f cluster.yaml (create one with `boardkube init`)');
}

/**
 * The cluster file, and whether it runs in the practice lab: --lab, or for a look (plan, status) the mode its
 * saved progress was made in, so a lab run is read without --lab.
 */
function clusterFor(p: Parsed, stateDir: string, mode: 'run' | 'look'): { cluster: ClusterSpec; lab: boolean } {
  const file = requireFile(p);
  const spec = loadClusterFile(file, { checkKeyFile: false });
  const lab = p.lab || (mode === 'look' && StateStore.savedMode(stateDir, spec.name) === 'lab');
  // The practice lab never logs in anywhere, so a missing key file does not stop a rehearsal.
  return { cluster: lab ? spec : loadClusterFile(file, { checkKeyFile: true }), lab };
}

function readSecretFile(option: string, path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new InputError(option, `${path} cannot be read`, 'name a file that holds the password on its first line');
  }
  if ((st.mode & 0o077) !== 0) throw new InputError(option, `${path} can be read by others (mode ${(st.mode & 0o777).toString(8)})`, `chmod 600 ${path}`);
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

/** Where each --password-file WHO goes among the secrets the flows read. */
const SECRET_OF: Record<string, string> = { sudo: 'sudo-password', alarm: DEFAULT_USER_PASSWORD_SECRET, root: ROOT_PASSWORD_SECRET };

/** --assume-done names: stages of the journey, refused otherwise. */
function assumedStages(p: Parsed): StageId[] {
  for (const name of p.assumeDone) {
    if (!(STAGE_IDS as readonly string[]).includes(name)) throw new InputError('--assume-done', `unknown stage "${name}"`, `use one of: ${STAGE_IDS.join(', ')}`);
  }
  return p.assumeDone as StageId[];
}

function open(p: Parsed, stateDir: string, mode: 'run' | 'look'): Session {
  const { cluster, lab } = clusterFor(p, stateDir, mode);
  // The lab's controls are checked by name before any progress is opened (the session checks them again
  // against the lab as saved).
  const names = { nodes: cluster.nodes.map((n) => n.name), devices: labCardDevices(cluster.nodes.length) };
  parseLabFaults(p.labFaults, names);
  parseLabCards(p.labCards, names);
  const secrets = new MemorySecrets();
  for (const [who, file] of Object.entries(p.passwordFiles)) secrets.set(SECRET_OF[who]!, readSecretFile(`--password-file ${who}`, file));
  if (p.sudoPasswordFile) secrets.set('sudo-password', readSecretFile('--sudo-password-file', p.sudoPasswordFile));
  if (!secrets.get('sudo-password') && process.env.BOARDKUBE_SUDO_PASSWORD) secrets.set('sudo-password', process.env.BOARDKUBE_SUDO_PASSWORD);
  return openSession({
    cluster,
    clusterFile: resolve(requireFile(p)),
    stateDir,
    lab,
    kubeconfig: p.kubeconfig ? resolve(p.kubeconfig) : undefined,
    assumeDone: assumedStages(p),
    parallel: p.parallel,
    answers: answersOf(p),
    secrets,
    labFaults: p.labFaults,
    labFaultPlan: p.labFaultPlan,
    labCards: p.labCards,
    log: mode === 'run',
    readOnly: mode === 'look',
    forceUnlock: p.forceUnlock,
    onHostKeyPinned: (node, key) => err(`${node}: host key ${key.type} ${key.fingerprint} seen for the first time, pinned`),
  });
}

/**
 * A run that changes anything holds the cluster's lock from before it reads the progress until it ends:
 * a second one is refused (exit 2) naming the first, or with --wait starts when the first ends.
 */
async function lock(p: Parsed, stateDir: string, signal: AbortSignal): Promise<ClusterLock> {
  const { cluster } = clusterFor(p, stateDir, 'run');
  for (const node of p.forceUnlock) {
    if (!cluster.nodes.some((n) => n.name === node)) throw new InputError('--force-unlock', `no node "${node}" in the cluster file`, `use one of: ${cluster.nodes.map((n) => n.name).join(', ')}`);
  }
  return lockCluster(stateDir, cluster.name, {
    command: ['boardkube', ...process.argv.slice(2)].join(' '),
    file: p.file,
    wait: p.wait,
    signal,
    onWait: (h) => err(`waiting for the other run on "${cluster.name}" to end: ${h ? describeHolder(h) : 'its details are not readable'} (Ctrl+C to give up)`),
  });
}

/** Plain progress lines for apply without a full-screen terminal. */
function progressPrinter(e: EngineEvent): void {
  const where = (stage: string, step: string, node: string | null) => `[${stage}] ${step}${node ? ` ${node}` : ''}`;
  switch (e.type) {
    case 'stage-start':
      return out(`== ${e.stage}`);
    case 'step-start':
      return out(`${where(e.stage, e.step, e.node)}: ${e.title} ...`);
    case 'step-end':
      return out(`${where(e.stage, e.step, e.node)}: ${e.status === 'verified' ? 'done (verified, not run again)' : e.status}${e.error ? `\n  ${e.error}` : ''} (${e.ms} ms)`);
    case 'needs': {
      const missing = e.checks.filter((c) => !c.ok);
      for (const c of missing) out(`${where(e.stage, e.step ?? '', e.node)}: missing: ${c.what}\n  fix: ${c.fix}`);
      return;
    }
    case 'progress': {
      // The same words as the wizard's progress line (src/util/progress.ts).
      const text = progressText(e.progress);
      if (text) out(`${where(e.stage, e.step, e.node)}: ${text}`);
      return;
    }
    case 'log':
      return out(`${where(e.stage, e.step, e.node)}| ${e.line}`);
    case 'run-end':
      return out(`== ${e.status}`);
    default:
      return;
  }
}

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export async function cmdInit(p: Parsed): Promise<number> {
  const file = p.file ?? 'cluster.yaml';
  if (existsSync(file) && !p.force) throw new InputError('-f', `${file} exists already`, 'choose another name with -f, or pass --force to overwrite it');
  const written = writeClusterFile(file, defaultCluster(), { fresh: true });
  out(`wrote ${file}: an ODROID-N2 master and four workers. Edit the addresses and the key, then run: boardkube plan -f ${file}`);
  if (written.backup) out(`the previous ${file} is kept as ${written.backup}`);
  return EXIT.ok;
}

export async function cmdPlan(p: Parsed, stateDir: string): Promise<number> {
  const s = open(p, stateDir, 'look');
  try {
    const runnable = p.stages.length ? { stages: s.engine.select({ only: p.stages, skip: p.skip, ignoreRequires: true }), left: [] } : s.engine.plannable();
    const stages = runnable.stages.filter((id) => !p.skip.includes(id));
    const actions = await s.engine.plan(stages);
    if (p.json) out(JSON.stringify(actions, null, 2));
    else {
      for (const a of actions) {
        out(`[${a.stage}] ${a.step}${a.node ? ` on ${a.node}` : ''}: ${a.description}`);
        if (a.path) out(`    ${a.type} ${a.path}${a.mode !== undefined ? ` (mode ${a.mode.toString(8).padStart(4, '0')})` : ''}`);
        if (a.content) out(a.content.replace(/\n$/, '').split('\n').map((l) => `    | ${l}`).join('\n'));
      }
      for (const l of runnable.left) out(`not planned: ${l.reason}`);
      out(`${actions.length} actions; nothing was changed.`);
    }
    return EXIT.ok;
  } finally {
    await s.close();
  }
}

/** Flashing erases a card: on a terminal the user types the device's name, as in the wizard. */
async function confirmDevice(p: Parsed): Promise<void> {
  if (p.yes || !p.stages.includes('flash') || !p.device) return;
  if (!process.stdin.isTTY) throw new InputError('--yes', 'flashing erases the card and needs a confirmation', `type the device name when asked (on a terminal), or add --yes to erase ${p.device} without asking`);
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const typed = (await rl.question(`Everything on ${p.device} will be erased. Type its name (${p.device}) to go on: `)).trim();
    if (typed !== p.device) throw new InputError('--device', `you typed "${typed}", not ${p.device}; nothing was touched`, 'run again and type the device name exactly');
  } finally {
    rl.close();
  }
  p.yes = true;
}

/** Bad input (an unknown option, a bad value, a stage that cannot run) is found on a look that leaves nothing behind. */
async function checkRun(p: Parsed, stateDir: string): Promise<void> {
  const look = open(p, stateDir, 'look');
  try {
    look.engine.prepare(look.engine.select({ only: p.stages, skip: p.skip }));
  } finally {
    await look.close();
  }
}

export async function cmdApply(p: Parsed, stateDir: string): Promise<number> {
  await confirmDevice(p);
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    err('\ninterrupted: cancelling the running steps; progress so far is saved (Ctrl+C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  let held: ClusterLock | undefined;
  let s: Session | undefined;
  try {
    held = await lock(p, stateDir, controller.signal);
    await checkRun(p, stateDir);
    s = open(p, stateDir, 'run');
    const stages = s.engine.select({ only: p.stages, skip: p.skip });
    s.engine.prepare(stages);
    if (stages.length === 0) {
      out('every available stage is done; nothing to do');
      return EXIT.ok;
    }
    if (!p.yes) {
      if (!process.stdin.isTTY) throw new InputError('--yes', 'apply changes boards and disks and needs a confirmation', 'add --yes to run without asking');
      const ok = await confirm(`Run ${stages.join(', ')} on ${s.ports.mode === 'lab' ? 'the practice lab' : 'real boards'} (${s.cluster.name})?`);
      if (!ok) return EXIT.interrupted;
    }
    s.engine.on(progressPrinter);
    const outcome = await s.engine.run(stages, controller.signal, { holder: held.holder });
    // What the user now has and what to do next, in the wizard's words (src/app/report.ts).
    for (const id of stages) {
      const st = s.engine.stage(id);
      const r = stageReport(st, s);
      if (r) out(reportText(st, r).join('\n'));
    }
    if (s.log?.written) out(`log: ${s.log.path}`);
    return { done: EXIT.ok, cancelled: EXIT.interrupted, refused: EXIT.input, failed: EXIT.failed }[outcome];
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await s?.close();
    held?.release();
  }
}

/** A stage's line in the status table: its state, and what the re-check found. */
function statusWord(status: string, lost: string[], moved: string[]): string {
  if (lost.length) return `NO LONGER DONE (${lost.join('; ')})`;
  if (status === 'recheck') return `needs a re-check: the address of ${moved.join(', ')} changed since it ran (status --verify, or apply it again)`;
  return status === 'unavailable' ? 'not available yet' : status;
}

export async function cmdStatus(p: Parsed, stateDir: string): Promise<number> {
  defaultClusterFile(p, stateDir);
  const s = open(p, stateDir, 'look');
  try {
    const records = s.store.steps();
    const checks = p.verify ? await s.engine.recheck(s.engine.stages.filter((st) => !st.unavailable).map((st) => st.id)) : [];
    const lostOf = (id: StageId) => checks.filter((c) => c.stage === id && !c.ok).map((c) => `${c.step}${c.node ? ` on ${c.node}` : ''}`);
    const rows = s.engine.stages.map((st) => {
      const status = s.engine.stageStatus(st.id);
      const lost = lostOf(st.id);
      return { stage: st.id, title: st.title, status: lost.length ? 'no-longer-done' : status, unavailable: st.unavailable ?? null, ...(lost.length ? { noLongerDone: lost } : {}), ...(status === 'recheck' ? { moved: s.engine.movedNodes(st.id) } : {}) };
    });
    // A run that holds the cluster right now: its steps marked running are running, not left over.
    const running = lockHolder(stateDir, s.cluster.name) ?? null;
    const faults = s.labFaults?.() ?? [];
    if (p.json) out(JSON.stringify({ cluster: s.cluster.name, mode: s.store.mode, stateFile: s.statePath, saved: s.saved, runningNow: running, ...(s.store.mode === 'lab' ? { labFaults: faults } : {}), stages: rows, steps: records, ...(p.verify ? { verified: checks } : {}) }, null, 2));
    else {
      out(`${s.cluster.name} (${s.store.mode === 'lab' ? 'practice lab' : 'real boards'}), ${s.saved ? `progress in ${s.statePath}` : `no saved progress yet (it will be kept in ${s.statePath})`}`);
      if (running) out(`  running now: ${describeHolder(running)}`);
      if (faults.length) out(`  lab faults on: ${faults.join(', ')} (clear with --lab-fault NODE:none or cards:none)`);
      for (const r of rows) out(`  ${r.stage.padEnd(14)} ${statusWord(s.engine.stageStatus(r.stage), r.noLongerDone ?? [], r.moved ?? [])}`);
      for (const [key, rec] of Object.entries(records)) if (rec.status === 'failed') out(`  failed: ${rec.error ?? key}`);
      for (const c of checks) if (!c.ok) out(`  no longer done: ${c.stage}/${c.step}${c.node ? ` on ${c.node}` : ''}${c.error ? ` (${c.error})` : ''}`);
      if (p.verify) out(checks.some((c) => !c.ok) ? 'some steps recorded as done no longer hold: apply their stage again' : `every step recorded as done still holds (${checks.length} checked)`);
    }
    return checks.some((c) => !c.ok) ? EXIT.failed : EXIT.ok;
  } finally {
    await s.close();
  }
}

/** reset --boards: the plan, a yes, then every named board back to "packages done". */
async function resetBoards(p: Parsed, s: Session, held: ClusterLock): Promise<number> {
  const { boardResetPlan, resetTargets, runBoardReset } = await import('../../flows/reset/index.ts');
  const nodes = resetTargets(s.cluster, p.nodes);
  const c = { cluster: s.cluster, ports: s.ports, store: s.store };
  const actions = boardResetPlan(c, nodes);
  if (p.json) out(JSON.stringify(actions, null, 2));
  else for (const a of actions) out(`${a.node ?? 'this computer'}: ${a.description}${a.content ? `\n${a.content.replace(/\n$/, '').split('\n').map((l) => `    | ${l}`).join('\n')}` : ''}`);
  if (!p.yes) {
    if (!process.stdin.isTTY) throw new InputError('--yes', 'resetting boards removes their cluster and needs a confirmation', 'add --yes to reset without asking');
    if (!(await confirm(`Reset ${nodes.map((n) => n.name).join(', ')} on ${s.ports.mode === 'lab' ? 'the practice lab' : 'real boards'}?`))) return EXIT.interrupted;
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    const log = (node: string | null, line: string) => out(`[reset] ${node ?? 'this computer'}| ${line}`);
    const r = await s.engine.withLeases(held.holder, log, (ports) => runBoardReset({ ...c, ports }, nodes, { signal: controller.signal, parallel: p.parallel, log }));
    for (const f of r.failed) err(`${f.node}: reset failed: ${f.error}`);
    out(r.failed.length ? `reset failed on ${r.failed.map((f) => f.node).join(', ')}` : `reset ${nodes.map((n) => n.name).join(', ')}: back to "packages done"`);
    return r.failed.length ? EXIT.failed : EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * reset --lab --stage S: the lab's world goes back to how it was before S first ran, so a trainer can rehearse S
 * (and its faults) again. Returns the stages undone on the lab's boards: S and those that first ran after it.
 */
function restoreLabBoards(p: Parsed, stateDir: string): StageId[] {
  const { cluster } = clusterFor(p, stateDir, 'run');
  if (!existsSync(StateStore.fileFor(stateDir, cluster.name))) return [];
  for (const id of p.stages) if (!(STAGE_IDS as readonly string[]).includes(id)) throw new InputError('--stage', `unknown stage "${id}"`, `use one of: ${STAGE_IDS.join(', ')}`);
  const store = StateStore.open(stateDir, cluster.name, { mode: 'lab' });
  const undone: StageId[] = [];
  for (const id of STAGE_IDS.filter((x) => p.stages.includes(x))) {
    const later = store.restoreLab(id);
    if (later) undone.push(id, ...later);
  }
  return [...new Set(undone)];
}

export async function cmdReset(p: Parsed, stateDir: string): Promise<number> {
  if (!p.boards) {
    for (const [given, flag] of [[p.nodes.length > 0, '--node'], [p.yes, '--yes'], [p.json, '--json']] as const) {
      if (given) throw new InputError(flag, 'is an option of reset --boards only (plain reset forgets saved progress and asks nothing)', `add --boards to reset the boards themselves, or leave ${flag} out`);
    }
  }
  defaultClusterFile(p, stateDir);
  const held = await lock(p, stateDir, new AbortController().signal);
  let undone: StageId[] = [];
  try {
    undone = p.lab && !p.boards ? restoreLabBoards(p, stateDir) : [];
  } catch (e) {
    held.release();
    throw e;
  }
  const s = open(p, stateDir, 'run');
  try {
    if (p.boards) return await resetBoards(p, s, held);
    for (const id of undone) out(`${id}: the practice lab's boards are back to how they were before ${id} first ran`);
    for (const node of p.forgetHostKeys) {
      if (!s.cluster.nodes.some((n) => n.name === node)) throw new InputError('--forget-host-key', `no node "${node}" in the cluster file`, `use one of: ${s.cluster.nodes.map((n) => n.name).join(', ')}`);
      out(s.store.forgetHostKey(node) ? `${node}: pinned host key forgotten; the next connection pins the key it sees` : `${node}: no host key was pinned`);
    }
    // Stages whose work on the lab's boards was undone with them are forgotten too.
    const stages = [...new Set([...(p.stages.length ? p.stages : p.forgetHostKeys.length ? [] : s.engine.stages.map((st) => st.id)), ...undone])];
    for (const id of stages) {
      s.engine.stage(id as StageId);
      const n = s.store.clearStage(id as StageId);
      if (n) out(`${id}: forgot ${n} step records`);
    }
    out(undone.length ? 'saved progress updated; the practice lab was put back as it was' : 'saved progress updated; nothing on the boards was changed');
    return EXIT.ok;
  } finally {
    await s.close();
    held.release();
  }
}

