// The registry stage on a REAL kubeadm cluster (test/harness/realcluster/: every node a network and mount namespace
// with its own OpenSSH server, containerd and kubelet; `systemctl` and Arch's `update-ca-trust` there are test
// stand-ins), through the BUILT `boardkube apply` over real SSH, after control-plane and workers on the same
// cluster. The registry runs as a pod of the stage's Deployment (registry:3, built here from distribution v3 like
// the harness's other images), an image is pushed to it with the real crane through htpasswd and the cluster CA,
// and a Pod on each worker pulls it through containerd with exactly the certs.d/HOST:PORT/hosts.toml the stage
// wrote (which `plan --json` showed); without that folder the same pull fails with containerd's x509 error. A storage
// node that takes no pod leaves the registry pod Pending: the deploy fails with the scheduler's reason. The
// generated password: in its 0600 file only, not in the progress, the logs or any command boardkube ran.
// Needs root and `npm run testbin` (cold: many minutes).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGES_INSTALLED } from '../../harness/harness-cluster-file.ts';
import { harnessBoardkube, startClusterForBoardkube, type HarnessClusterForBoardkube } from '../../harness/harness-boardkube.ts';
import type { HarnessNode } from '../../harness/realcluster/index.ts';
import { textTable } from '../../../src/util/table.ts';

const NAME = 'bkregistry';
const PORT = 30500;
const CERTS_D = '/etc/containerd/certs.d';

// One harness cluster for the file (expensive: a minute or two to start).
let up: HarnessClusterForBoardkube;
beforeAll(async () => {
  up = await startClusterForBoardkube(NAME, 'bk-registry-cluster-');
}, 900_000);
afterAll(() => up?.stop(), 180_000);

const env = () => ({ ...process.env, KUBECONFIG: up.kubeconfig, BOARDKUBE_STATE_DIR: up.stateDir });
const { boardkube, eventually, expectApplied } = harnessBoardkube({ env, nodes: () => up.nodes });

