// Entry of the full-screen wizard: `boardkube [-f FILE]` and `boardkube --lab` (the CLI imports this lazily).
// The first frame is drawn before anything slow happens: saved clusters, flows and the engine load after it.
import { render } from 'ink';
import { WizardController } from '../src/app/wizard.ts';
import { App } from './App.tsx';

export interface RunWizardOptions {
  clusterFile?: string;
  lab: boolean;
  stateDir: string;
  parallel?: number;
  /** Practice-lab faults "node:fault" (--lab-fault). */
  labFaults?: string[];
  /** A trainer's fault plan file (--lab-faults). */
  labFaultPlan?: string;
}

export async function runWizard(opts: RunWizardOptions): Promise<number> {
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    process.stderr.write('boardkube: the wizard needs a terminal. Without one, use `boardkube apply -f FILE` (see `boardkube --help`).\n');
    return 2;
  }
  const controller = new WizardController({ stateDir: opts.stateDir, lab: opts.lab, clusterFile: opts.clusterFile, parallel: opts.parallel, labFaults: opts.labFaults, labFaultPlan: opts.labFaultPlan });
  const ink = render(<App controller={controller} />, {
    alternateScreen: true,
    // Both ends are a terminal (checked above): draw every frame even when CI=true is in the environment,
    // which would otherwise make Ink print only the last frame at exit.
    interactive: true,
    exitOnCtrlC: false,
    patchConsole: true,
    incrementalRendering: true,
    maxFps: 20,
  });
  // Signals from outside: stop the running step cleanly (the progress stays consistent), then leave.
  const onSignal = () => void controller.quit();
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    const code = await Promise.race([controller.exited, ink.waitUntilExit().then(() => controller.quit().then(() => controller.exited))]);
    ink.unmount();
    await ink.waitUntilExit().catch(() => undefined);
    return code;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}
