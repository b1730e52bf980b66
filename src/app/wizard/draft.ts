// The inventory being edited (a Draft: every field a string, as typed) and how it maps to and from a cluster
// file. Pure functions: the editor (inventory.ts) keeps the draft and checks it.
import { CLUSTER_FIELDS, type ClusterSpec } from '../../cluster/spec.ts';
import { BOARDS } from '../../boards/index.ts';
import { RELEASES } from '../../catalog/versions.ts';
import type { Draft, DraftField } from './store.ts';
import { DRAFT_FIELDS, emptyDraft } from './store.ts';

/** The fields of the cluster file the inventory edits; every other known field passes through untouched. */
const EDITED = new Set(['apiVersion', 'kind', 'name', 'board', 'kubernetesVersion', 'network', 'ssh', 'timezone', 'nodes']);
const NODE_EDITED = new Set(['name', 'role', 'address']);
const NODE_FIELDS = (CLUSTER_FIELDS.nodes as { list: Record<string, unknown> }).list;

/** The known fields of `o` the inventory does not edit (a misspelt name is not kept: the .bak has it). */
function passThrough(o: Record<string, unknown>, known: Record<string, unknown>, edited: Set<string>): Record<string, unknown> | undefined {
  const kept = Object.entries(o).filter(([k, v]) => k in known && !edited.has(k) && v !== undefined);
  return kept.length ? Object.fromEntries(kept) : undefined;
}

export function draftFromSpec(spec: ClusterSpec): Draft {
  const extra = passThrough(spec as unknown as Record<string, unknown>, CLUSTER_FIELDS, EDITED);
  return {
    ...(extra ? { extra } : {}),
    name: spec.name,
    board: spec.board,
    kubernetesVersion: spec.kubernetesVersion,
    lan: spec.network.lan,
    gateway: spec.network.gateway,
    dns: spec.network.dns.join(', '),
    podSubnet: spec.network.podSubnet,
    serviceSubnet: spec.network.serviceSubnet,
    sshUser: spec.ssh.user,
    keyPath: spec.ssh.keyPath,
    sshPort: spec.ssh.port === 22 ? '' : String(spec.ssh.port),
    timezone: spec.timezone,
    nodes: spec.nodes.map((n) => {
      const rest = passThrough(n as unknown as Record<string, unknown>, NODE_FIELDS, NODE_EDITED);
      return { name: n.name, role: n.role, address: n.address, ...(rest ? { extra: rest } : {}) };
    }),
  };
}

/** The raw cluster-file object for a draft, as validateCluster reads it. */
export function draftToRaw(d: Draft): Record<string, unknown> {
  return {
    ...(d.extra ?? {}),
    apiVersion: 'boardkube.dev/v1alpha1',
    kind: 'Cluster',
    name: d.name,
    board: d.board,
    kubernetesVersion: d.kubernetesVersion,
    network: {
      lan: d.lan,
      gateway: d.gateway,
      dns: d.dns
        .split(/[,\s]+/)
        .map((s) => s.trim())
        .filter(Boolean),
      podSubnet: d.podSubnet,
      serviceSubnet: d.serviceSubnet,
    },
    // A port that is not a number goes to the validator as written, which names it.
    ssh: { user: d.sshUser, keyPath: d.keyPath, ...(d.sshPort === '' ? {} : { port: /^\d+$/.test(d.sshPort) ? Number(d.sshPort) : d.sshPort }) },
    ...(d.timezone === '' ? {} : { timezone: d.timezone }),
    nodes: d.nodes.map((n) => ({ ...(n.extra ?? {}), name: n.name, role: n.role, address: n.address })),
  };
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});

/**
 * A draft from a raw cluster-file object that may not be valid: every value as the file has it (so the
 * inventory shows the user's own values with their problems); a field the file lacks is empty.
 */
export function draftFromRaw(rawValue: unknown, base: Draft = emptyDraft()): Draft {
  const raw = asObj(rawValue);
  const net = asObj(raw.network);
  const ssh = asObj(raw.ssh);
  const s = (v: unknown, d: string) => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : d);
  const extra = passThrough(raw, CLUSTER_FIELDS, EDITED);
  return {
    ...(extra ? { extra } : {}),
    name: s(raw.name, base.name),
    board: s(raw.board, base.board),
    kubernetesVersion: s(raw.kubernetesVersion, base.kubernetesVersion),
    lan: s(net.lan, base.lan),
    gateway: s(net.gateway, base.gateway),
    dns: Array.isArray(net.dns) ? net.dns.map(String).join(', ') : base.dns,
    podSubnet: s(net.podSubnet, base.podSubnet),
    serviceSubnet: s(net.serviceSubnet, base.serviceSubnet),
    sshUser: s(ssh.user, base.sshUser),
    keyPath: s(ssh.keyPath, base.keyPath),
    sshPort: s(ssh.port, base.sshPort),
    timezone: s(raw.timezone, base.timezone),
    nodes: Array.isArray(raw.nodes)
      ? raw.nodes.map((n) => {
          const o = asObj(n);
          const rest = passThrough(o, NODE_FIELDS, NODE_EDITED);
          return { name: s(o.name, ''), role: s(o.role, ''), address: s(o.address, ''), ...(rest ? { extra: rest } : {}) };
        })
      : base.nodes,
  };
}

