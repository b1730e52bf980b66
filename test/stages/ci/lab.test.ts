// The ci stage in the practice lab (BOARDKUBE_LAB_SPEED=0), after the stages before it: the whole stage (forge,
// OAuth application, CI, deploy account, sample pushed, pipeline run, image in the registry, the Deployment
// rolled, the account's limits), the secrets only where they belong (known values looked for in every file of
// the state folder, the log and the events), an existing password file never overwritten, a namespace with
// other owners refused before anything changes, and each practice fault failing the right step with a fix.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SECRETS } from '../../../flows/ci/common.ts';
import { openSession } from '../../../src/app/session.ts';
import type { StageId } from '../../../src/engine/types.ts';
import { failures, labCluster, runLab, type LabRunOptions } from '../lab-run.ts';

const cluster = labCluster;
const run = (stateDir: string, stages: StageId[], o: LabRunOptions = {}) => runLab('ci', stateDir, stages, o);


async function registryUp(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-ci-lab-'));
  const r = await run(dir, ['configure', 'packages', 'control-plane', 'workers', 'ttl', 'webhook', 'registry']);
  expect(failures(r.events)).toEqual([]);
  expect(r.outcome).toBe('done');
  return dir;
}

describe('ci in the practice lab', () => {
  it('runs through: the pushed commit builds, lands in the registry and runs; a re-run keeps it done', async () => {
    const dir = await registryUp();
    const r = await run(dir, ['ci']);
    expect(failures(r.events)).toEqual([]);
    expect(r.outcome).toBe('done');
    expect(r.status('ci')).toBe('done');
    const prove = r.outputs('prove') as { commit: string; rows: Array<{ check: string; ok: boolean; detail: string }> };
    expect(prove.rows.map((x) => x.ok)).toEqual([true, true, true, true]);
    expect(prove.rows[2]!.detail).toContain(`${cluster.nodes[0]!.address}:30500/app:${prove.commit}`);
    const again = await run(dir, ['ci']);
    expect(failures(again.events)).toEqual([]);
    expect(again.outcome).toBe('done');
  });

  it('keeps the admin password, OAuth secret, agent secret and registry password out of the progress, logs, events and plan', async () => {
    const dir = await registryUp();
    const r = await run(dir, ['ci']);
    expect(r.outcome).toBe('done');
    const known = [SECRETS.admin, SECRETS.oauthSecret, SECRETS.agent, SECRETS.registry].map((k) => [k, r.secrets.get(k)] as const);
    for (const [k, v] of known) expect(v, k).toMatch(/^.{16,}$/);
    const passwordFile = path.join(dir, `${cluster.name}-forge-admin.password`);
    expect(fs.statSync(passwordFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(passwordFile, 'utf8').trim()).toBe(r.secrets.get(SECRETS.admin));
    const registryFile = path.join(dir, cluster.name, 'registry.password');
    const forms = (v: string) => [v, Buffer.from(v).toString('base64')];
    for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
      const full = path.join(dir, f);
      if (full === passwordFile || full === registryFile || !fs.statSync(full).isFile()) continue;
      const text = fs.readFileSync(full, 'utf8');
      for (const [k, v] of known) for (const form of forms(v!)) expect(text.includes(form), `${k} in ${full}`).toBe(false);
    }
    const events = JSON.stringify(r.events);
    for (const [k, v] of known) expect(events.includes(v!), `${k} in the events`).toBe(false);
    const s = openSession({ cluster, stateDir: dir, lab: true });
    try {
      const plan = JSON.stringify(await s.engine.plan(['ci']));
      for (const [k, v] of known) expect(plan.includes(v!), `${k} in the plan`).toBe(false);
      expect(plan).toContain('.woodpecker.yaml');
    } finally {
      await s.close();
    }
  });

  it('never overwrites a password file it did not write (refused, nothing changed in the cluster)', async () => {
    const dir = await registryUp();
    const mine = path.join(dir, 'mine.txt');
    fs.writeFileSync(mine, 'my own notes\n');
    const r = await run(dir, ['ci'], { set: { 'admin-password-file': mine } });
    expect(r.outcome).toBe('refused');
    expect(failures(r.events).join('\n')).toMatch(/ci\/admin-password: admin-password-file: .*mine\.txt exists already and was not written by this stage \(fix: name another file/);
    expect(fs.readFileSync(mine, 'utf8')).toBe('my own notes\n');
  });

  it('refuses a namespace that exists with other owners before changing anything', async () => {
    const dir = await registryUp();
    const s = openSession({ cluster, stateDir: dir, lab: true });
    try {
      const c = await s.ports.cluster();
      await c.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-web', labels: { team: 'web' } } }]);
    } finally {
      await s.close();
    }
    const r = await run(dir, ['ci'], { set: { 'target-namespace': 'team-web' } });
    expect(r.outcome).toBe('refused');
    expect(failures(r.events)).toEqual([expect.stringMatching(/^ci\/namespace-check: target-namespace: namespace team-web exists and is not boardkube's .*\(fix: choose a namespace of the stage's own with --set target-namespace=NAME/)]);
    expect(fs.existsSync(path.join(dir, `${cluster.name}-forge-admin.password`))).toBe(false);
  });

  it('an existing forge that cannot be reached is bad input, named with the fix', async () => {
    const dir = await registryUp();
    const pw = path.join(dir, 'forge.pw');
    fs.writeFileSync(pw, 'my-forge-password\n', { mode: 0o600 });
    const r = await run(dir, ['ci'], { set: { 'forge-url': 'http://192.168.1.99:3000', 'admin-password-file': pw } });
    expect(r.outcome).toBe('refused');
    expect(failures(r.events)).toEqual([expect.stringMatching(/^ci\/oauth-app: forge-url: the forge at http:\/\/192\.168\.1\.99:3000 cannot be reached .*\(fix: check the address/)]);
  });

  it.each([
    ['oauth-rejected', /^ci\/ci: the forge did not authorize the CI's OAuth application: unauthorized_client.*\(fix: run the stage again/],
    ['agent-unreachable', /^ci\/ci: no Woodpecker agent has connected to the server .*\n {2}fix: `kubectl -n boardkube-ci logs deploy\/woodpecker-agent`: the agent must reach woodpecker-server\.boardkube-ci\.svc:9000/],
    ['pipeline-pending', /^ci\/prove: a push of \w{8} runs the pipeline: pipeline #1 is still pending .*volume claim wp-1-\w{8}-default is Pending: no volume for it \(the cluster's default StorageClass\)\n {2}fix: give the cluster a StorageClass/],
  ])('fault ci:%s fails the right step with the reason and the fix, and clears with ci:none', async (fault, message) => {
    const dir = await registryUp();
    const r = await run(dir, ['ci'], { faults: [`ci:${fault}`] });
    expect(r.outcome).toBe('failed');
    expect(failures(r.events)).toEqual([expect.stringMatching(message)]);
    const fixed = await run(dir, ['ci'], { faults: ['ci:none'] });
    expect(failures(fixed.events)).toEqual([]);
    expect(fixed.status('ci')).toBe('done');
  });

  it('a trainer\'s fault plan switches a ci fault on when its step starts (the steps before it run as usual)', async () => {
    const dir = await registryUp();
    const plan = path.join(dir, 'faults.yaml');
    fs.writeFileSync(plan, 'faults:\n  - node: ci\n    fault: pipeline-pending\n    stage: ci\n    step: sample\n');
    const r = await run(dir, ['ci'], { plan });
    expect(r.outcome).toBe('failed');
    expect(failures(r.events)).toEqual([expect.stringMatching(/^ci\/prove: .*pipeline #1 is still pending/)]);
  });
});

