// Chooses the adapters behind the ports: real boards over SSH, this computer through execa, a cluster through
// its kubeconfig; or the practice lab's simulations. Flows never see which.
import { findBoard } from '../boards/index.ts';
import type { ClusterSpec } from '../cluster/spec.ts';
import { pinnedHostKeys } from '../engine/hostkeys.ts';
import type { RunLog } from '../engine/runlog.ts';
import type { StateStore } from '../engine/state.ts';
import type { Ports, Secrets } from '../engine/types.ts';
import { LocalMachine } from '../adapters/local/local.ts';
import { RealDisks } from '../adapters/disks/index.ts';
import { loadCluster } from '../adapters/kube/cluster.ts';
import { SshHost } from '../adapters/ssh/host.ts';
import { expandHome } from '../util/paths.ts';
import { ClusterError, type ClusterPort } from '../ports/cluster.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LabCards } from '../lab/cards.ts';
import { applyLabFaults, labControls, parseLabCards, parseLabFaults, type LabControls } from '../lab/faults.ts';
import { LabCluster } from '../lab/cluster.ts';
import { STICKY_CLUSTER_FAULTS, type AdmissionFault } from '../lab/cluster/admission.ts';
import { LabHost } from '../lab/host.ts';
// The lab's command simulators register themselves on import.
import '../lab/index.ts';
import { LabWorld } from '../lab/world.ts';
import { LabWorkbench } from '../lab/workbench.ts';
import { LocalWorkbench } from '../adapters/local/workbench.ts';
import { RealCi } from '../adapters/ci/index.ts';
import { LabCi } from '../lab/ci.ts';
import type { CiPort } from '../ports/ci.ts';
import type { Host, HostKeyInfo } from '../ports/host.ts';
import type { Local } from '../ports/local.ts';

export interface PortsOptions {
  cluster: ClusterSpec;
  store: StateStore;
  secrets: Secrets;
  lab: boolean;
  kubeconfig?: string;
  stateDir: string;
  labFaults?: string[];
  /** Lab card controls: "insert:DEV" puts an ejected card back. */
  labCards?: string[];
  onHostKeyPinned?: (node: string, key: HostKeyInfo) => void;
  log?: RunLog;
}

/** Ports, and in the practice lab the trainer's controls. */
export function makePorts(o: PortsOptions): Ports & { lab?: LabControls } {
  return o.lab ? labPorts(o) : realPorts(o);
}

function cachedHosts(make: (node: ClusterSpec['nodes'][number]) => Host) {
  const hosts = new Map<string, Host>();
  return {
    get(node: ClusterSpec['nodes'][number]): Host {
      let h = hosts.get(node.name);
      if (!h) hosts.set(node.name, (h = make(node)));
      return h;
    },
    async closeAll() {
      await Promise.allSettled([...hosts.values()].map((h) => h.close()));
    },
  };
}

/** This computer as the practice lab sees it: every tool present, nothing run for real, a kubeconfig of its own. */
function labLocal(stateDir: string, cluster: string): Local {
  return {
    async tool(name) {
      return { name, path: `/usr/bin/${name}`, version: 'practice lab' };
    },
    async run(file) {
      return { code: 127, stdout: '', stderr: `practice lab: ${file} is not run on this computer` };
    },
    isRoot: () => true,
    kubeconfigPath: () => join(stateDir, `${cluster}.lab-kubeconfig`),
    stateDir: () => stateDir,
  };
}

function labPorts(o: PortsOptions): Ports & { lab: LabControls } {
  const board = findBoard(o.cluster.board)!;
  const world = LabWorld.open(o.cluster, board, o.store);
  const cards = new LabCards({ world, readers: o.cluster.nodes.length });
  const names = { nodes: o.cluster.nodes.map((n) => n.name), devices: cards.devices() };
  // Checked by name before any is applied: an unknown board or fault is bad input, and nothing is switched.
  const faults = parseLabFaults(o.labFaults ?? [], names);
  const inserts = parseLabCards(o.labCards ?? [], names);
  // The lab's downloads and builds leave small real files in a folder of their own beside the progress.
  const workbench = new LabWorkbench(join(o.stateDir, 'lab-packages', o.cluster.name), new LocalMachine(), () => world.speed);
  applyLabFaults(world, cards, faults, workbench);
  for (const device of inserts) cards.insert(device);
  const clusterFaults = faults.flatMap((f) => (f.kind === 'cluster' ? [f.fault] : []));
  const keys = pinnedHostKeys(o.store, o.onHostKeyPinned);
  const hosts = cachedHosts((node) => new LabHost(world.board(node.name), world, keys, o.cluster.ssh.user));
  let labCluster: LabCluster | undefined;
  let labCi: LabCi | undefined;
  // The lab's forge and CI watch the cluster from its opening (what the admin Job does, they remember).
  const openCluster = async () => {
    if (!labCluster) {
      labCluster = openLabCluster(world, o.cluster, clusterFaults);
      labCi = new LabCi(world, labCluster, o.cluster.nodes.map((n) => n.address));
    }
    return labCluster;
  };
  return {
    mode: 'lab',
    lab: labControls(world, cards, names.nodes),
    host: (node) => hosts.get(node),
    local: labLocal(o.stateDir, o.cluster.name),
    disks: cards,
    workbench,
    cluster: openCluster,
    async ci(): Promise<CiPort> {
      await openCluster();
      return labCi!;
    },
    async close() {
      await hosts.closeAll();
      world.persist();
    },
  };
}

