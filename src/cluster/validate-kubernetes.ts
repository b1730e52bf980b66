// Validation of the cluster file's kubeadm settings: `kubernetes:` (endpoint, pod network, kube-proxy mode,
// kubeadm escape hatches for all boards) and `nodes[i].kubeadm` (the same hatches for one board).
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { RUNTIMES, type ContainerRuntime } from '../catalog/runtimes.ts';
import { expandHome } from '../util/paths.ts';
import { isHostname, parseIPv4 } from './net.ts';
import type { KubeadmOverrides, KubernetesSettings, PodNetworkBackend, ProxyMode } from './spec.ts';

type Add = (field: string, message: string, fix: string) => void;
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface FileChecks {
  /** Folder of the cluster file: relative patch folders are read from there. */
  baseDir?: string;
  /** Look at the patch folders on this computer (off while a person is still typing). */
  checkFiles?: boolean;
}

export const POD_NETWORK_BACKENDS: readonly PodNetworkBackend[] = ['vxlan', 'host-gw'];
export const PROXY_MODES: readonly ProxyMode[] = ['iptables', 'nftables'];
const KUBERNETES_FIELDS = ['runtime', 'controlPlaneEndpoint', 'podNetwork', 'proxyMode', 'kubeadm'];
const KUBEADM_FIELDS = ['ignorePreflightErrors', 'patches'];

/** kubeadm's patch file names: TARGET[SUFFIX][+PATCHTYPE].EXTENSION (kubeadm ignores others; we refuse them). */
export const PATCH_FILE = /^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubeletconfiguration|corednsdeployment)[A-Za-z0-9_-]*(\+(strategic|merge|json))?\.(json|yaml)$/;

/** A DNS name (RFC 1123 labels separated by dots). */
function isDnsName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((l) => isHostname(l));
}

/** "host" or "host:port" with host a DNS name or IPv4 address; null when it is neither. */
export function parseEndpoint(text: string): { host: string; port: number } | null {
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) return null;
  const host = m[1]!;
  const port = m[2] === undefined ? 6443 : Number(m[2]);
  if (port < 1 || port > 65535) return null;
  if (parseIPv4(host) === null && (/^[\d.]+$/.test(host) || !isDnsName(host))) return null;
  return { host, port };
}

export function validateKubeadmOverrides(raw: unknown, field: string, add: Add, files: FileChecks): KubeadmOverrides | undefined {
  if (raw === undefined) return undefined;
  if (!isObj(raw)) {
    add(field, 'must be a mapping', 'write {ignorePreflightErrors: [...], patches: FOLDER}');
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!KUBEADM_FIELDS.includes(key)) add(`${field}.${key}`, 'is not a field boardkube knows', `use one of: ${KUBEADM_FIELDS.join(', ')}`);
  }
  const out: KubeadmOverrides = {};
  if (raw.ignorePreflightErrors !== undefined) {
    const list = raw.ignorePreflightErrors;
    if (!Array.isArray(list)) add(`${field}.ignorePreflightErrors`, 'must be a list', 'e.g. ignorePreflightErrors: [SystemVerification]');
    else {
      out.ignorePreflightErrors = [];
      list.forEach((v, i) => {
        if (typeof v !== 'string' || !/^([A-Za-z][A-Za-z0-9._-]*|all)$/.test(v)) {
          add(`${field}.ignorePreflightErrors[${i}]`, `${JSON.stringify(v)} is not a kubeadm preflight check name`, 'use the name kubeadm prints in [ERROR NAME], e.g. SystemVerification or Port-6443');
        } else out.ignorePreflightErrors!.push(v);
      });
    }
  }
  if (raw.patches !== undefined) {
    if (typeof raw.patches !== 'string' || raw.patches.trim() === '') add(`${field}.patches`, 'must be a folder path', 'name a folder on this computer that holds kubeadm patch files');
    else {
      const given = expandHome(raw.patches.trim());
      const dir = isAbsolute(given) ? given : resolve(files.baseDir ?? process.cwd(), given);
      out.patches = dir;
      if (files.checkFiles !== false) checkPatchFolder(dir, raw.patches, `${field}.patches`, add);
    }
  }
  return out;
}

function checkPatchFolder(dir: string, given: string, field: string, add: Add): void {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return add(field, `${given} is not a folder`, 'name a folder that holds kubeadm patch files');
    names = readdirSync(dir);
  } catch {
    return add(field, `${given} does not exist (looked at ${dir})`, 'create the folder, or give its path relative to the cluster file');
  }
  const files = names.filter((n) => statSync(resolve(dir, n)).isFile());
  if (files.length === 0) add(field, `${given} holds no patch files`, 'add e.g. kubeletconfiguration+merge.yaml, or remove the field');
  for (const n of files) {
    if (!PATCH_FILE.test(n)) {
      add(field, `${given}/${n} is not a kubeadm patch file name`, 'name it TARGET[+strategic|+merge|+json].yaml with TARGET one of etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubeletconfiguration, corednsdeployment');
    }
  }
}

export function validateKubernetes(raw: unknown, add: Add, files: FileChecks): KubernetesSettings | undefined {
  if (raw === undefined) return undefined;
  if (!isObj(raw)) {
    add('kubernetes', 'must be a mapping', 'write kubernetes: {controlPlaneEndpoint, podNetwork, proxyMode, kubeadm}');
    return undefined;
  }
  const out: KubernetesSettings = {};
  const endpoint = raw.controlPlaneEndpoint;
  if (endpoint !== undefined) {
    if (typeof endpoint !== 'string' || !parseEndpoint(endpoint.trim())) {
      add('kubernetes.controlPlaneEndpoint', `${JSON.stringify(endpoint)} is not a DNS name or IPv4 address (with an optional :port)`, 'e.g. controlPlaneEndpoint: k8s.home.lan or 192.168.1.40:6443; leave it out to use the master\'s address');
    } else out.controlPlaneEndpoint = endpoint.trim();
  }
  if (raw.podNetwork !== undefined) {
    if (!POD_NETWORK_BACKENDS.includes(raw.podNetwork as PodNetworkBackend)) add('kubernetes.podNetwork', `${JSON.stringify(raw.podNetwork)} is not a flannel backend boardkube offers`, 'use vxlan (works everywhere) or host-gw (all boards on one LAN, no tunnel)');
    else out.podNetwork = raw.podNetwork as PodNetworkBackend;
  }
  if (raw.proxyMode !== undefined) {
    if (!PROXY_MODES.includes(raw.proxyMode as ProxyMode)) add('kubernetes.proxyMode', `${JSON.stringify(raw.proxyMode)} is not a kube-proxy mode boardkube offers`, 'use iptables or nftables (IPVS is deprecated since 1.35)');
    else out.proxyMode = raw.proxyMode as ProxyMode;
  }
  if (raw.runtime !== undefined) {
    if (!Object.hasOwn(RUNTIMES, String(raw.runtime))) add('kubernetes.runtime', `${JSON.stringify(raw.runtime)} is not a container runtime boardkube offers`, `use one of: ${Object.keys(RUNTIMES).join(', ')}`);
    else out.runtime = raw.runtime as ContainerRuntime;
  }
  const kubeadm = validateKubeadmOverrides(raw.kubeadm, 'kubernetes.kubeadm', add, files);
  if (kubeadm) out.kubeadm = kubeadm;
  for (const key of Object.keys(raw)) {
    if (!KUBERNETES_FIELDS.includes(key)) add(`kubernetes.${key}`, 'is not a field boardkube knows', `use one of: ${KUBERNETES_FIELDS.join(', ')}`);
  }
  return out;
}
