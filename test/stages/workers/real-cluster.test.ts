// The control-plane and workers stages on a REAL kubeadm cluster (test/harness/realcluster/: every node a network and
// mount namespace with its own OpenSSH server, containerd and kubelet; `systemctl` there is a test stand-in), through
// the BUILT `boardkube apply` over real SSH: a master and two workers Ready, CoreDNS running, a pod on each worker
// reaching a Service by its DNS name, the user's kubeconfig with the new context (and the user's own context kept)
// and kubectl working with it; the run's join token (read back from the master: a known value) in no state file or
// log. Then `reset --boards`: no kube links, KUBE-/FLANNEL chains, CNI files or /etc/kubernetes left (the user's own
// chain stays); `apply` again: Ready again, with boardkube killed (-9) during the workers stage and resumed, no
// worker joined twice. The harness's differences from an Arch board go through the cluster file's kubeadm
// settings (ignorePreflightErrors, a patches folder per node), as a user's would.
// Needs root and `npm run testbin` (cold: many minutes).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGES_INSTALLED } from '../../harness/harness-cluster-file.ts';
import { harnessBoardkube, startClusterForBoardkube, type HarnessClusterForBoardkube } from '../../harness/harness-boardkube.ts';
import type { HarnessNode, RealCluster } from '../../harness/realcluster/index.ts';

const NAME = 'bkreal';

let cluster: RealCluster | undefined;
let nodes: HarnessNode[] = [];
let up: HarnessClusterForBoardkube | undefined;
let file: string;
let stateDir: string;
let kubeconfig: string;
let kubectlBin: string;

beforeAll(async () => {
  up = await startClusterForBoardkube(NAME, 'bk-real-cluster-');
  ({ cluster, nodes, file, stateDir, kubeconfig } = up);
  // The user's own kubeconfig, with a context of another cluster that must stay as it is.
  fs.writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters:\n- name: work\n  cluster:\n    server: https://work.example:6443\nusers:\n- name: me\n  user:\n    token: not-a-real-token\ncontexts:\n- name: work\n  context:\n    cluster: work\n    user: me\ncurrent-context: work\n', { mode: 0o600 });
  kubectlBin = cluster.testbin.nodeBinaries.kubectl!;
}, 900_000);

afterAll(async () => {
  await up?.stop();
}, 180_000);

const env = () => ({ ...process.env, KUBECONFIG: kubeconfig, BOARDKUBE_STATE_DIR: stateDir });
const { bin: BIN, boardkube, logs, eventually, expectApplied } = harnessBoardkube({ env, nodes: () => nodes });

function kubectl(...args: string[]): string {
  const r = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, '--context', NAME, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

type NodeJson = { metadata: { name: string; labels: Record<string, string> }; status: { conditions: Array<{ type: string; status: string }> } };
const readyNodes = () => (JSON.parse(kubectl('get', 'nodes', '-o', 'json')).items as NodeJson[]).filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));

function probePod(worker: string, image: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `reach-${worker}`, namespace: 'default' },
    spec: {
      nodeName: worker,
      restartPolicy: 'Never',
      containers: [{ name: 'probe', image, imagePullPolicy: 'Never', command: ['sh', '-c', 'nslookup kubernetes.default.svc.cluster.local && echo | nc -w 5 kubernetes.default.svc.cluster.local 443 && echo REACHED'] }],
    },
  });
}

/** Every file under the state folder (progress, logs, the admin kubeconfig), as text. */
function stateText(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(stateDir);
  return out.join('\n');
}

