// Trust in the registry's CA on a board, for the runtime the cluster file names and for the board's own tools.
// CRI-O reads /etc/containers/certs.d/HOST:PORT/ca.crt on every pull; containerd reads
// /etc/containerd/certs.d/HOST:PORT/hosts.toml through its config_path (DOMAIN.md). HOST:PORT must be exactly
// what image references name, or the runtime does not look there.
import * as path from 'node:path';
import { RUNTIMES, type ContainerRuntime } from '../../src/catalog/runtimes.ts';
import type { PlannedAction } from '../../src/engine/types.ts';

type Runtime = ContainerRuntime;

/** Arch Linux ARM's system trust: anchors plus update-ca-trust (p11-kit), so curl and friends trust it too. */
export const SYSTEM_TRUST = { anchorDir: '/etc/ca-certificates/trust-source/anchors', update: 'update-ca-trust' } as const;
/** Where the runtime looks for the CA of HOST:PORT (containerd: the file its hosts.toml names). */
export function runtimeCaPath(runtime: Runtime, hostPort: string): string {
  return `${RUNTIMES[runtime].registryCertsDir}/${hostPort}/ca.crt`;
}

export function containerdHostsToml(hostPort: string): string {
  return [`server = "https://${hostPort}"`, '', `[host."https://${hostPort}"]`, '  capabilities = ["pull", "resolve", "push"]', `  ca = "${runtimeCaPath('containerd', hostPort)}"`, ''].join('\n');
}

export function anchorPath(cluster: string): string {
  return `${SYSTEM_TRUST.anchorDir}/boardkube-${cluster}-ca.crt`;
}

/** The files and the one command that make a board trust the cluster CA for the registry at HOST:PORT. */
export function trustActions(runtime: Runtime, hostPort: string, caPem: string, cluster: string): PlannedAction[] {
  const caPath = runtimeCaPath(runtime, hostPort);
  const actions: PlannedAction[] = [
    // A file is written into an existing folder only: the runtime's per-registry one is new.
    { type: 'command', description: `make the folders for ${hostPort} and the system trust`, content: `mkdir -p '${path.posix.dirname(caPath)}' '${SYSTEM_TRUST.anchorDir}'\n`, sudo: true },
    { type: 'file', description: `the cluster CA where ${runtime} looks for ${hostPort}`, path: caPath, content: caPem, mode: 0o644, sudo: true },
  ];
  if (runtime === 'containerd') {
    actions.push({ type: 'file', description: `containerd's host configuration for ${hostPort}`, path: `${RUNTIMES.containerd.registryCertsDir}/${hostPort}/hosts.toml`, content: containerdHostsToml(hostPort), mode: 0o644, sudo: true });
  }
  actions.push(
    { type: 'file', description: "the cluster CA in the board's system trust", path: anchorPath(cluster), content: caPem, mode: 0o644, sudo: true },
    { type: 'command', description: 'rebuild the system trust store', content: `${SYSTEM_TRUST.update}\n`, sudo: true },
  );
  return actions;
}

/**
 * A probe run on a board: the registry answers /v2/ over TLS checked with the given CA file (on the nodes: the
 * very file the runtime reads). 401 is the expected answer without credentials: TLS and the registry are proven.
 */
export function tlsProbeScript(caFile: string, hostPort: string): string {
  return `curl -sS --max-time 10 --cacert '${caFile}' -o /dev/null -w '%{http_code}\\n' 'https://${hostPort}/v2/'\n`;
}