/** The lab's cluster: what the control-plane stage would have built, saved with the lab's progress. */
function openLabCluster(world: LabWorld, cluster: ClusterSpec, faults: string[]): LabCluster {
  const saved = world.part('cluster');
  const master = cluster.nodes.find((n) => n.role === 'control-plane');
  const lab = saved
    ? LabCluster.restore(saved)
    : LabCluster.create({ server: `https://${master?.address ?? '192.168.1.40'}:6443`, clusterName: cluster.name, nodes: cluster.nodes.map((n) => ({ name: n.name, role: n.role })) });
  // Boards that kubeadm joined (the lab's kubeadm simulator marks them) register their Node, as a kubelet does.
  const registerJoined = () => {
    for (const b of world.boards()) if (b.facts.kubeadm === 'master' || b.facts.kubeadm === 'worker') lab.registerNode({ name: b.node, role: b.facts.kubeadm === 'master' ? 'control-plane' : 'worker' });
  };
  world.attach('cluster', () => (registerJoined(), lab.snapshot()));
  // webhook-crashloop and registry-no-storage stay on until cluster:none; webhook-cert-expired happens once, when asked for.
  const isSticky = (f: string): f is AdmissionFault => (STICKY_CLUSTER_FAULTS as readonly string[]).includes(f);
  const sticky = new Set(((world.part('cluster-faults') as string[] | undefined) ?? []).filter(isSticky));
  for (const f of faults) {
    if (f === 'none') sticky.clear();
    else if (isSticky(f)) sticky.add(f);
    else if (f === 'webhook-cert-expired') lab.expireWebhookCertificates();
  }
  for (const f of sticky) lab.setFault(f, true);
  world.attach('cluster-faults', () => [...sticky]);
  world.persist();
  return lab;
}

/** Where the control-plane stage keeps the admin kubeconfig it fetched from the master. */
export function adminKubeconfigPath(stateDir: string, cluster: string): string {
  return join(stateDir, cluster, 'admin.conf');
}

function realPorts(o: PortsOptions): Ports {
  const keys = pinnedHostKeys(o.store, o.onHostKeyPinned);
  const sudoPassword = () => o.secrets.get('sudo-password');
  const hosts = cachedHosts(
    (node) =>
      new SshHost({
        node: node.name,
        address: node.address,
        port: o.cluster.ssh.port,
        user: o.cluster.ssh.user,
        privateKeyPath: expandHome(o.cluster.ssh.keyPath),
        hostKeys: keys,
        sudoPassword,
        log: (line) => o.log?.write(`ssh@${node.name}`, line),
      }),
  );
  let cluster: ClusterPort | undefined;
  const local = new LocalMachine({ stateDir: o.stateDir, sudoPassword, log: (line) => o.log?.write('local', line) });
  return {
    mode: 'real',
    host: (node) => hosts.get(node),
    local,
    disks: new RealDisks(),
    workbench: new LocalWorkbench(join(o.stateDir, 'packages', o.cluster.name), local),
    ci: async () => new RealCi(),
    async cluster() {
      if (cluster) return cluster;
      const path = o.kubeconfig ?? adminKubeconfigPath(o.stateDir, o.cluster.name);
      if (!existsSync(path)) {
        if (o.kubeconfig) throw new ClusterError('config', `the kubeconfig ${path} does not exist`, 'check the path given with --kubeconfig (on a kubeadm master it is /etc/kubernetes/admin.conf)');
        throw new ClusterError('config', `there is no cluster to talk to yet (${path} does not exist)`, 'finish the control-plane stage, or name an existing cluster with --kubeconfig PATH');
      }
      return (cluster = loadCluster(path));
    },
    async close() {
      await hosts.closeAll();
      await cluster?.close?.();
    },
  };
}
