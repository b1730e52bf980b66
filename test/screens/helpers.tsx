// Helpers for the screen tests: a real controller over a temporary state directory and the practice lab,
// the App rendered with ink-testing-library, and waiting for content instead of sleeping.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import stripAnsi from 'strip-ansi';
import { WizardController, type WizardOptions } from '../../src/app/wizard.ts';
import { App } from '../../screens/App.tsx';
import { afterEach, beforeEach } from 'vitest';

export const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  right: '\u001B[C',
  left: '\u001B[D',
  enter: '\r',
  tab: '\t',
  escape: '\u001B',
  backspace: '\u007F',
  ctrlC: '\u0003',
  ctrlU: '\u0015',
  ctrlN: '\u000E',
  pageUp: '\u001B[5~',
};

// What each test opened, closed again after it by useScreenTests().
const opened: Rendered[] = [];
const cleanups: Array<() => void> = [];

/** Every screen test file: instant lab, and after each test every wizard unmounted and quit, temp dirs removed. */
export function useScreenTests(): void {
  beforeEach(() => {
    process.env.BOARDKUBE_LAB_SPEED = '0';
  });
  afterEach(async () => {
    for (const ui of opened.splice(0)) {
      ui.unmount();
      await ui.controller.quit();
    }
    for (const c of cleanups.splice(0)) c();
  });
}

export function tempStateDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bk-screens-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  cleanups.push(cleanup);
  return { dir, cleanup };
}

// Generous: the first resume imports the engine, flows and lab (transformed on the fly under vitest), and CI
// machines are busy. Tests still finish as soon as the content shows.
const WAIT_MS = 15_000;

export async function waitFor<T>(probe: () => T | undefined | false | null, what: string, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Rendered {
  controller: WizardController;
  frame(): string;
  waitForText(text: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Writes keys, then waits until the frame shows `text`. */
  press(keys: string, until: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Presses `key` until the frame matches `until` (at most `max` times), waiting for a redraw each time. */
  pressUntil(key: string, until: (frame: string) => boolean, max?: number): Promise<string>;
  write(keys: string): void;
  unmount(): void;
}

export function renderWizard(opts: Partial<WizardOptions> & { stateDir: string }, size = { columns: 100, rows: 30 }): Rendered {
  const controller = new WizardController({ lab: true, ...opts });
  const inst = render(<App controller={controller} size={size} colors={false} />);
  const frame = () => stripAnsi(inst.lastFrame() ?? '');
  const matches = (f: string, t: string | RegExp) => (typeof t === 'string' ? f.includes(t) : t.test(f));
  const waitForText = (text: string | RegExp, timeoutMs = WAIT_MS) => waitFor(() => (matches(frame(), text) ? frame() : undefined), `"${String(text)}" in the frame:\n${frame()}`, timeoutMs);
  const rendered: Rendered = {
    controller,
    frame,
    waitForText,
    write: (k) => inst.stdin.write(k),
    async press(keys, until, timeoutMs) {
      inst.stdin.write(keys);
      return waitForText(until, timeoutMs);
    },
    async pressUntil(key, until, max = 40) {
      for (let i = 0; i < max; i++) {
        if (until(frame())) return frame();
        const before = inst.frames.length;
        inst.stdin.write(key);
        await waitFor(() => inst.frames.length > before || until(frame()), 'a redraw after a key');
      }
      if (until(frame())) return frame();
      throw new Error(`pressed ${JSON.stringify(key)} ${max} times without reaching the expected frame:\n${frame()}`);
    },
    unmount: () => {
      inst.unmount();
    },
  };
  opened.push(rendered);
  return rendered;
}

/** A practice-lab cluster saved in `stateDir` the way the wizard saves one: cluster file + progress. */
export async function savedLabCluster(stateDir: string, name: string, o: { run?: boolean } = {}): Promise<{ file: string }> {
  const { openSession } = await import('../../src/app/session.ts');
  const { defaultCluster } = await import('../../src/cluster/spec.ts');
  const { writeClusterFile } = await import('../../src/cluster/file.ts');
  const { createSshKey, labKeyPath } = await import('../../src/app/wizard.ts');
  await createSshKey(labKeyPath(stateDir));
  const cluster = { ...defaultCluster(labKeyPath(stateDir)), name };
  const file = join(stateDir, `${name}.cluster.yaml`);
  writeClusterFile(file, cluster);
  const s = openSession({ cluster, clusterFile: file, stateDir, lab: true, log: false });
  if (o.run) {
    // The configure stage grows (other steps come after "connect"); what these tests rely on is its
    // first step, "connect", done on every board.
    await s.engine.run(s.engine.select({ only: ['configure'] }));
    for (const n of cluster.nodes) {
      const r = s.store.step(`configure/connect@${n.name}`);
      if (r?.status !== 'done') throw new Error(`connect on ${n.name} ended ${r?.status}: ${r?.error}`);
    }
  }
  await s.close();
  return { file };
}

/** A lab cluster whose boards went through configure, packages, control-plane and workers. */
export async function builtLabCluster(dir: string, name: string): Promise<void> {
  const { file } = await savedLabCluster(dir, name);
  const { openSession } = await import('../../src/app/session.ts');
  const { readClusterFile } = await import('../../src/cluster/file.ts');
  const cluster = readClusterFile(file).spec!;
  const s = openSession({ cluster, clusterFile: file, stateDir: dir, lab: true, log: false });
  try {
    const r = await s.engine.run(['configure', 'packages', 'control-plane', 'workers']);
    if (r !== 'done') throw new Error(`the lab cluster was not built: ${r}`);
  } finally {
    await s.close();
  }
}
