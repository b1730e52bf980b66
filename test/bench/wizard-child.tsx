// One wizard process (the real controller and screens, rendered by ink-testing-library: there is no terminal here)
// through a full practice-lab run of every available stage, as a trainer clicks through it. Prints one JSON line:
// the process's resident memory and the size of what the run saved. Run by wizard.ts in a fresh process.
import { statSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { App } from '../../screens/App.tsx';
import { WizardController } from '../../src/app/wizard.ts';
import { clusterYaml } from '../../src/cluster/file.ts';
import { defaultCluster } from '../../src/cluster/spec.ts';
import { labCardDevices } from '../../src/lab/cards.ts';

const stateDir = process.argv[2]!;
process.env.BOARDKUBE_LAB_SPEED = '0';
const file = join(stateDir, 'homelab.cluster.yaml');
const cluster = defaultCluster(join(stateDir, 'lab_ed25519'));
writeFileSync(file, clusterYaml(cluster));

const until = async (what: string, ok: () => boolean, ms = 600_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const c = new WizardController({ stateDir, lab: true });
const ui = render(<App controller={c} />);
await c.start();
await c.openFile(file, { lab: true });
await until('the cluster open', () => c.session !== undefined);
const stages = c.getSnapshot().stages.filter((s) => s.status !== 'unavailable').map((s) => s.id);
const ran: string[] = [];
for (const id of stages) {
  c.selectStage(id);
  if (id === 'flash') {
    // One card per board, as the lab's readers offer them (the system disk and a stick with photos are not cards).
    const devices = labCardDevices(cluster.nodes.length).filter((d) => !['/dev/nvme0n1', '/dev/sdc'].includes(d)).slice(0, cluster.nodes.length);
    c.setStageOption('flash', 'node', cluster.nodes.map((n) => n.name).join(','));
    c.setStageOption('flash', 'device', devices.join(','));
  }
  await c.runStage(id);
  const dialog = c.getSnapshot().dialog;
  if (dialog?.kind === 'confirm-typed') await c.confirmTyped(dialog.expect);
  await until(`stage ${id}`, () => !['idle', 'running', 'cancelling'].includes(c.getSnapshot().run.state) || (c.getSnapshot().run.state === 'idle' && c.getSnapshot().stages.find((s) => s.id === id)?.status === 'done'));
  ran.push(`${id}:${c.getSnapshot().stages.find((s) => s.id === id)?.status}`);
}
const size = (p: string) => statSync(p).size;
const labDir = join(stateDir, 'homelab.lab');
const lab = readdirSync(labDir).reduce((n, f) => n + size(join(labDir, f)), 0);
const rss = process.memoryUsage().rss;
ui.unmount();
await c.quit();
process.stdout.write(`${JSON.stringify({ rss, state: size(join(stateDir, 'homelab.json')), lab, ran })}\n`);
process.exit(0);
