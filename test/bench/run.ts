// npm run bench: one JSON line per metric, medians. Each benchmark lives in its own module beside this one.
import type { Metric } from './stats.ts';

const benches: Array<[string, () => Promise<Metric[]>]> = [
  ['startup', async () => (await import('./startup.ts')).benchStartup()],
  ['resume', async () => (await import('./resume.ts')).benchResume()],
  ['flash', async () => (await import('./flash.ts')).benchFlash()],
  ['overview', async () => (await import('./overview.ts')).benchOverview()],
  ['locks', async () => (await import('./locks.ts')).benchLocks()],
  ['packages', async () => (await import('./packages.ts')).benchPackages()],
  ['kubeadm', async () => (await import('./kubeadm.ts')).benchKubeadm()],
  ['wizard', async () => (await import('./wizard.ts')).benchWizard()],
];

let failed = false;
for (const [name, run] of benches) {
  try {
    for (const m of await run()) process.stdout.write(`${JSON.stringify(m)}\n`);
  } catch (e) {
    failed = true;
    process.stderr.write(`bench ${name} failed: ${(e as Error).message}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