function kubectl(args: string[], input?: string): string {
  const r = spawnSync(up.cluster.testbin.nodeBinaries.kubectl!, ['--kubeconfig', up.kubeconfig, '--context', NAME, ...args], { encoding: 'utf8', timeout: 60_000, input });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The real crane, trusting only the cluster CA, with its own docker config (the login's). */
function crane(args: string[], caFile: string, input?: string): { code: number; out: string } {
  const r = spawnSync(path.join(up.cluster.testbin.dirs.registry!, 'crane'), args, {
    env: { PATH: process.env.PATH, HOME: up.tmp, DOCKER_CONFIG: path.join(up.tmp, 'docker'), SSL_CERT_FILE: caFile },
    encoding: 'utf8',
    input,
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function pullPod(name: string, worker: string, image: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: worker,
      restartPolicy: 'Never',
      // The pull Secret the stage made in the default namespace; Always: containerd pulls, whatever it has.
      imagePullSecrets: [{ name: 'boardkube-registry' }],
      containers: [{ name: 'pulled', image, imagePullPolicy: 'Always', command: ['sh', '-c', 'echo RAN-FROM-THE-CLUSTER-REGISTRY'] }],
    },
  });
}

type PodJson = { status: { phase: string; containerStatuses?: Array<{ imageID: string; state: { waiting?: { reason: string; message?: string } } }> } };
const pod = (name: string) => JSON.parse(kubectl(['get', 'pod', name, '-o', 'json'])) as PodJson;

/** Every file under the state folder but the password file itself, as text. */
function stateText(except: string): string {
  const out: string[] = [];
  for (const f of fs.readdirSync(up.stateDir, { recursive: true }) as string[]) {
    const p = path.join(up.stateDir, f);
    if (p !== except && fs.statSync(p).isFile()) out.push(fs.readFileSync(p, 'utf8'));
  }
  return out.join('\n');
}

type PlanAction = { stage: string; step: string; node: string | null; type: string; path?: string; content?: string };

describe('the registry stage on a real kubeadm cluster, through boardkube apply over SSH', () => {
  it('runs the registry as a pod; every worker pulls an image pushed to it through containerd and the stage\'s hosts.toml', async () => {
    const [master, ...workers] = up.nodes;
    const hostPort = `${master!.address}:${PORT}`;
    const cp = boardkube(['apply', '-f', up.file, ...PACKAGES_INSTALLED, '--stage', 'control-plane', '--stage', 'workers', '--yes']);
    expectApplied(cp);

    // The plan: the cluster CA at containerd's path for HOST:PORT on every node, the same HOST:PORT as the
    // NodePort Service and the proof; the hosts.toml that points containerd at it.
    const plan = boardkube(['plan', '-f', up.file, '--stage', 'registry', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const actions = (JSON.parse(plan.stdout) as PlanAction[]).filter((a) => a.stage === 'registry');
    const ca = (await master!.ssh('cat /etc/kubernetes/pki/ca.crt')).stdout;
    const caFiles = actions.filter((a) => a.step === 'trust' && a.path === `${CERTS_D}/${hostPort}/ca.crt`);
    expect(caFiles.map((a) => a.node).sort()).toEqual(up.nodes.map((n) => n.name).sort());
    for (const a of caFiles) expect(a.content).toBe(ca);
    const hostsTomls = actions.filter((a) => a.step === 'trust' && a.path === `${CERTS_D}/${hostPort}/hosts.toml`);
    expect(hostsTomls.map((a) => a.node).sort()).toEqual(up.nodes.map((n) => n.name).sort());
    expect(hostsTomls[0]!.content).toContain(`[host."https://${hostPort}"]`);
    expect(actions.find((a) => a.step === 'deploy' && a.type === 'manifest')!.content).toMatch(new RegExp(`nodePort: ${PORT}\\b`));

    // While the storage node takes no pod (a taint of the test's, standing in for the kubelet's disk-pressure), the
    // registry pod stays Pending and the deploy fails with the real scheduler's reason; untainted, the run goes on.
    kubectl(['taint', 'nodes', master!.name, 'boardkube-test/no-room=full:NoSchedule']);
    const pending = boardkube(['apply', '-f', up.file, '--stage', 'registry', '--yes']);
    expect(pending.code, pending.stdout.slice(-3000)).toBe(1);
    expect(pending.stdout).toMatch(/registry\/deploy: the registry pod is Pending, no node takes it: 0\/3 nodes are available: 1 node\(s\) had untolerated taint/);
    expect(pending.stdout).toMatch(/master's taints: [^\n]*boardkube-test\/no-room=full:NoSchedule/);
    expect(pending.stdout).toMatch(/choose another node with --set storage-node=NAME/);
    kubectl(['taint', 'nodes', master!.name, 'boardkube-test/no-room-']);

    const r = boardkube(['apply', '-f', up.file, '--stage', 'registry', '--yes']);
    expectApplied(r);
    // The stage's proof, a table per node in its report: the CA where containerd looks, /v2/ answered over TLS.
    for (const n of up.nodes) {
      expect(r.stdout).toMatch(new RegExp(`\\[registry\\] prove ${n.name}: done`));
      expect(r.stdout).toMatch(new RegExp(`^  +${n.name} +${CERTS_D}/${hostPort.replaceAll('.', '\\.')}/ca\\.crt +401 over TLS`, 'm'));
    }
    expect(r.stdout).toContain(`images are named ${hostPort}/NAME:TAG`);
    // The registry is the Deployment's pod, on the master's disk, running the image the catalogue names.
    const regPods = JSON.parse(kubectl(['-n', 'boardkube-registry', 'get', 'pods', '-l', 'app.kubernetes.io/name=registry', '-o', 'json'])).items as Array<{ spec: { nodeName: string; containers: Array<{ image: string }> }; status: { phase: string } }>;
    expect(regPods.map((p) => [p.spec.nodeName, p.spec.containers[0]!.image, p.status.phase])).toEqual([['master', 'docker.io/library/registry:3', 'Running']]);

    // On every node: exactly the files the plan showed, and the board's own trust (the stand-in's bundle) works.
    for (const n of up.nodes) {
      expect((await n.ssh(`ls ${CERTS_D}/${hostPort}`)).stdout.split('\n').filter(Boolean).sort()).toEqual(['ca.crt', 'hosts.toml']);
      expect((await n.ssh(`cat ${CERTS_D}/${hostPort}/hosts.toml`)).stdout).toBe(hostsTomls.find((a) => a.node === n.name)!.content);
      expect((await n.ssh(`cat ${CERTS_D}/${hostPort}/ca.crt`)).stdout).toBe(ca);
      expect((await n.ssh(`curl -sS --cacert /etc/ca-certificates/extracted/tls-ca-bundle.pem -o /dev/null -w '%{http_code}' https://${hostPort}/v2/`)).stdout).toBe('401');
    }

    // The password: generated into its 0600 file; nowhere else boardkube wrote or said, and in no command it ran
    // over SSH (the run log has every one, `$ ...`: none needed redacting).
    const passwordFile = path.join(up.stateDir, NAME, 'registry.password');
    expect(fs.statSync(passwordFile).mode & 0o777).toBe(0o600);
    const password = fs.readFileSync(passwordFile, 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(24);
    const said = stateText(passwordFile) + r.stdout + r.stderr;
    expect(said).not.toContain(password);
    const runLog = fs.readdirSync(path.join(up.stateDir, 'logs')).map((f) => fs.readFileSync(path.join(up.stateDir, 'logs', f), 'utf8')).join('\n');
    const commands = runLog.split('\n').filter((l) => / \$ /.test(l));
    expect(commands.length).toBeGreaterThan(10);
    expect(commands.filter((l) => l.includes('<redacted>'))).toEqual([]);
    // Nor in a file on a node (the cluster keeps its bcrypt hash and the pull Secret): the files that hold one.
    // The pattern in a 0600 file in the cluster's folder, which every node sees (not on grep's command line).
    const pattern = path.join(up.cluster.dir, 'password.pattern');
    fs.writeFileSync(pattern, `${password}\n`, { mode: 0o600 });
    const holding = async (n: HarnessNode, dirs: string) => (await n.exec(['sh', '-c', `grep -rlF -f '${pattern}' ${dirs} 2>/dev/null; true`])).stdout.trim();
    expect(await holding(up.nodes[0]!, `'${up.cluster.dir}'`)).toBe(pattern); // the search finds what is there
    for (const n of up.nodes) expect(await holding(n, '/etc /var/lib/boardkube /root'), n.name).toBe('');

    // Push with the real crane: the cluster CA and the password (on stdin), from this computer to HOST:PORT.
    const caFile = path.join(up.tmp, 'cluster-ca.crt');
    fs.writeFileSync(caFile, ca);
    const login = crane(['auth', 'login', hostPort, '-u', 'boardkube', '--password-stdin'], caFile, password);
    expect(login.code, login.out).toBe(0);
    const busybox = up.cluster.images.find((i) => i.ref === up.cluster.testImage)!.tar;
    const image = `${hostPort}/boardkube-test/busybox:proof`;
    const push = crane(['push', busybox, image], caFile);
    expect(push.code, push.out).toBe(0);
    const digest = crane(['digest', image], caFile).out.trim();
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    // Without its certs.d folder, worker1's containerd refuses the registry with the x509 error: the trust comes
    // from the stage's hosts.toml alone (Debian's system trust has no cluster CA).
    const w1 = workers[0]!;
    await w1.ssh(`mv ${CERTS_D}/${hostPort} ${CERTS_D}.away`);
    try {
      kubectl(['apply', '-f', '-'], pullPod('untrusted-worker1', w1.name, image));
      const refused = await eventually('containerd on worker1 to refuse the registry', 180_000, () => {
        const w = pod('untrusted-worker1').status.containerStatuses?.[0]?.state.waiting;
        return w?.message && /ErrImagePull|ImagePullBackOff/.test(w.reason) ? w.message : undefined;
      });
      expect(refused).toMatch(/x509: certificate signed by unknown authority/);
      kubectl(['delete', 'pod', 'untrusted-worker1', '--wait=true']);
    } finally {
      await w1.ssh(`mv ${CERTS_D}.away ${CERTS_D}/${hostPort}`);
    }

    // With it: a Pod on every worker pulls the pushed image through containerd and runs it.
    for (const w of workers) kubectl(['apply', '-f', '-'], pullPod(`pull-${w.name}`, w.name, image));
    const rows: string[][] = [];
    for (const w of workers) {
      const done = await eventually(`the pod on ${w.name} to pull and run ${image}`, 180_000, () => {
        const p = pod(`pull-${w.name}`);
        return p.status.phase === 'Succeeded' || p.status.phase === 'Failed' ? p : undefined;
      });
      expect(done.status.phase).toBe('Succeeded');
      expect(kubectl(['logs', `pull-${w.name}`])).toContain('RAN-FROM-THE-CLUSTER-REGISTRY');
      const imageId = done.status.containerStatuses![0]!.imageID;
      expect(imageId).toBe(`${hostPort}/boardkube-test/busybox@${digest}`);
      // containerd has it under the registry's name, pulled (not imported).
      expect((await w.ssh(`crictl --runtime-endpoint unix:///run/containerd/containerd.sock images --digests | grep '${hostPort}/boardkube-test/busybox'`)).stdout).toContain('proof');
      rows.push([w.name, `${CERTS_D}/${hostPort}/hosts.toml`, digest.slice(0, 19), done.status.phase]);
    }
    console.log(textTable(['node', 'containerd trust (as planned)', 'pulled digest', 'pod'], rows).join('\n'));
    expect(rows.map((row) => row[0])).toEqual(workers.map((w) => w.name));

    // Run again: every step verified, nothing run again; the password file kept.
    const again = boardkube(['apply', '-f', up.file, '--stage', 'registry', '--yes']);
    expectApplied(again);
    const ends = again.stdout.split('\n').filter((l) => /^\[registry\] \S+( \S+)?: (done|failed|skipped)/.test(l));
    expect(ends.length).toBe(4 + 2 * up.nodes.length);
    for (const l of ends) expect(l).toMatch(/done \(verified, not run again\)/);
    expect(fs.readFileSync(passwordFile, 'utf8').trim()).toBe(password);
  }, 2_400_000);
});
