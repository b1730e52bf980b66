// The trainer's kit through the built command: runbook from the plan, a room of cluster files, one overview.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { boardkubeCommand, until } from '../e2e/common.ts';

const [node, ...prefix] = boardkubeCommand();
let dir: string;
let env: NodeJS.ProcessEnv;

function bk(args: string[], extraEnv: Record<string, string> = {}) {
  const r = spawnSync(node!, [...prefix, ...args], { cwd: dir, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bk-trainer-'));
  env = { ...process.env, BOARDKUBE_STATE_DIR: join(dir, 'state'), BOARDKUBE_LAB_SPEED: '0', NO_COLOR: '1' };
  delete env.CI;
  expect(bk(['init', '-f', 'cluster.yaml']).code).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('runbook', () => {
  it('holds every command action of plan --json verbatim, and no secret value', () => {
    // Known secret values: the first-login passwords come from 0600 files and must never reach the handout.
    const alarm = join(dir, 'alarm.pw');
    const root = join(dir, 'root.pw');
    writeFileSync(alarm, 'Alarm-Known-Value-81\n');
    writeFileSync(root, 'Root-Known-Value-27\n');
    chmodSync(alarm, 0o600);
    chmodSync(root, 0o600);
    const common = ['-f', 'cluster.yaml', '--lab', '--set', 'first-login=arch-defaults'];
    const plan = bk(['plan', ...common, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const actions = JSON.parse(plan.stdout) as Array<{ type: string; content?: string; path?: string; stage: string }>;
    const commands = actions.filter((a) => a.type === 'command' && a.content);
    expect(commands.length).toBeGreaterThan(10);
    const r = bk(['runbook', ...common, '--password-file', `alarm=${alarm}`, '--password-file', `root=${root}`, '-o', 'handout.md']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote handout\.md: Markdown runbook of configure/);
    const md = readFileSync(join(dir, 'handout.md'), 'utf8');
    for (const a of commands) expect(md, `the command of ${a.stage} is missing`).toContain(a.content!.replace(/\n$/, ''));
    for (const a of actions.filter((x) => x.type === 'file' && x.path)) expect(md).toContain(a.path!);
    for (const stage of new Set(actions.map((a) => a.stage))) expect(md).toMatch(new RegExp(`^## .*\\(${stage}\\)$`, 'm'));
    expect(md).not.toContain('Alarm-Known-Value-81');
    expect(md).not.toContain('Root-Known-Value-27');
    expect(md).toMatch(/Check afterwards: `boardkube status -f cluster\.yaml --verify`/);
  });

  it('never replaces a handout that exists', () => {
    writeFileSync(join(dir, 'old.md'), 'my notes\n');
    const r = bk(['runbook', '-f', 'cluster.yaml', '--lab', '-o', 'old.md']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/old\.md exists already/);
    expect(readFileSync(join(dir, 'old.md'), 'utf8')).toBe('my notes\n');
  });

  it('as HTML prints to PDF with one stage per page (headless Chromium)', () => {
    const r = bk(['runbook', '-f', 'cluster.yaml', '--lab', '-o', 'handout.html']);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(join(dir, 'handout.html'), 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/<script|<link|src="http/);
    const chromium = ['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--no-pdf-header-footer'];
    const url = `file://${join(dir, 'handout.html')}`;
    // Chromium parses the page as a browser does: the DOM it hands back must hold the title and every stage section.
    const dom = spawnSync(chromium[0]!, [...chromium.slice(1), '--dump-dom', url], { encoding: 'utf8', timeout: 60_000 });
    expect(dom.status, dom.stderr).toBe(0);
    expect(dom.stdout).toContain('<h1>Runbook: homelab</h1>');
    // One section per stage the plan holds, each with its title.
    const planned = new Set((JSON.parse(bk(['plan', '-f', 'cluster.yaml', '--lab', '--json']).stdout) as Array<{ stage: string }>).map((a) => a.stage));
    const titles = [...dom.stdout.matchAll(/<section class="stage" id="stage-([a-z-]+)">\s*<h2>([^<]+)<\/h2>/g)].map((m) => ({ id: m[1]!, title: m[2]!.replace(/&amp;/g, '&') }));
    expect(titles.map((t) => t.id).sort()).toEqual([...planned].sort());
    const pdf = join(dir, 'handout.pdf');
    const p = spawnSync(chromium[0]!, [...chromium.slice(1), `--print-to-pdf=${pdf}`, url], { encoding: 'utf8', timeout: 60_000 });
    expect(p.status, p.stderr).toBe(0);
    const pages = Number(/Pages:\s+(\d+)/.exec(spawnSync('pdfinfo', [pdf], { encoding: 'utf8' }).stdout)?.[1]);
    const pageText = (n: number) => spawnSync('pdftotext', ['-f', String(n), '-l', String(n), '-layout', pdf, '-'], { encoding: 'utf8' }).stdout;
    const texts = Array.from({ length: pages }, (_, i) => pageText(i + 1));
    // Each stage starts on a page of its own: its title is the first line of a page, and appears as such once.
    for (const t of titles) expect(texts.filter((text) => text.trimStart().startsWith(t.title)).length, `${t.title} starts a page`).toBe(1);
    expect(texts[0]).toMatch(/Runbook: homelab/);
    expect(texts[0]).toMatch(/Contents/);
    // A screenshot of the first page, as a trainer sees it before printing.
    const png = join(dir, 'first-page.png');
    const shot = spawnSync(chromium[0]!, [...chromium.slice(1), `--screenshot=${png}`, '--window-size=1000,1400', url], { encoding: 'utf8', timeout: 60_000 });
    expect(shot.status, shot.stderr).toBe(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    expect(texts.find((text) => text.trimStart().startsWith(titles[0]!.title))).toMatch(/Reach every board over SSH|First login/);
  }, 180_000);
});

describe('workshop', () => {
  it('writes ten valid, non-overlapping cluster files on a /24 that plan accepts', () => {
    const r = bk(['workshop', '-f', 'cluster.yaml', '--tables', '10', '--out', 'room']);
    expect(r.code, r.stderr).toBe(0);
    const room = parse(readFileSync(join(dir, 'room', 'room.yaml'), 'utf8')) as { kind: string; tables: Array<{ cluster: string; file: string; nodes: Record<string, string> }> };
    expect(room.kind).toBe('Room');
    expect(room.tables).toHaveLength(10);
    const addresses = room.tables.flatMap((t) => Object.values(t.nodes));
    const names = room.tables.flatMap((t) => Object.keys(t.nodes));
    expect(new Set(addresses).size).toBe(50);
    expect(new Set(names).size).toBe(50);
    expect(addresses).not.toContain('192.168.1.1');
    for (const t of room.tables) {
      const plan = bk(['plan', '-f', join('room', t.file), '--lab', '--json']);
      expect(plan.code, plan.stderr).toBe(0);
      expect(JSON.parse(plan.stdout).length).toBeGreaterThan(0);
    }
  }, 180_000);

  it('refuses a room too big for the LAN and writes nothing', () => {
    const r = bk(['workshop', '-f', 'cluster.yaml', '--tables', '60', '--out', 'big']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/60 tables of 5 boards need 300 addresses/);
    expect(existsSync(join(dir, 'big'))).toBe(false);
  });

  it('gives every table its own key pair with --keys per-table', () => {
    const r = bk(['workshop', '-f', 'cluster.yaml', '--tables', '2', '--out', 'keyed', '--keys', 'per-table']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(dir, 'keyed', 'keys')).sort()).toEqual(['t01', 't02']);
    const plan = bk(['plan', '-f', join('keyed', 'homelab-t02.yaml'), '--json']);
    expect(plan.code, plan.stderr).toBe(0);
  });
});

describe('status --all', () => {
  const running: ChildProcess[] = [];
  afterAll(() => {
    for (const p of running) p.kill('SIGKILL');
  });

  it('lists ten saved clusters while two of them are being applied by other processes', async () => {
    const files = readdirSync(join(dir, 'room')).filter((f) => f.endsWith('.yaml') && f !== 'room.yaml').sort();
    // Eight tables finished (their runs side by side, as in a room).
    const finished = await Promise.all(
      files.slice(0, 8).map(
        (f) =>
          new Promise<{ code: number | null; err: string }>((resolve) => {
            const p = spawn(node!, [...prefix, 'apply', '-f', join('room', f), '--lab', '--yes', '--stage', 'configure'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
            let err = '';
            p.stderr!.on('data', (c: Buffer) => (err += c.toString()));
            p.on('close', (code) => resolve({ code, err }));
          }),
      ),
    );
    for (const r of finished) expect(r.code, r.err).toBe(0);
    // Two tables still running, at the lab's realistic speed, in processes of their own.
    for (const f of files.slice(8)) {
      const p = spawn(node!, [...prefix, 'apply', '-f', join('room', f), '--lab', '--yes', '--stage', 'configure'], { cwd: dir, env: { ...env, BOARDKUBE_LAB_SPEED: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      running.push(p);
    }
    await until(() => files.slice(8).every((f) => existsSync(join(dir, 'state', `${f.replace(/\.yaml$/, '')}.json`))), 'both running applies to save progress', 30_000);
    const r = bk(['status', '--all', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(running.every((p) => p.exitCode === null)).toBe(true);
    const all = JSON.parse(r.stdout) as { clusters: Array<{ cluster: string; stages: Record<string, string> }> };
    const byName = new Map(all.clusters.map((c) => [c.cluster, c]));
    for (const f of files) expect(byName.has(f.replace(/\.yaml$/, ''))).toBe(true);
    for (const f of files.slice(0, 8)) expect(byName.get(f.replace(/\.yaml$/, ''))!.stages.configure).toBe('done');
    for (const f of files.slice(8)) expect(['running', 'in-progress']).toContain(byName.get(f.replace(/\.yaml$/, ''))!.stages.configure);
    // The room's own view, as a table.
    const table = bk(['status', '--all', '-f', join('room', 'room.yaml')]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n').filter((l) => /^homelab-t\d\d /.test(l))).toHaveLength(10);
  }, 240_000);
});
