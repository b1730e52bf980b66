// The trainer's commands: runbook (a handout from the plan), workshop (a room of cluster files from one
// template) and status --all (one overview of every table). Loaded only when one of them runs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { openSession } from '../app/session.ts';
import { clusterYaml, loadClusterFile } from '../cluster/file.ts';
import { InvalidClusterError, validateCluster } from '../cluster/validate.ts';
import { MemorySecrets } from '../engine/secrets.ts';
import { StateStore } from '../engine/state.ts';
import { InputError } from '../engine/types.ts';
import { buildRunbook } from '../trainer/runbook.ts';
import { runbookHtml } from '../trainer/runbook-html.ts';
import { runbookMarkdown } from '../trainer/runbook-markdown.ts';
import { overviewOfRoom, overviewOfStateDir, overviewTable } from '../trainer/overview.ts';
import { planRoom, roomManifest, type KeyChoice } from '../trainer/workshop.ts';
import { answersOf } from './answers.ts';
import type { Parsed } from './args.ts';
import { EXIT } from './exit.ts';

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function clusterFileOf(p: Parsed): string {
  if (!p.file) throw new InputError('-f', 'no cluster file given', 'pass -f cluster.yaml (create one with `boardkube init`)');
  return p.file;
}

/** A file the user may have written is never replaced silently. */
function refuseExisting(paths: string[], option: string): void {
  const there = paths.filter((f) => existsSync(f));
  if (there.length) throw new InputError(option, `${there.join(', ')} exist${there.length === 1 ? 's' : ''} already`, 'choose another place, or move the old files away first');
}

export async function cmdRunbook(p: Parsed, stateDir: string): Promise<number> {
  const file = clusterFileOf(p);
  const cluster = loadClusterFile(file, { checkKeyFile: false });
  // The lab's plan is the real plan on simulated boards; follow the saved progress's mode when there is one.
  const saved = StateStore.list(stateDir).find((s) => s.cluster === cluster.name && !('error' in s));
  const lab = p.lab || (saved !== undefined && 'mode' in saved && saved.mode === 'lab');
  const secrets = new MemorySecrets();
  const s = openSession({ cluster, clusterFile: resolve(file), stateDir, lab, kubeconfig: p.kubeconfig ? resolve(p.kubeconfig) : undefined, secrets, log: false, readOnly: true, answers: answersOf(p) });
  try {
    const chosen = p.stages.length ? { stages: s.engine.select({ only: p.stages, skip: p.skip }), left: [] } : s.engine.plannable();
    const rb = await buildRunbook({ engine: s.engine, stages: chosen.stages.filter((id) => !p.skip.includes(id)), left: chosen.left, cluster: cluster.name, clusterFile: file, mode: lab ? 'lab' : 'real', secrets });
    const html = p.out !== undefined && /^\.html?$/i.test(extname(p.out));
    const text = html ? runbookHtml(rb) : runbookMarkdown(rb);
    if (p.out === undefined || p.out === '-') {
      process.stdout.write(text);
      return EXIT.ok;
    }
    if (!p.force) refuseExisting([p.out], '-o');
    mkdirSync(dirname(resolve(p.out)), { recursive: true });
    writeFileSync(p.out, text);
    const steps = rb.stages.reduce((n, st) => n + st.steps.length, 0);
    out(`wrote ${p.out}: ${html ? 'HTML' : 'Markdown'} runbook of ${rb.stages.map((st) => st.id).join(', ') || 'no stage'} (${steps} steps)${rb.left.length ? `; left out: ${rb.left.map((l) => l.stage).join(', ')}` : ''}`);
    return EXIT.ok;
  } finally {
    await s.close();
  }
}

function keyChoice(p: Parsed): KeyChoice {
  const v = p.keys ?? 'shared';
  if (v !== 'shared' && v !== 'per-table') throw new InputError('--keys', `"${v}" is not shared or per-table`, 'use --keys shared (every table uses the template\'s key) or --keys per-table (a new key pair for each table)');
  return v;
}

export async function cmdWorkshop(p: Parsed): Promise<number> {
  const template = clusterFileOf(p);
  if (p.tables === undefined) throw new InputError('--tables', 'how many tables the room has is missing', 'e.g. --tables 10');
  const spec = loadClusterFile(template, { checkKeyFile: false });
  const outDir = resolve(p.out ?? 'room');
  const keys = keyChoice(p);
  const plan = planRoom(spec, p.tables, keys, join(outDir, 'keys'));
  // Every table's file must itself be a valid cluster file before anything is written.
  for (const t of plan.tables) {
    const { problems } = validateCluster(JSON.parse(JSON.stringify(t.spec)), { checkKeyFile: false });
    if (problems.length) throw new InvalidClusterError(problems, t.file);
  }
  const files = [...plan.tables.map((t) => join(outDir, t.file)), join(outDir, 'room.yaml'), ...plan.tables.flatMap((t) => (t.keyPath ? [t.keyPath] : []))];
  refuseExisting(files, '--out');
  mkdirSync(outDir, { recursive: true });
  for (const t of plan.tables) {
    if (t.keyPath) {
      mkdirSync(dirname(t.keyPath), { recursive: true, mode: 0o700 });
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `boardkube ${t.spec.name}`, '-f', t.keyPath], { stdio: 'ignore' });
    }
    writeFileSync(join(outDir, t.file), clusterYaml(t.spec));
  }
  writeFileSync(join(outDir, 'room.yaml'), `# boardkube room: ${plan.tables.length} tables from ${basename(template)}. Overview: boardkube status --all -f ${relative(process.cwd(), join(outDir, 'room.yaml')) || 'room.yaml'}\n${stringify(roomManifest(plan, resolve(template)))}`);
  out(`wrote ${plan.tables.length} cluster files and room.yaml to ${outDir}: addresses ${plan.range.first} - ${plan.range.last} on ${plan.lan} (${plan.range.free} left free)${keys === 'per-table' ? ', a key pair per table under keys/' : `, every table uses ${spec.ssh.keyPath}`}`);
  for (const t of plan.tables) out(`  ${t.spec.name.padEnd(24)} ${t.spec.nodes.map((n) => `${n.name} ${n.address}`).join(', ')}`);
  return EXIT.ok;
}

export async function cmdStatusAll(p: Parsed, stateDir: string): Promise<number> {
  const rows = p.file ? overviewOfRoom(p.file, stateDir) : overviewOfStateDir(stateDir);
  out(p.json ? JSON.stringify({ stateDir, clusters: rows }, null, 2) : overviewTable(rows));
  return EXIT.ok;
}
