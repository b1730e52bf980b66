// A node's own kubelet cgroupRoot on this cgroup v1 machine. Two kubelets on one machine must not share the root
// cgroup (each would treat the other's pods as its own), so every node gets /NAME, which the kubelet needs to exist
// beforehand in every hierarchy (cpuset needs its cpus and mems filled in before anything can join it).
import * as fs from 'node:fs';
import * as path from 'node:path';

const CGROUP_FS = '/sys/fs/cgroup';

function hierarchies(): string[] {
  return fs
    .readdirSync(CGROUP_FS)
    .map((h) => path.join(CGROUP_FS, h))
    .filter((h) => fs.existsSync(path.join(h, 'cgroup.procs')));
}

/** Creates /NAME in every mounted hierarchy (v1 controllers and the hybrid cgroup2 mount). */
export function createCgroupRoot(name: string): void {
  for (const h of hierarchies()) {
    const dir = path.join(h, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (fs.existsSync(path.join(h, f))) fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(h, f)));
    }
  }
}

/** Every process in /NAME or below, in any hierarchy. */
export function pidsInCgroupRoot(name: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    for (const line of readOr(path.join(dir, 'cgroup.procs')).split('\n')) if (line) pids.add(Number(line));
    for (const e of entries(dir)) walk(path.join(dir, e));
  };
  for (const h of hierarchies()) if (fs.existsSync(path.join(h, name))) walk(path.join(h, name));
  return [...pids];
}

/** Removes /NAME and everything the kubelet and runc made below it (children first). Needs no process left in it. */
export function removeCgroupRoot(name: string): string[] {
  const left: string[] = [];
  const rm = (dir: string): void => {
    for (const e of entries(dir)) rm(path.join(dir, e));
    try {
      fs.rmdirSync(dir);
    } catch {
      left.push(dir);
    }
  };
  for (const h of hierarchies()) if (fs.existsSync(path.join(h, name))) rm(path.join(h, name));
  return left;
}

/**
 * Removes /NAME once nothing is left in it: a killed process leaves its cgroup a moment after it is gone (the
 * kernel releases it asynchronously), and a process forked just before the kill needs a kill of its own.
 * `kill` ends whatever is still in the cgroup between tries. Returns the folders still there after `waitMs`.
 */
export async function removeCgroupRootWhenEmpty(name: string, kill: (pids: number[]) => Promise<unknown>, waitMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = removeCgroupRoot(name);
    if (left.length === 0 || Date.now() > deadline) return left;
    const pids = pidsInCgroupRoot(name);
    if (pids.length > 0) await kill(pids);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Names of the cgroup roots in any hierarchy that start with PREFIX (leftovers of a crashed run). */
export function cgroupRootsStartingWith(prefix: string): string[] {
  const names = new Set<string>();
  for (const h of hierarchies()) for (const e of entries(h)) if (e.startsWith(prefix)) names.add(e);
  return [...names];
}

function entries(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
