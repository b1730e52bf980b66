// resume_verify_ms: how long resuming a finished practice-lab cluster takes (every done step re-verified,
// nothing re-run), at realistic lab timings. Measured in-process through the same session the CLI opens.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSession } from '../../src/app/session.ts';
import { defaultCluster } from '../../src/cluster/spec.ts';
import { median, type Metric } from './stats.ts';

export async function benchResume(runs = 10): Promise<Metric[]> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bk-bench-resume-'));
  const cluster = defaultCluster('/nonexistent');
  process.env.BOARDKUBE_LAB_SPEED = '0';
  // The read-only kubeconfig goes beside the progress, not into the folder the bench runs from.
  const options = { readonly: { 'kubeconfig-out': join(stateDir, 'readonly.kubeconfig') } };
  const first = openSession({ cluster, stateDir, lab: true, log: false, options });
  const stages = first.engine.select();
  if ((await first.engine.run(stages)) !== 'done') throw new Error('the lab run to resume from failed');
  await first.close();
  process.env.BOARDKUBE_LAB_SPEED = '1';
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = openSession({ cluster, stateDir, lab: true, log: false, options });
    const t0 = performance.now();
    const outcome = await s.engine.run(stages);
    times.push(performance.now() - t0);
    await s.close();
    if (outcome !== 'done') throw new Error(`resume ${i} ended ${outcome}`);
  }
  return [{ metric: 'resume_verify_ms', median: median(times), unit: 'ms', runs, stages: stages.join(',') }];
}
