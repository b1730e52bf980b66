// Chooses the adapters behind the ports: real boards over SSH, this computer through execa, a cluster through
// its kubeconfig; or the practice lab's simulations. Flows never see which.
import { findBoard } from '../boards/index.ts';
import type { ClusterSpec } from '../cluster/spec.ts';
import { pinnedHostKeys } from '../engine/hostkeys.ts';
import type { RunLog } from '../engine/runlog.ts';
import type { StateStore } from '../engine/state.ts';
import type { Ports, Secrets } from '../engine/types.ts';
import { LabHost } from '../lab/host.ts';
import { LabWorld } from '../lab/world.ts';
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
  onHostKeyPinned?: (node: string, key: HostKeyInfo) => void;
  log?: RunLog;
}

export function makePorts(o: PortsOptions): Ports {
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

/** This computer as the practice lab sees it: every tool present, nothing run for real. */
const labLocal: Local = {
  async tool(name) {
    return { name, path: `/usr/bin/${name}`, version: 'practice lab' };
  },
  async run(file) {
    return { code: 127, stdout: '', stderr: `practice lab: ${file} is not run on this computer` };
  },
  isRoot: () => true,
};

function labPorts(o: PortsOptions): Ports {
  const board = findBoard(o.cluster.board)!;
  const world = LabWorld.open(o.cluster, board, o.store);
  for (const spec of o.labFaults ?? []) {
    const [node = '', fault = ''] = spec.split(':');
    if (fault === 'none') world.clearFaults(node);
    else world.setFault(node, fault, true);
  }
  const keys = pinnedHostKeys(o.store, o.onHostKeyPinned);
  const hosts = cachedHosts((node) => new LabHost(world.board(node.name), world, keys, o.cluster.ssh.user));
  return {
    mode: 'lab',
    host: (node) => hosts.get(node),
    local: labLocal,
    disks: { list: async () => [] } as unknown as Ports['disks'],
    async cluster() {
      throw new Error('the practice lab has no cluster yet: the control-plane stage is not available yet');
    },
    async close() {
      await hosts.closeAll();
      world.persist();
    },
  };
}

function realPorts(o: PortsOptions): Ports {
  void o;
  throw new Error('real boards are being wired');
}
