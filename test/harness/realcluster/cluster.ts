// A harness cluster: the LAN, its nodes, the one client key they all authorize, and the machine-wide bookkeeping
// (subnet claim, global sysctls, mount points). See index.ts for the API.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cgroupRootsStartingWith, pidsInCgroupRoot, removeCgroupRootWhenEmpty } from './cgroups.ts';
import { ip, killAndWait, nsOf, pidsInNamespace, run } from './exec.ts';
import { lanNames, startLan, type Lan } from './lan.ts';
import { claimSubnet, holdMachine, releaseSubnet, type SubnetClaim } from './machine.ts';
import { startNode, type HarnessNode, type NodeOptions } from './node.ts';
import { clusterTestbin, type ClusterImage, type ClusterTestbin } from './testbin.ts';

export interface RealCluster {
  lan: Lan;
  /** The cluster's temp folder on this machine (nodes/NAME/..., the client key, known_hosts). */
  dir: string;
  /** Private client key (ed25519, no passphrase) every node authorizes for root; `${clientKeyPath}.pub` exists. */
  clientKeyPath: string;
  /** An OpenSSH known_hosts file with every started node's host key at its address. */
  knownHostsPath: string;
  nodes: HarnessNode[];
  /** Every image each node has imported (ref + tar). */
  images: ClusterImage[];
  /** A busybox image every node has, for test pods (imagePullPolicy: Never or IfNotPresent). */
  testImage: string;
  testbin: ClusterTestbin;
  /** Starts a node on the LAN (name, and an address from lan.address(i); default: the next from .10). */
  startNode(opts: NodeOptions): Promise<HarnessNode>;
  /** Stops every node, the LAN and restores what the nodes changed on this machine. Safe twice. */
  stop(): Promise<void>;
}

// On disk (image stores are large), and not under /tmp, which every node has of its own.
const CLUSTERS_DIR = '/var/tmp';
const DIR_PREFIX = path.join(CLUSTERS_DIR, 'harness-realcluster-');

const NAME = /^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/;

export async function startRealCluster(): Promise<RealCluster> {
  if (process.getuid?.() !== 0) throw new Error('the real-cluster harness needs root (namespaces, mounts, cgroups)');
  const testbin = await clusterTestbin();
  const dir = fs.mkdtempSync(DIR_PREFIX);
  fs.chmodSync(dir, 0o755);
  const n = await claimSubnet(dir, cleanupStale);
  const machine = await holdMachine(`${process.pid}-${n}`);
  let lan: Lan | undefined;
  const nodes: HarnessNode[] = [];
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((nd) => nd.stop()));
    await lan?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    await releaseSubnet(n);
    await machine.release();
  };

  try {
    lan = await startLan(n);
    const clientKeyPath = path.join(dir, 'client_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'harness-realcluster-client', '-f', clientKeyPath]);
    const knownHostsPath = path.join(dir, 'known_hosts');
    fs.writeFileSync(knownHostsPath, '');
    const sandboxImage = testbin.images.find((i) => i.ref.startsWith('registry.k8s.io/pause:'))?.ref;
    const testImage = testbin.images.find((i) => i.ref.startsWith('registry.boardkube.test/busybox:'))?.ref;
    if (!sandboxImage || !testImage) throw new Error(`the testbin images lack pause or busybox: ${testbin.images.map((i) => i.ref).join(', ')}`);
    let portCounter = 0;
    const theLan = lan;
    // Names and addresses are taken before the first await, so nodes started in parallel never share one.
    const taken = { names: new Set<string>(), addresses: new Set<string>([lan.gateway, lan.hostAddress]) };

    const cluster: RealCluster = {
      lan,
      dir,
      clientKeyPath,
      knownHostsPath,
      nodes,
      images: testbin.images,
      testImage,
      testbin,
      async startNode(opts) {
        if (!NAME.test(opts.name)) throw new Error(`node name "${opts.name}": use 1-20 of a-z, 0-9 and "-"`);
        if (taken.names.has(opts.name)) throw new Error(`a node named ${opts.name} exists already`);
        const address = opts.address ?? nextAddress(theLan, taken.addresses);
        if (!address.startsWith(`10.250.${n}.`) || taken.addresses.has(address)) {
          throw new Error(`node address ${address} is not free on the harness LAN ${theLan.cidr}`);
        }
        taken.names.add(opts.name);
        taken.addresses.add(address);
        const node = await startNode(
          { lan: theLan, testbin, dir, clientKeyPath, knownHostsPath, lanPort: `p${portCounter++}`, sandboxImage },
          { ...opts, address },
        ).catch((err: unknown) => {
          taken.names.delete(opts.name);
          taken.addresses.delete(address);
          throw err;
        });
        nodes.push(node);
        writeHostsFiles(nodes);
        return node;
      },
      stop,
    };
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}

function nextAddress(lan: Lan, taken: Set<string>): string {
  for (let i = 10; i < 250; i++) {
    const a = lan.address(i);
    if (!taken.has(a)) return a;
  }
  throw new Error('no free address on the harness LAN');
}

/** Every node knows every other by name, as the configure stage writes /etc/hosts on the boards. */
function writeHostsFiles(nodes: HarnessNode[]): void {
  const lines = ['127.0.0.1 localhost', '::1 localhost', ...nodes.map((nd) => `${nd.address} ${nd.name}`), ''].join('\n');
  // In place (same inode): the file is bind-mounted in the node.
  for (const nd of nodes) fs.writeFileSync(path.join(nd.dir, 'root/etc/hosts'), lines);
}

/** What a crashed run with this subnet may have left: its processes, cgroups, namespaces, host link and folder. */
async function cleanupStale(claim: SubnetClaim): Promise<void> {
  const prefix = `harness-${claim.n}-`;
  const netnsList = (await ip('netns', 'list').catch(() => ({ stdout: '' }))).stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((l) => l.startsWith(prefix));
  const victims: number[] = [];
  const ownNet = nsOf(process.pid, 'net');
  for (const ns of netnsList) {
    try {
      const id = `net:[${fs.statSync(`/run/netns/${ns}`).ino}]`;
      if (id !== ownNet) victims.push(...pidsInNamespace('net', id));
    } catch {
      // gone meanwhile
    }
  }
  const cgroups = cgroupRootsStartingWith(prefix);
  for (const cg of cgroups) victims.push(...pidsInCgroupRoot(cg));
  await killAndWait(victims);
  for (const cg of cgroups) await removeCgroupRootWhenEmpty(cg, killAndWait);
  for (const ns of netnsList) await ip('netns', 'del', ns).catch(() => {});
  await ip('link', 'del', lanNames(claim.n).hostLink).catch(() => {});
  if (claim.dir.startsWith(DIR_PREFIX)) fs.rmSync(claim.dir, { recursive: true, force: true });
}
