// Validation of the cluster file. Every problem names the field, says what is wrong and how to fix it,
// so the CLI (exit 2) and the inventory screen (inline errors) show the same words.
import { accessSync, constants, statSync } from 'node:fs';
import { BOARDS, findBoard } from '../boards/index.ts';
import { findRelease, supportedVersionsText } from '../catalog/versions.ts';
import { cidrContains, cidrsOverlap, parseCidr, parseIPv4, isHostname } from './net.ts';
import { API_VERSION, CLUSTER_FIELDS, KIND, type ClusterSpec, type FieldKind, type FieldTree, type NodeSpec } from './spec.ts';
import { closest } from '../util/names.ts';
import { expandHome } from '../util/paths.ts';
import { validateKubeadmOverrides, validateKubernetes } from './validate-kubernetes.ts';

export interface Problem {
  field: string;
  message: string;
  fix: string;
}

export class InvalidClusterError extends Error {
  constructor(readonly problems: Array<Problem & { line?: number }>, readonly file?: string) {
    super(formatProblems(problems, file));
    this.name = 'InvalidClusterError';
  }
}

/** One line per problem: `FILE:LINE: field: message (fix: ...)`, as compilers name a place (the line when known). */
export function formatProblems(problems: Array<Problem & { line?: number }>, file?: string): string {
  return problems
    .map((p) => {
      const head = file ? `${file}${p.line ? `:${p.line}` : ''}: ` : '';
      // A problem of the whole file (not YAML, a folder) has no field to name.
      const field = p.field === '(file)' && file ? '' : `${p.field}: `;
      return `${head}${field}${p.message} (fix: ${p.fix})`;
    })
    .join('\n');
}

export interface ValidateOptions {
  /** Check that the SSH key file exists and is readable (off while a person is still typing). */
  checkKeyFile?: boolean;
  /** Folder of the cluster file, for relative paths in it (kubeadm patch folders). */
  baseDir?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const describe = (v: unknown): string =>
  Array.isArray(v) ? 'a list' : isObj(v) ? 'a mapping' : typeof v === 'string' ? `the text ${JSON.stringify(v)}` : `the ${typeof v} ${String(v)}`;

/**
 * Names that are not fields and values of the wrong kind, anywhere in the file (CLUSTER_FIELDS says what is
 * where). Returns the fields it complained about, so the checks of values that follow do not repeat it.
 */
function checkShape(raw: Obj, fields: FieldTree, at: string, add: (field: string, message: string, fix: string) => void, bad: string[]): void {
  const known = Object.keys(fields);
  const fieldPath = (k: string) => (at ? `${at}.${k}` : k);
  for (const [key, value] of Object.entries(raw)) {
    const kind = fields[key];
    const field = fieldPath(key);
    if (!kind) {
      const guess = closest(key, known);
      const of = !at ? '' : /\[\d+\]$/.test(at) ? ` of each entry of ${at.replace(/\[\d+\]$/, '')}` : ` of ${at}`;
      add(field, `is not a field${of || ' of the cluster file'}`, `${guess ? `did you mean ${guess}? ` : ''}the fields${of} are: ${known.join(', ')}`);
      bad.push(field);
      continue;
    }
    // An empty value (`timezone:`) is missing: the value checks say what to write.
    if (value === null || value === undefined) continue;
    const wrong = checkKind(value, kind, field, add, bad);
    if (wrong) {
      add(field, wrong.message, wrong.fix);
      bad.push(field);
    }
  }
}

function checkKind(value: unknown, kind: FieldKind, field: string, add: (field: string, message: string, fix: string) => void, bad: string[]): { message: string; fix: string } | undefined {
  const key = field.replace(/^.*[.\]]/, '');
  if (kind === 'string') {
    if (typeof value === 'string') return undefined;
    if (typeof value === 'number' || typeof value === 'boolean') return { message: `must be a string, got ${describe(value)}`, fix: `a string was expected: quote it, e.g. ${key}: "${String(value)}" (without quotes YAML reads a number)` };
    return { message: `must be a string, not ${describe(value)}`, fix: `write one value: ${key}: VALUE` };
  }
  if (kind === 'number') {
    if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value.trim()))) return undefined;
    return { message: `must be a number, got ${describe(value)}`, fix: `write a number without quotes, e.g. ${key}: 22` };
  }
  if (kind === 'boolean') return typeof value === 'boolean' ? undefined : { message: `must be true or false, got ${describe(value)}`, fix: `write ${key}: true or ${key}: false` };
  if (kind === 'string-list') {
    if (!Array.isArray(value)) return { message: `must be a list, got ${describe(value)}`, fix: `write it as a list, e.g. ${key}: [${typeof value === 'string' || typeof value === 'number' ? String(value) : 'VALUE'}]` };
    value.forEach((v, i) => {
      if (typeof v !== 'string') {
        add(`${field}[${i}]`, `must be a string, got ${describe(v)}`, 'write each entry as text (quote it if needed)');
        bad.push(`${field}[${i}]`);
      }
    });
    return undefined;
  }
  if ('map' in kind) {
    if (!isObj(value)) return { message: `must be a mapping (fields indented below ${key}:), got ${describe(value)}`, fix: `write the fields below it: ${Object.keys(kind.map).join(', ')}` };
    checkShape(value, kind.map, field, add, bad);
    return undefined;
  }
  if (!Array.isArray(value)) return { message: `must be a list, got ${describe(value)}`, fix: `list the entries, one "- {${Object.keys(kind.list).join(', ')}}" per line` };
  value.forEach((v, i) => {
    if (isObj(v)) checkShape(v, kind.list, `${field}[${i}]`, add, bad);
  });
  return undefined;
}

