// The registry stage in the practice lab (BOARDKUBE_LAB_SPEED=0), after configure, control-plane and workers:
// the whole stage, a re-run that changes nothing, the CA at the runtime's path on every node for the one
// HOST:PORT image references use, the password only in its 0600 file (never in progress, logs or events), an
// existing password file never overwritten, and the faults registry-no-ca (curl's x509 answer on that node),
// registry-wrong-port (no trust for exactly HOST:PORT) and cluster:registry-no-storage (the registry pod Pending).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PASSWORD_SECRET } from '../../../flows/registry/credentials.ts';
import { openSession } from '../../../src/app/session.ts';
import type { StageId } from '../../../src/engine/types.ts';
import { failures, labCluster, runLab, type LabRunOptions } from '../lab-run.ts';

const cluster = labCluster;
const run = (stateDir: string, stages: StageId[], o: LabRunOptions = {}) => runLab('registry', stateDir, stages, o);


async function clusterUp(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-registry-lab-'));
  const r = await run(dir, ['configure', 'packages', 'control-plane', 'workers']);
  expect(failures(r.events)).toEqual([]);
  expect(r.outcome).toBe('done');
  return dir;
}

describe('registry in the practice lab', () => {
  it('runs through; the password is only in its 0600 file; a re-run verifies and changes nothing', async () => {
    const dir = await clusterUp();
    const r = await run(dir, ['registry']);
    expect(failures(r.events)).toEqual([]);
    expect(r.outcome).toBe('done');
    expect(r.status('registry')).toBe('done');
    const file = path.join(dir, cluster.name, 'registry.password');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const password = fs.readFileSync(file, 'utf8').trim();
    expect(password).toBe(r.secrets.get(PASSWORD_SECRET));
    expect(password.length).toBeGreaterThanOrEqual(24);
    // Nowhere else: not in the progress, the run log, or any event.
    for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
      const full = path.join(dir, f);
      if (full === file || !fs.statSync(full).isFile()) continue;
      expect(fs.readFileSync(full, 'utf8'), full).not.toContain(password);
    }
    expect(JSON.stringify(r.events)).not.toContain(password);
    const again = await run(dir, ['registry']);
    expect(again.outcome).toBe('done');
    const ran = again.events.filter((e) => e.type === 'step-end' && e.status === 'done');
    expect(ran).toEqual([]);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(password);
  });

  it('plans the CA at the runtime\'s path on every node for the HOST:PORT that image references use', async () => {
    const dir = await clusterUp();
    const s = openSession({ cluster, stateDir: dir, lab: true, options: { registry: { port: '31000' } } });
    try {
      const actions = await s.engine.plan(['registry']);
      const hostPort = `${cluster.nodes[0]!.address}:31000`;
      const caFiles = actions.filter((a) => a.step === 'trust' && a.type === 'file' && a.path === `/etc/containers/certs.d/${hostPort}/ca.crt`);
      expect(caFiles.map((a) => a.node).sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
      expect(caFiles[0]!.content).toMatch(/^-----BEGIN CERTIFICATE-----/);
      const service = actions.find((a) => a.step === 'deploy' && a.type === 'manifest')!.content!;
      expect(service).toMatch(/nodePort: 31000/);
      expect(actions.filter((a) => a.step === 'prove').every((a) => a.content!.includes(`https://${hostPort}/v2/`))).toBe(true);
      // Every command of the plan passes the real shellcheck.
      for (const a of actions.filter((x) => x.type === 'command')) {
        const f = path.join(dir, 'check.sh');
        fs.writeFileSync(f, `#!/bin/sh\n${a.content}`);
        execFileSync('shellcheck', ['-s', 'sh', f]);
      }
    } finally {
      await s.close();
    }
  });

  it('--set address=ANOTHER_NODE: the CA, the certificate and the proof all name that HOST:PORT', async () => {
    const dir = await clusterUp();
    const worker = cluster.nodes[1]!;
    const s = openSession({ cluster, stateDir: dir, lab: true, options: { registry: { address: worker.address } } });
    try {
      const actions = await s.engine.plan(['registry']);
      const hostPort = `${worker.address}:30500`;
      expect(actions.filter((a) => a.step === 'trust' && a.path === `/etc/containers/certs.d/${hostPort}/ca.crt`).map((a) => a.node).sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
      expect(actions.find((a) => a.step === 'certificate')!.content).toContain(`IP:${worker.address},IP:${cluster.nodes[0]!.address}`);
      expect(actions.filter((a) => a.step === 'prove').every((a) => a.content!.includes(`https://${hostPort}/v2/`))).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('never overwrites a password file it did not write', async () => {
    const dir = await clusterUp();
    const mine = path.join(dir, 'mine.txt');
    fs.writeFileSync(mine, 'my own notes\n');
    const r = await run(dir, ['registry'], { set: { 'password-file': mine } });
    expect(r.outcome).toBe('refused');
    expect(failures(r.events).join('\n')).toMatch(/mine\.txt exists already and was not written by this stage/);
    expect(fs.readFileSync(mine, 'utf8')).toBe('my own notes\n');
  });

  it('a node whose runtime does not trust the CA fails the proof with the x509 answer, naming the node', async () => {
    const dir = await clusterUp();
    const r = await run(dir, ['registry'], { faults: [`${cluster.nodes[2]!.name}:registry-no-ca`] });
    expect(r.outcome).toBe('failed');
    const errors = failures(r.events).join('\n');
    expect(errors).toMatch(new RegExp(`registry/prove on ${cluster.nodes[2]!.name}: .*SSL certificate problem: unable to get local issuer certificate`));
    expect(errors).not.toMatch(new RegExp(`prove on ${cluster.nodes[1]!.name}`));
  });

  it('fault registry-wrong-port: that node\'s proof fails naming the folder for exactly HOST:PORT', async () => {
    const dir = await clusterUp();
    const node = cluster.nodes[1]!;
    const r = await run(dir, ['registry'], { faults: [`${node.name}:registry-wrong-port`] });
    expect(r.outcome).toBe('failed');
    const errors = failures(r.events).join('\n');
    const hostPort = `${cluster.nodes[0]!.address}:30500`;
    expect(errors).toMatch(new RegExp(`registry/prove on ${node.name}: .*curl: \\(77\\)`));
    expect(errors).toContain(`${node.name} has no CA at /etc/containers/certs.d/${hostPort}/ca.crt`);
    expect(errors).toContain(`name images ${hostPort}/NAME:TAG`);
    expect(errors).not.toMatch(new RegExp(`prove on ${cluster.nodes[2]!.name}`));
  });

  it('fault cluster:registry-no-storage: the registry pod stays Pending; the deploy fails with the scheduler\'s reason and the fix, then runs once cleared', async () => {
    const dir = await clusterUp();
    const r = await run(dir, ['registry'], { faults: ['cluster:registry-no-storage'] });
    expect(r.outcome).toBe('failed');
    const errors = failures(r.events).join('\n');
    expect(errors).toMatch(/registry\/deploy: the registry pod is Pending, no node takes it: 0\/3 nodes are available: 1 node\(s\) had untolerated taint\(s\)/);
    expect(errors).toContain(`${cluster.nodes[0]!.name}'s taints: node.kubernetes.io/disk-pressure:NoSchedule`);
    expect(errors).toMatch(/free space there, or choose another node with --set storage-node=NAME/);
    const cleared = await run(dir, ['registry'], { faults: ['cluster:none'] });
    expect(failures(cleared.events)).toEqual([]);
    expect(cleared.outcome).toBe('done');
  });
});
