// The harness LAN: a bridge in its own network namespace (harness-N-lan), one veth from the machine's own network
// namespace into it (so the test process reaches every node at its address, as a laptop on the LAN), and one veth
// per node. The bridge's own address is the nodes' gateway and nameserver: nothing listens or forwards there, so no
// packet of a node leaves this machine.
import { ip } from './exec.ts';

export interface Lan {
  /** 10.250.N.0/24 */
  n: number;
  cidr: string;
  /** The bridge's address: the nodes' default gateway and nameserver (a dead end the test owns). */
  gateway: string;
  /** The test process's own address on the LAN (the veth in the machine's network namespace). */
  hostAddress: string;
  netns: string;
  /** Address of host number i on the LAN (10.250.N.i). */
  address(i: number): string;
  /** Connects network namespace NETNS (a node's) to the bridge as eth0 with ADDRESS/24. */
  attach(netns: string, port: string, address: string): Promise<void>;
  stop(): Promise<void>;
}

export function lanNames(n: number): { netns: string; hostLink: string } {
  return { netns: `harness-${n}-lan`, hostLink: `hrn-${n}` };
}

export async function startLan(n: number): Promise<Lan> {
  const { netns, hostLink } = lanNames(n);
  const gateway = `10.250.${n}.1`;
  const hostAddress = `10.250.${n}.254`;
  const lan: Lan = {
    n,
    cidr: `10.250.${n}.0/24`,
    gateway,
    hostAddress,
    netns,
    address: (i) => `10.250.${n}.${i}`,
    async attach(node, port, address) {
      await ip('-n', netns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node);
      await ip('-n', netns, 'link', 'set', port, 'master', 'br0', 'up');
      await ip('-n', node, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      await ip('-n', node, 'link', 'set', 'eth0', 'up');
      await ip('-n', node, 'link', 'set', 'lo', 'up');
      // A board has a default route; flannel picks its interface from it. Here it ends at the bridge.
      await ip('-n', node, 'route', 'add', 'default', 'via', gateway);
    },
    async stop() {
      await ip('link', 'del', hostLink).catch(() => {});
      await ip('netns', 'del', netns).catch(() => {});
    },
  };
  try {
    await ip('netns', 'add', netns);
    await ip('-n', netns, 'link', 'set', 'lo', 'up');
    await ip('-n', netns, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', netns, 'addr', 'add', `${gateway}/24`, 'dev', 'br0');
    await ip('-n', netns, 'link', 'set', 'br0', 'up');
    await ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', 'host', 'netns', netns);
    await ip('-n', netns, 'link', 'set', 'host', 'master', 'br0', 'up');
    await ip('addr', 'add', `${hostAddress}/24`, 'dev', hostLink);
    await ip('link', 'set', hostLink, 'up');
    return lan;
  } catch (err) {
    await lan.stop();
    throw err;
  }
}
