// What the registry steps share: their options, the master, and the CA and certificate they read there.
import { controlPlaneNode } from '../../src/cluster/spec.ts';
import type { StepContext } from '../../src/engine/types.ts';
import type { Host } from '../../src/ports/host.ts';
import type { RegistryOptions } from './options.ts';

export const CERT_DIR = '/etc/boardkube/registry';

export function optionsOf(ctx: StepContext): RegistryOptions {
  return ctx.options as unknown as RegistryOptions;
}

export function master(ctx: StepContext): Host {
  return ctx.ports.host(controlPlaneNode(ctx.cluster));
}

/** A root-readable file on the master, never logged (the registry's key is one). */
export async function readAsRoot(host: Host, file: string, signal: AbortSignal): Promise<string> {
  const r = await host.exec(`cat '${file}'`, { sudo: true, signal, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`cannot read ${file} on ${host.node}: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`}`);
  return r.stdout;
}

/** The cluster CA (public): from the master, where kubeadm keeps it. */
export function clusterCa(ctx: StepContext): Promise<string> {
  return readAsRoot(master(ctx), `${optionsOf(ctx).pkiDir}/ca.crt`, ctx.signal);
}
