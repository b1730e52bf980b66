// What real-cluster harnesses share on this one machine, across test processes: a /24 each (claimed by a file
// naming the claiming process, so a crashed run's leftovers are cleaned by the next claimer), the kernel's global
// sysctls the kubelet rewrites (saved by the first cluster up, restored by the last one down).
import * as fs from 'node:fs';
import * as path from 'node:path';

const STATE = '/run/harness-realcluster';
const LOCK = path.join(STATE, 'lock');
const HOLDERS = path.join(STATE, 'holders');
const SUBNETS = path.join(STATE, 'subnets');
const SYSCTL_ORIG = path.join(STATE, 'sysctl.json');

/** Global (not per network namespace) sysctls that the kubelet or kube-proxy set on start. */
export const GLOBAL_SYSCTLS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'net.netfilter.nf_conntrack_max',
];

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs fn while holding the machine-wide lock (a folder naming its owner; a dead owner's lock is broken). */
export async function withMachineLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(STATE, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readOr(path.join(LOCK, 'pid'), 'NaN'));
      if (Number.isInteger(owner) && !alive(owner)) fs.rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`${LOCK} is held by process ${owner}`);
      else await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

export interface SubnetClaim {
  /** The third octet: the cluster's LAN is 10.250.N.0/24. */
  n: number;
  pid: number;
  /** The cluster's temp folder (node roots, keys, logs). */
  dir: string;
}

/**
 * Claims a free 10.250.N.0/24. Every claim whose process is gone is handed to `cleanup` first (its netns, links,
 * cgroups, processes and folder may still exist after a crash) and dropped.
 */
export async function claimSubnet(dir: string, cleanup: (stale: SubnetClaim) => Promise<void>): Promise<number> {
  return withMachineLock(async () => {
    fs.mkdirSync(SUBNETS, { recursive: true });
    for (const f of fs.readdirSync(SUBNETS)) {
      const claim = readClaim(path.join(SUBNETS, f));
      if (claim && alive(claim.pid)) continue;
      if (claim) await cleanup(claim);
      fs.rmSync(path.join(SUBNETS, f), { force: true });
    }
    const start = process.pid % 200;
    for (let i = 0; i < 200; i++) {
      const n = 1 + ((start + i) % 200);
      const file = path.join(SUBNETS, String(n));
      if (fs.existsSync(file)) continue;
      fs.writeFileSync(file, JSON.stringify({ n, pid: process.pid, dir } satisfies SubnetClaim));
      return n;
    }
    throw new Error(`no free 10.250.N.0/24 for a real-cluster harness: see ${SUBNETS}`);
  });
}

export async function releaseSubnet(n: number): Promise<void> {
  await withMachineLock(async () => {
    const file = path.join(SUBNETS, String(n));
    if (readClaim(file)?.pid === process.pid) fs.rmSync(file, { force: true });
  });
}

function readClaim(file: string): SubnetClaim | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SubnetClaim;
  } catch {
    return undefined;
  }
}

function readSysctl(key: string): string | undefined {
  const file = `/proc/sys/${key.replaceAll('.', '/')}`;
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
}

/**
 * Registers this cluster as a user of the machine. The first user saves the global sysctls; `release` by the last
 * user restores them.
 */
export async function holdMachine(id: string): Promise<{ release: () => Promise<void> }> {
  const me = path.join(HOLDERS, id);
  await withMachineLock(async () => {
    fs.mkdirSync(HOLDERS, { recursive: true });
    if (liveHolders().length === 0 && !fs.existsSync(SYSCTL_ORIG)) {
      const saved: Record<string, string> = {};
      for (const key of GLOBAL_SYSCTLS) {
        const v = readSysctl(key);
        if (v !== undefined) saved[key] = v;
      }
      fs.writeFileSync(SYSCTL_ORIG, JSON.stringify(saved));
    }
    fs.writeFileSync(me, String(process.pid));
  });
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      await withMachineLock(async () => {
        fs.rmSync(me, { force: true });
        if (liveHolders().length > 0) return;
        restoreSysctls();
      });
    },
  };
}

function restoreSysctls(): void {
  const saved: Record<string, string> = JSON.parse(readOr(SYSCTL_ORIG, '{}'));
  for (const [key, value] of Object.entries(saved)) {
    if (readSysctl(key) === value) continue;
    try {
      fs.writeFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, value);
    } catch {
      // read-only here (e.g. nf_conntrack_max outside the first network namespace): nothing was changed then
    }
  }
  fs.rmSync(SYSCTL_ORIG, { force: true });
}

/** Holder files of live processes; those of dead processes are dropped. */
function liveHolders(): string[] {
  return fs.readdirSync(HOLDERS).filter((f) => {
    const pid = Number(readOr(path.join(HOLDERS, f), 'NaN'));
    if (Number.isInteger(pid) && alive(pid)) return true;
    fs.rmSync(path.join(HOLDERS, f), { force: true });
    return false;
  });
}