/**
 * Checks an untrusted value (parsed YAML) and returns either the typed spec or the list of problems.
 * Hand-written rather than a schema library so that each message can name its fix.
 */
export function validateCluster(raw: unknown, opts: ValidateOptions = {}): { spec?: ClusterSpec; problems: Problem[] } {
  const problems: Problem[] = [];
  const bad: string[] = [];
  const reported = (field: string) => bad.some((b) => field === b || field.startsWith(`${b}.`) || field.startsWith(`${b}[`));
  const add = (field: string, message: string, fix: string) => {
    if (!reported(field)) problems.push({ field, message, fix });
  };
  if (!isObj(raw)) {
    add('(file)', 'is not a YAML mapping', 'start from `boardkube init`, which writes a commented skeleton');
    return { problems };
  }
  checkShape(raw, CLUSTER_FIELDS, '', (field, message, fix) => problems.push({ field, message, fix }), bad);
  const str = (obj: Obj, key: string, field: string, fix: string): string => {
    const v = obj[key];
    if (typeof v !== 'string' || v.trim() === '') {
      add(field, v === undefined ? 'is missing' : 'must be a non-empty string', fix);
      return '';
    }
    return v.trim();
  };

  if (raw.apiVersion !== API_VERSION) add('apiVersion', `must be ${API_VERSION}, got ${JSON.stringify(raw.apiVersion ?? null)}`, `set apiVersion: ${API_VERSION}`);
  if (raw.kind !== KIND) add('kind', `must be ${KIND}, got ${JSON.stringify(raw.kind ?? null)}`, `set kind: ${KIND}`);

  const name = str(raw, 'name', 'name', 'give the cluster a short name such as "homelab"');
  if (name && !isHostname(name)) add('name', `"${name}" is not a valid name`, 'use lower-case letters, digits and "-" (at most 63), starting and ending with a letter or digit');

  const board = str(raw, 'board', 'board', `one of: ${BOARDS.map((b) => b.id).join(', ')}`);
  if (board && !findBoard(board)) add('board', `unknown board "${board}"`, `use one of: ${BOARDS.map((b) => b.id).join(', ')}`);

  const version = str(raw, 'kubernetesVersion', 'kubernetesVersion', `one of: ${supportedVersionsText()}`);
  if (version && !findRelease(version)) add('kubernetesVersion', `${version} is not in the version catalogue`, `use one of: ${supportedVersionsText()}`);

  const timezone = typeof raw.timezone === 'string' && raw.timezone ? raw.timezone : 'UTC';
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(timezone)) add('timezone', `"${timezone}" is not a time zone name`, 'use a name like Europe/Berlin or UTC');

  // network
  const net = isObj(raw.network) ? raw.network : (add('network', 'is missing', 'add network: {lan, gateway, dns, podSubnet, serviceSubnet}'), {} as Obj);
  const lanText = str(net, 'lan', 'network.lan', 'the boards\' LAN in CIDR form, e.g. 192.168.1.0/24');
  const lan = lanText ? parseCidr(lanText) : null;
  if (lanText && !lan) add('network.lan', `"${lanText}" is not an IPv4 network`, 'write it as ADDRESS/PREFIX, e.g. 192.168.1.0/24');
  const gateway = str(net, 'gateway', 'network.gateway', 'the router\'s address, e.g. 192.168.1.1');
  const gw = gateway ? parseIPv4(gateway) : null;
  if (gateway && gw === null) add('network.gateway', `"${gateway}" is not an IPv4 address`, 'write four numbers 0-255 separated by dots');
  else if (gw !== null && lan && !cidrContains(lan, gw)) add('network.gateway', `${gateway} is outside the LAN ${lanText}`, 'the gateway must be on the boards\' network');
  let dns: string[] = [];
  if (!Array.isArray(net.dns) || net.dns.length === 0) add('network.dns', 'needs at least one server', 'e.g. dns: [192.168.1.1]');
  else {
    dns = net.dns.map(String);
    dns.forEach((d, i) => {
      if (parseIPv4(d) === null) add(`network.dns[${i}]`, `"${d}" is not an IPv4 address`, 'write four numbers 0-255 separated by dots');
    });
  }
  const subnet = (key: 'podSubnet' | 'serviceSubnet', example: string) => {
    const text = str(net, key, `network.${key}`, `e.g. ${example}`);
    const c = text ? parseCidr(text) : null;
    if (text && !c) add(`network.${key}`, `"${text}" is not an IPv4 network`, `write it as ADDRESS/PREFIX, e.g. ${example}`);
    return { text, c };
  };
  const pod = subnet('podSubnet', '10.244.0.0/16');
  const svc = subnet('serviceSubnet', '10.96.0.0/12');
  if (pod.c && svc.c && cidrsOverlap(pod.c, svc.c)) add('network.serviceSubnet', `${svc.text} overlaps the pod subnet ${pod.text}`, 'pick ranges that do not overlap, e.g. pods 10.244.0.0/16 and services 10.96.0.0/12');
  if (lan && pod.c && cidrsOverlap(lan, pod.c)) add('network.podSubnet', `${pod.text} overlaps the boards' LAN ${lanText}`, 'pick a private range the LAN does not use, e.g. 10.244.0.0/16');
  if (lan && svc.c && cidrsOverlap(lan, svc.c)) add('network.serviceSubnet', `${svc.text} overlaps the boards' LAN ${lanText}`, 'pick a private range the LAN does not use, e.g. 10.96.0.0/12');

  // ssh
  const ssh = isObj(raw.ssh) ? raw.ssh : (add('ssh', 'is missing', 'add ssh: {user, keyPath}'), {} as Obj);
  const user = str(ssh, 'user', 'ssh.user', 'the login on the boards, e.g. root or alarm');
  const keyPath = str(ssh, 'keyPath', 'ssh.keyPath', 'path of your private key, e.g. ~/.ssh/id_ed25519 (the wizard can create one)');
  const port = ssh.port === undefined ? 22 : Number(ssh.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) add('ssh.port', `"${String(ssh.port)}" is not a TCP port`, 'use a number from 1 to 65535, usually 22');
  if (keyPath && opts.checkKeyFile !== false) {
    const full = expandHome(keyPath);
    try {
      if (!statSync(full).isFile()) add('ssh.keyPath', `${keyPath} is not a file`, 'point it at the private key file');
      else accessSync(full, constants.R_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') add('ssh.keyPath', `${keyPath} does not exist`, `create one with: ssh-keygen -t ed25519 -f ${keyPath}`);
      else if (code === 'EACCES') add('ssh.keyPath', `${keyPath} cannot be read`, 'check the file\'s owner and mode (it should be yours, mode 0600)');
    }
  }

  // nodes
  const nodes: NodeSpec[] = [];
  if (!Array.isArray(raw.nodes) || raw.nodes.length === 0) add('nodes', 'needs at least one node', 'list the boards: - {name, role, address}');
  else {
    const names = new Map<string, number>();
    const addrs = new Map<string, number>();
    raw.nodes.forEach((n, i) => {
      const f = `nodes[${i}]`;
      if (!isObj(n)) return add(f, 'is not a mapping', 'write {name: ..., role: ..., address: ...}');
      const nodeName = str(n, 'name', `${f}.name`, 'a host name such as n2-worker1');
      if (nodeName && !isHostname(nodeName)) add(`${f}.name`, `"${nodeName}" is not a valid host name`, 'use lower-case letters, digits and "-", at most 63, starting and ending with a letter or digit');
      if (nodeName) {
        if (names.has(nodeName)) add(`${f}.name`, `"${nodeName}" is used twice (also nodes[${names.get(nodeName)}])`, 'give every board its own name');
        else names.set(nodeName, i);
      }
      const role = n.role;
      if (role !== 'control-plane' && role !== 'worker') add(`${f}.role`, `must be control-plane or worker, got ${JSON.stringify(role ?? null)}`, 'set role: control-plane for the master, worker for the others');
      const address = str(n, 'address', `${f}.address`, 'the board\'s fixed IPv4 address');
      const ip = address ? parseIPv4(address) : null;
      if (address && ip === null) add(`${f}.address`, `"${address}" is not an IPv4 address`, 'write four numbers 0-255 separated by dots, e.g. 192.168.1.41');
      else if (ip !== null) {
        if (addrs.has(address)) add(`${f}.address`, `${address} is used twice (also nodes[${addrs.get(address)}])`, 'give every board its own address');
        else addrs.set(address, i);
        if (lan && !cidrContains(lan, ip)) add(`${f}.address`, `${address} is outside the LAN ${lanText}`, 'use an address on the boards\' network or correct network.lan');
        if (gw !== null && ip === gw) add(`${f}.address`, `${address} is the gateway's address`, 'give the board an address of its own');
        if (pod.c && cidrContains(pod.c, ip)) add(`${f}.address`, `${address} lies in the pod subnet ${pod.text}`, 'move the board or the pod subnet');
      }
      const kubeadm = validateKubeadmOverrides(n.kubeadm, `${f}.kubeadm`, add, { baseDir: opts.baseDir, checkFiles: opts.checkKeyFile });
      nodes.push({ name: nodeName, role: role as NodeSpec['role'], address, ...(kubeadm ? { kubeadm } : {}) });
    });
    const cps = nodes.filter((n) => n.role === 'control-plane').length;
    if (cps !== 1) add('nodes', `needs exactly one control-plane node, found ${cps}`, 'set role: control-plane on one board (the master) and role: worker on the rest');
  }

  const kubernetes = validateKubernetes(raw.kubernetes, add, { baseDir: opts.baseDir, checkFiles: opts.checkKeyFile });

  if (problems.length > 0) return { problems };
  const spec: ClusterSpec = {
    apiVersion: API_VERSION,
    kind: KIND,
    name,
    board,
    kubernetesVersion: version,
    network: { lan: lanText, gateway, dns, podSubnet: pod.text, serviceSubnet: svc.text },
    ssh: { user, keyPath, port },
    timezone,
    nodes,
    ...(kubernetes ? { kubernetes } : {}),
  };
  return { spec, problems };
}
