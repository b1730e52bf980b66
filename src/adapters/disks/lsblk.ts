// Turns `lsblk -J -b -O`, `findmnt -J -l` and /proc/swaps into BlockDevices, with the system disk marked.
// Pure functions: the tests feed them this machine's real output.
import type { BlockDevice, PartitionInfo } from '../../ports/disks.ts';

/** Mount points that make the disk holding them this computer's system disk. */
export const SYSTEM_MOUNTS = ['/', '/boot', '/boot/efi', '/efi', '/usr', '/var', '/home'];

interface LsblkNode {
  name?: string;
  kname?: string;
  path?: string;
  size?: number | string | null;
  type?: string;
  tran?: string | null;
  rm?: boolean | string | number;
  hotplug?: boolean | string | number;
  ro?: boolean | string | number;
  model?: string | null;
  vendor?: string | null;
  serial?: string | null;
  fstype?: string | null;
  label?: string | null;
  mountpoint?: string | null;
  mountpoints?: Array<string | null>;
  'maj:min'?: string;
  children?: LsblkNode[];
}

export interface MountFact {
  source: string;
  target: string;
  majMin?: string;
}

export interface SystemFacts {
  mounts: MountFact[];
  /** Device paths from /proc/swaps (swap files are skipped: they sit on a mounted filesystem anyway). */
  swaps: string[];
}

const bool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 'true';
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : 0);

function mountsOf(n: LsblkNode): string[] {
  const list = Array.isArray(n.mountpoints) ? n.mountpoints : [n.mountpoint ?? null];
  return list.filter((m): m is string => typeof m === 'string' && m !== '');
}

function walk(n: LsblkNode, f: (n: LsblkNode) => void): void {
  f(n);
  for (const c of n.children ?? []) walk(c, f);
}

/** findmnt -J -l (-o SOURCE,TARGET,MAJ:MIN) → mount facts. */
export function parseFindmnt(json: string): MountFact[] {
  const data = JSON.parse(json) as { filesystems?: Array<{ source?: string; target?: string; 'maj:min'?: string; children?: unknown[] }> };
  const out: MountFact[] = [];
  const visit = (list: Array<Record<string, unknown>> | undefined) => {
    for (const fs of list ?? []) {
      if (typeof fs.source === 'string' && typeof fs.target === 'string') {
        out.push({ source: fs.source.replace(/\[.*\]$/, ''), target: fs.target, majMin: typeof fs['maj:min'] === 'string' ? fs['maj:min'] : undefined });
      }
      visit(fs.children as Array<Record<string, unknown>> | undefined);
    }
  };
  visit(data.filesystems as Array<Record<string, unknown>> | undefined);
  return out;
}

/** /proc/swaps → swap device paths. */
export function parseSwaps(text: string): string[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 2 && f[1] === 'partition')
    .map((f) => f[0]!);
}

/**
 * lsblk -J -b -O → the top-level devices (disks, loop devices), each with its partitions and every mount point in
 * its subtree, and `system` set when the subtree holds /, /boot, ... or an active swap.
 */
export function parseLsblk(json: string, facts: SystemFacts, backingFiles: Record<string, string> = {}): BlockDevice[] {
  const data = JSON.parse(json) as { blockdevices?: LsblkNode[] };
  const systemMounts = facts.mounts.filter((m) => SYSTEM_MOUNTS.includes(m.target));
  const devices: BlockDevice[] = [];
  for (const top of data.blockdevices ?? []) {
    const path = top.path ?? `/dev/${top.kname ?? top.name}`;
    const name = top.kname ?? top.name ?? path.replace(/^\/dev\//, '');
    const mountpoints: string[] = [];
    const reasons: string[] = [];
    walk(top, (n) => {
      const p = n.path ?? `/dev/${n.kname ?? n.name}`;
      const mm = n['maj:min'];
      for (const m of mountsOf(n)) {
        if (!mountpoints.includes(m)) mountpoints.push(m);
        if (m === '[SWAP]') reasons.push(`${p} is swap`);
      }
      for (const sm of systemMounts) {
        if (sm.source === p || (sm.majMin && mm && sm.majMin === mm) || sm.source === `/dev/${n.name}` || sm.source === `/dev/mapper/${n.name}`) {
          reasons.push(`holds ${sm.target}`);
        }
      }
      if (facts.swaps.includes(p) || facts.swaps.includes(`/dev/${n.kname ?? n.name}`)) reasons.push(`${p} is active swap`);
    });
    // A system mount whose source is the device itself (filesystem on the bare disk, e.g. /dev/vda).
    for (const sm of systemMounts) if (sm.source === path && !reasons.includes(`holds ${sm.target}`)) reasons.push(`holds ${sm.target}`);
    const partitions: PartitionInfo[] = (top.children ?? [])
      .filter((c) => c.type === 'part')
      .map((c) => ({
        path: c.path ?? `/dev/${c.kname ?? c.name}`,
        sizeBytes: num(c.size),
        fstype: c.fstype ?? '',
        label: c.label ?? '',
        mountpoints: (() => {
          const ms: string[] = [];
          walk(c, (n) => ms.push(...mountsOf(n)));
          return ms;
        })(),
      }));
    const type = top.type ?? 'disk';
    const uniqueReasons = [...new Set(reasons)];
    devices.push({
      path,
      name,
      sizeBytes: num(top.size),
      model: [top.vendor, top.model].map((s) => (s ?? '').trim()).filter(Boolean).join(' '),
      transport: type === 'loop' ? 'loop' : (top.tran ?? '') || (name.startsWith('mmcblk') ? 'mmc' : name.startsWith('vd') ? 'virtio' : name.startsWith('zram') ? 'zram' : ''),
      removable: bool(top.rm) || bool(top.hotplug),
      mountpoints,
      system: uniqueReasons.length > 0,
      systemReason: uniqueReasons.join(', '),
      majMin: top['maj:min'],
      readOnly: bool(top.ro),
      serial: (top.serial ?? '').trim(),
      type,
      backingFile: backingFiles[name],
      partitions,
    });
  }
  return devices;
}
