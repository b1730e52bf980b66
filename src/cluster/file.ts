// Reading and writing cluster.yaml. The inventory screen and `boardkube init` write the same file a trainer
// prepares by hand.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { BOARDS } from '../boards/index.ts';
import { supportedVersionsText } from '../catalog/versions.ts';
import { InvalidClusterError, validateCluster, type ValidateOptions } from './validate.ts';
import type { ClusterSpec } from './spec.ts';

export function loadClusterFile(path: string, opts?: ValidateOptions): ClusterSpec {
  const full = resolve(path);
  if (!existsSync(full)) {
    throw new InvalidClusterError([{ field: '-f', message: `${path} does not exist`, fix: 'create one with `boardkube init -f ' + path + '`' }]);
  }
  let raw: unknown;
  try {
    raw = parse(readFileSync(full, 'utf8'));
  } catch (e) {
    throw new InvalidClusterError([{ field: '(file)', message: `is not valid YAML: ${(e as Error).message.split('\n')[0]}`, fix: 'correct the line named, or start again from `boardkube init`' }], path);
  }
  const { spec, problems } = validateCluster(raw, opts);
  if (!spec) throw new InvalidClusterError(problems, path);
  return spec;
}

/** The cluster file as YAML with comments that help a trainer edit it by hand. */
export function clusterYaml(spec: ClusterSpec): string {
  const body = stringify(spec, { lineWidth: 0 });
  return [
    '# boardkube cluster file. Edit it, then: boardkube plan -f THIS_FILE',
    `# board: one of ${BOARDS.map((b) => b.id).join(', ')}`,
    `# kubernetesVersion: one of ${supportedVersionsText()}`,
    '# network.lan: the boards\' network; podSubnet and serviceSubnet must not overlap it or each other',
    '# ssh.keyPath: your private key; its .pub goes onto every card',
    '# nodes: exactly one control-plane (the master), the rest workers',
    body,
  ].join('\n');
}

export function writeClusterFile(path: string, spec: ClusterSpec): void {
  const full = resolve(path);
  mkdirSync(dirname(full), { recursive: true });
  const tmp = `${full}.tmp-${process.pid}`;
  writeFileSync(tmp, clusterYaml(spec), { mode: 0o644 });
  renameSync(tmp, full);
}