/** Which inventory field a validation problem belongs to. */
export function fieldOfProblem(field: string): string {
  const map: Record<string, string> = {
    name: 'name',
    board: 'board',
    kubernetesVersion: 'kubernetesVersion',
    'network.lan': 'lan',
    'network.gateway': 'gateway',
    'network.dns': 'dns',
    'network.podSubnet': 'podSubnet',
    'network.serviceSubnet': 'serviceSubnet',
    'ssh.user': 'sshUser',
    'ssh.keyPath': 'keyPath',
    'ssh.port': 'sshUser',
    timezone: 'name',
    nodes: 'nodes',
  };
  if (map[field]) return map[field];
  if (field.startsWith('network.dns')) return 'dns';
  const m = /^nodes\[(\d+)\](?:\.(name|role|address))?$/.exec(field);
  if (m) return `nodes.${m[1]}.${m[2] ?? 'name'}`;
  return field;
}

/** Whether the inventory has a row for a problem's field (else the problem is listed apart, as the file's). */
export function hasInventoryRow(field: string): boolean {
  const f = fieldOfProblem(field);
  return (DRAFT_FIELDS as readonly string[]).includes(f) || f === 'nodes' || /^nodes\.\d+\.(name|role|address)$/.test(f);
}

/** `base`, or `base-2`, `base-3` ... whichever is not taken yet. */
export function nextFreeName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

/** Choices for a choice field (board, Kubernetes version, node role); none for a text field. */
export function fieldChoices(field: DraftField): string[] {
  if (field === 'board') return BOARDS.map((b) => b.id);
  if (field === 'kubernetesVersion') return [...RELEASES].reverse().map((r) => r.patch);
  if (/^nodes\.\d+\.role$/.test(field)) return ['control-plane', 'worker'];
  return [];
}

export function isChoiceField(field: string): boolean {
  return field === 'board' || field === 'kubernetesVersion' || /^nodes\.\d+\.role$/.test(field);
}

/** A node's field ("nodes.I.name" / "nodes.I.role" / "nodes.I.address"): its index and column. */
function nodeField(field: DraftField): { index: number; column: 'name' | 'role' | 'address' } | undefined {
  const m = /^nodes\.(\d+)\.(name|role|address)$/.exec(field);
  return m ? { index: Number(m[1]), column: m[2] as 'name' | 'role' | 'address' } : undefined;
}

export function readField(d: Draft, field: DraftField): string {
  const n = nodeField(field);
  if (n) return d.nodes[n.index]?.[n.column] ?? '';
  return d[field as (typeof DRAFT_FIELDS)[number]] ?? '';
}

/** A copy of the draft with one field set; undefined when the field names a node that is not there. */
export function withField(draft: Draft, field: DraftField, value: string): Draft | undefined {
  const d: Draft = { ...draft, nodes: draft.nodes.map((n) => ({ ...n })) };
  const n = nodeField(field);
  if (n) {
    const node = d.nodes[n.index];
    if (!node) return undefined;
    node[n.column] = value;
  } else d[field as (typeof DRAFT_FIELDS)[number]] = value;
  return d;
}

/** A copy with one more board: the first is the control plane, the next address follows the last one's. */
export function withNodeAdded(d: Draft): Draft {
  const names = new Set(d.nodes.map((n) => n.name));
  let name = '';
  for (let i = d.nodes.length; ; i++) if (!names.has((name = `n2-worker${i}`))) break;
  const last = d.nodes[d.nodes.length - 1]?.address ?? '';
  const m = /^(\d+\.\d+\.\d+\.)(\d+)$/.exec(last);
  const address = m ? `${m[1]}${Math.min(254, Number(m[2]) + 1)}` : '';
  return { ...d, nodes: [...d.nodes.map((n) => ({ ...n })), { name, role: d.nodes.length === 0 ? 'control-plane' : 'worker', address }] };
}

/** A copy without the board at `index`; undefined when there is none. */
export function withoutNode(d: Draft, index: number): Draft | undefined {
  if (!d.nodes[index]) return undefined;
  return { ...d, nodes: d.nodes.filter((_, i) => i !== index).map((n) => ({ ...n })) };
}
