// The cluster file on disk: what the file given with -f holds, a draft read from a file that may not be valid,
// and where the inventory writes a new one. The YAML reader is imported on first use (start-up stays light).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Draft, WizardSnapshot } from './store.ts';
import { draftFromRaw } from './draft.ts';

async function readYamlFile(path: string): Promise<unknown> {
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  return parse(readFileSync(path, 'utf8'));
}

/** What the welcome screen says of the file given with -f: the cluster it names, or why it names none. */
export async function readFileArg(path: string): Promise<NonNullable<WizardSnapshot['fileArg']>> {
  if (!existsSync(path)) return { path, error: 'does not exist yet: the inventory will write it' };
  try {
    const raw = (await readYamlFile(path)) as { name?: unknown } | null;
    const name = raw && typeof raw.name === 'string' ? raw.name : undefined;
    return { path, name };
  } catch (e) {
    return { path, error: `is not valid YAML: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** A draft of what the file holds, valid or not; `base` fills in what it lacks or all of it when unreadable. */
export async function readDraftFile(file: string, base: Draft): Promise<Draft> {
  let raw: Record<string, unknown> = {};
  try {
    raw = ((await readYamlFile(file)) as Record<string, unknown>) ?? {};
  } catch {
    /* the problems list says it */
  }
  return draftFromRaw(raw, base);
}

/** Where a new cluster file goes without -f: beside the progress (lab), else ./cluster.yaml when it is free. */
export function newClusterFilePath(name: string, lab: boolean, stateDir: string): string {
  if (lab) return join(stateDir, `${name}.cluster.yaml`);
  const plain = resolve('cluster.yaml');
  return existsSync(plain) ? resolve(`${name}.cluster.yaml`) : plain;
}
