// The cluster file on disk, read with the CLI's own reader (readClusterFile: the same parser, validation and
// line numbers): what the file given with -f holds, and where the inventory writes a new one. The reader is
// imported on first use (start-up stays light).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ClusterFileRead } from '../../cluster/file.ts';
import type { WizardSnapshot } from './store.ts';

/** Reads a cluster file as the CLI does; the key file is checked as on real boards. */
export async function readCluster(path: string): Promise<ClusterFileRead> {
  const { readClusterFile } = await import('../../cluster/file.ts');
  return readClusterFile(path, { checkKeyFile: true });
}

/** What the welcome screen says of a cluster file: the cluster it names, or why it cannot be opened as it is. */
export function fileSummary(read: ClusterFileRead): NonNullable<WizardSnapshot['fileArg']> {
  const path = read.path;
  if (!read.exists) return { path, error: 'does not exist yet: the inventory will write it' };
  if (read.unreadable) return { path, error: `${read.unreadable.message} (fix: ${read.unreadable.fix}; the wizard writes nothing over it)` };
  const raw = read.raw as { name?: unknown } | null | undefined;
  const name = raw && typeof raw === 'object' && typeof raw.name === 'string' ? raw.name : undefined;
  const n = read.problems.length;
  return { path, name, ...(n ? { problems: n } : {}) };
}

/** What the welcome screen says of the file given with -f. */
export async function readFileArg(path: string): Promise<NonNullable<WizardSnapshot['fileArg']>> {
  return fileSummary(await readCluster(path));
}

/** Where a new cluster file goes without -f: beside the progress (lab), else ./cluster.yaml when it is free. */
export function newClusterFilePath(name: string, lab: boolean, stateDir: string): string {
  if (lab) return join(stateDir, `${name}.cluster.yaml`);
  const plain = resolve('cluster.yaml');
  return existsSync(plain) ? resolve(`${name}.cluster.yaml`) : plain;
}