describe('control-plane and workers on a real kubeadm cluster, through boardkube apply over SSH', () => {
  it('builds the cluster: three nodes Ready, CoreDNS, pods on both workers reach a Service by name; kubeconfig merged; no token left', async () => {
    const plan = boardkube(['plan', '-f', file, '--stage', 'control-plane', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const r = boardkube(['apply', '-f', file, ...PACKAGES_INSTALLED, '--stage', 'control-plane', '--stage', 'workers', '--yes']);
    expectApplied(r);
    expect(r.stdout).toMatch(/\[control-plane\] ready master: done/);

    const ready = readyNodes();
    expect(ready.map((n) => n.metadata.name).sort()).toEqual(['master', 'worker1', 'worker2']);
    for (const w of ready.filter((n) => n.metadata.name !== 'master')) expect(w.metadata.labels).toHaveProperty('node-role.kubernetes.io/worker');
    const dns = JSON.parse(kubectl('get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns', '-o', 'json')).items as Array<{ status: { phase: string } }>;
    expect(dns.some((p) => p.status.phase === 'Running')).toBe(true);

    for (const w of ['worker1', 'worker2']) {
      spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, '--context', NAME, 'apply', '-f', '-'], { input: probePod(w, cluster!.testImage), encoding: 'utf8' });
    }
    for (const w of ['worker1', 'worker2']) {
      const out = await eventually(`the pod on ${w} to reach kubernetes.default by name`, 180_000, () => {
        const phase = kubectl('get', 'pod', `reach-${w}`, '-o', 'jsonpath={.status.phase}').trim();
        return phase === 'Succeeded' || phase === 'Failed' ? `${phase}\n${kubectl('logs', `reach-${w}`)}` : undefined;
      });
      expect(out).toMatch(/^Succeeded/);
      expect(out).toContain('REACHED');
    }

    // The user's kubeconfig: the new context beside the old one, which stays current; a copy of the old file kept.
    const text = fs.readFileSync(kubeconfig, 'utf8');
    expect(text).toContain('current-context: work');
    expect(text).toContain('server: https://work.example:6443');
    expect(fs.readdirSync(path.dirname(kubeconfig)).some((f) => f.startsWith('config.boardkube-'))).toBe(true);
    expect(fs.statSync(path.join(stateDir, NAME, 'admin.conf')).mode & 0o777).toBe(0o600);

    // The join token of the run, as the master lists it: in no file boardkube wrote, and gone from the workers.
    const listed = (await nodes[0]!.ssh('kubeadm token list')).stdout.split('\n').slice(1).filter(Boolean);
    const ours = listed.filter((l) => l.includes('boardkube')).map((l) => l.split(/\s+/)[0]!);
    expect(ours.length).toBeGreaterThan(0);
    const all = stateText() + r.stdout + r.stderr;
    for (const t of listed.map((l) => l.split(/\s+/)[0]!)) {
      expect(t).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
      expect(all).not.toContain(t);
    }
    for (const w of nodes.slice(1)) expect((await w.ssh('ls /var/lib/boardkube/kubeadm/')).stdout).not.toContain('join.yaml');

    // Run again on the initialised cluster: every step verified, nothing run again (the API server keeps its start time).
    const started = (await nodes[0]!.ssh('stat -c %Y /etc/kubernetes/manifests/kube-apiserver.yaml')).stdout;
    const again = boardkube(['apply', '-f', file, '--stage', 'control-plane', '--stage', 'workers', '--yes']);
    expectApplied(again);
    const ends = again.stdout.split('\n').filter((l) => /^\[(control-plane|workers)\] \S+ \S+: (done|failed|skipped)/.test(l));
    expect(ends.length).toBe(7 + 2);
    for (const l of ends) expect(l).toMatch(/done \(verified, not run again\)/);
    expect((await nodes[0]!.ssh('stat -c %Y /etc/kubernetes/manifests/kube-apiserver.yaml')).stdout).toBe(started);
  }, 1_800_000);

  it('reset --boards leaves no kube links, KUBE-/FLANNEL chains, CNI files or /etc/kubernetes (the user\'s chain stays)', async () => {
    await nodes[1]!.ssh('iptables -N USER-OWN && iptables -A FORWARD -s 10.99.0.0/16 -j USER-OWN');
    const r = boardkube(['reset', '-f', file, '--boards', '--yes']);
    if (r.code !== 0) throw new Error(`reset exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    for (const n of nodes) {
      const links = (await n.ssh('ip -o link show')).stdout;
      expect(links).not.toMatch(/\b(cni0|flannel\.1|kube-ipvs0)\b/);
      const chains = (await n.ssh('iptables-save; ip6tables-save')).stdout;
      expect(chains).not.toMatch(/^:(KUBE-|FLANNEL)/m);
      expect(chains).not.toMatch(/-j (KUBE-|FLANNEL)/);
      // containerd makes an empty /etc/cni/net.d again when it restarts: no file may be in it.
      expect((await n.ssh('ls -A /etc/cni/net.d; ls -d /var/lib/cni /etc/kubernetes 2>&1; true')).stdout.trim().split('\n')).toEqual([
        "ls: cannot access '/var/lib/cni': No such file or directory",
        "ls: cannot access '/etc/kubernetes': No such file or directory",
      ]);
      expect((await n.ssh('systemctl is-active containerd')).stdout.trim()).toBe('active');
    }
    expect((await nodes[1]!.ssh('iptables-save')).stdout).toMatch(/-A FORWARD -s 10\.99\.0\.0\/16 -j USER-OWN/);
    const kc = fs.readFileSync(kubeconfig, 'utf8');
    expect(kc).not.toContain(NAME);
    expect(kc).toContain('current-context: work');
    const status = JSON.parse(boardkube(['status', '-f', file, '--json']).stdout) as { stages: Array<{ stage: string; status: string }> };
    expect(status.stages.find((s) => s.stage === 'control-plane')?.status).toBe('not-started');
    expect(status.stages.find((s) => s.stage === 'workers')?.status).toBe('not-started');
  }, 600_000);

  it('apply again: Ready again, with boardkube killed (-9) during the workers stage and resumed; no worker joined twice', async () => {
    const cp = boardkube(['apply', '-f', file, '--stage', 'control-plane', '--yes']);
    expectApplied(cp);
    const child = spawn(process.execPath, [BIN, 'apply', '-f', file, '--stage', 'workers', '--yes'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    // Killed once a worker's join has started (a join takes a few seconds, its wait for Ready longer).
    await eventually('the workers stage to start joining', 300_000, () => (/\[workers\] join worker\d: Join the worker/.test(out) ? true : undefined));
    await new Promise((r) => setTimeout(r, 6000));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const resumed = boardkube(['apply', '-f', file, '--stage', 'workers', '--yes']);
    expectApplied(resumed);
    expect(readyNodes().map((n) => n.metadata.name).sort()).toEqual(['master', 'worker1', 'worker2']);
    // Each worker's kubelet was set up by one join: a join on a joined board would have failed preflight, and the
    // resumed run says so for the worker that had joined before the kill.
    const joinedIn = (text: string, w: string) => text.split('\n').filter((l) => l.startsWith(`[workers] join ${w}|`) && l.includes('This node has joined the cluster')).length;
    for (const w of ['worker1', 'worker2']) {
      expect(joinedIn(out, w) + joinedIn(resumed.stdout, w), `${w}\n${out}\n${resumed.stdout}`).toBeLessThanOrEqual(1);
      // A worker that had joined before the kill is verified on resume, not joined again.
      if (joinedIn(resumed.stdout, w) === 0) expect(resumed.stdout).toMatch(new RegExp(`${w} has joined already: not joined again|join ${w}: done \\(verified, not run again\\)`));
    }
  }, 1_800_000);
});
