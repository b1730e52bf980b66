// A room of clusters from one template: one cluster file per table, each with its own name, hostnames and
// addresses from one plan of the room's LAN, so no two tables ever share an address.
import { InputError } from '../engine/types.ts';
import { cidrContains, formatIPv4, parseCidr, parseIPv4 } from '../cluster/net.ts';
import type { ClusterSpec } from '../cluster/spec.ts';

export const ROOM_KIND = 'Room';
export const MAX_TABLES = 99;

export interface RoomTable {
  /** 1-based table number, as printed on the table card. */
  table: number;
  spec: ClusterSpec;
  /** File name inside the room folder. */
  file: string;
  /** Per-table key pair to create (ssh-keygen), when keys are per table. */
  keyPath?: string;
}

export interface RoomPlan {
  lan: string;
  tables: RoomTable[];
  /** Addresses the room uses, first to last, for the trainer's network sheet. */
  range: { first: string; last: string; free: number };
}

export type KeyChoice = 'shared' | 'per-table';

export function tableLabel(table: number): string {
  return `t${String(table).padStart(2, '0')}`;
}

/**
 * Plans N tables from a template. Each table gets the template's boards with the table's label in their names,
 * and addresses counted on from the template's lowest board address, skipping the network, broadcast, gateway
 * and DNS addresses. A room that does not fit the LAN is refused before any file is written.
 */
export function planRoom(template: ClusterSpec, tables: number, keys: KeyChoice, keyDir: string): RoomPlan {
  if (!Number.isInteger(tables) || tables < 1 || tables > MAX_TABLES) {
    throw new InputError('--tables', `"${tables}" is not a number of tables from 1 to ${MAX_TABLES}`, 'e.g. --tables 10');
  }
  const lan = parseCidr(template.network.lan)!;
  const size = 2 ** (32 - lan.prefix);
  const reserved = new Set<number>([lan.base, lan.base + size - 1]);
  for (const a of [template.network.gateway, ...template.network.dns]) {
    const ip = parseIPv4(a);
    if (ip !== null) reserved.add(ip);
  }
  const start = Math.min(...template.nodes.map((n) => parseIPv4(n.address)!));
  const perTable = template.nodes.length;
  let free = 0;
  for (let ip = start; cidrContains(lan, ip); ip++) if (!reserved.has(ip)) free++;
  if (free < tables * perTable) {
    throw new InputError(
      '--tables',
      `${tables} tables of ${perTable} boards need ${tables * perTable} addresses from ${formatIPv4(start)}, but the LAN ${template.network.lan} has only ${free} free from there`,
      `use at most ${Math.floor(free / perTable)} tables, a bigger network.lan, or lower board addresses in the template`,
    );
  }
  // Boards keep the template's order within a table: the master first if it was first.
  const order = [...template.nodes].sort((a, b) => parseIPv4(a.address)! - parseIPv4(b.address)!);
  let next = start;
  const take = (): string => {
    while (reserved.has(next)) next++;
    return formatIPv4(next++);
  };
  const planned: RoomTable[] = [];
  for (let t = 1; t <= tables; t++) {
    const label = tableLabel(t);
    const addresses = new Map(order.map((n) => [n.name, take()]));
    const name = `${template.name}-${label}`.slice(0, 63).replace(/-+$/, '');
    const keyPath = keys === 'per-table' ? `${keyDir}/${label}/id_ed25519` : undefined;
    const spec: ClusterSpec = {
      ...template,
      name,
      ssh: { ...template.ssh, keyPath: keyPath ?? template.ssh.keyPath },
      network: { ...template.network, dns: [...template.network.dns] },
      nodes: template.nodes.map((n) => ({ ...n, name: `${label}-${n.name}`.slice(0, 63).replace(/-+$/, ''), address: addresses.get(n.name)! })),
    };
    planned.push({ table: t, spec, file: `${name}.yaml`, keyPath });
  }
  const last = planned[planned.length - 1]!.spec.nodes.map((n) => parseIPv4(n.address)!);
  return { lan: template.network.lan, tables: planned, range: { first: formatIPv4(start), last: formatIPv4(Math.max(...last)), free: free - tables * perTable } };
}

/** room.yaml: the list a trainer's overview reads (`boardkube status --all -f room.yaml`). */
export function roomManifest(plan: RoomPlan, templateFile: string): Record<string, unknown> {
  return {
    apiVersion: 'boardkube.dev/v1alpha1',
    kind: ROOM_KIND,
    template: templateFile,
    lan: plan.lan,
    addresses: `${plan.range.first} - ${plan.range.last}`,
    tables: plan.tables.map((t) => ({ table: t.table, cluster: t.spec.name, file: t.file, nodes: Object.fromEntries(t.spec.nodes.map((n) => [n.name, n.address])) })),
  };
}
