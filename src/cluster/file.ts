// Reading and writing cluster.yaml. The inventory screen and `boardkube init` write the same file a trainer
// prepares by hand; the CLI and the wizard read it with the same reader (readClusterFile), so both say the same.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isNode, isSeq, LineCounter, parseDocument, stringify, type Document, type Node } from 'yaml';
import { fieldLines, lineOfField, yamlErrorText } from '../util/yaml-lines.ts';
import { BOARDS } from '../boards/index.ts';
import { supportedVersionsText } from '../catalog/versions.ts';
import { InvalidClusterError, validateCluster, type Problem, type ValidateOptions } from './validate.ts';
import type { ClusterSpec } from './spec.ts';

/** A problem of the file, with the line it is on (1-based) when the file has that field. */
export type FileProblem = Problem & { line?: number };

/** What a cluster file holds, valid or not. */
export interface ClusterFileRead {
  /** The full path. */
  path: string;
  exists: boolean;
  /** The file's text as read; undefined when it does not exist or cannot be read. */
  text?: string;
  /** The parsed YAML; undefined when there is no file or it could not be parsed. */
  raw?: unknown;
  /** Set when the file exists but could not be read or parsed: nothing may write over it. */
  unreadable?: FileProblem;
  /** The cluster, when the file is valid. */
  spec?: ClusterSpec;
  /** Every problem (the unreadable one included), with its line. */
  problems: FileProblem[];
  /** The line of each field the file has ("nodes[1].address" → 14), as validateCluster names fields. */
  lines: Record<string, number>;
}

/** Reads a cluster file without throwing: its values as written, every problem with its line, the spec when valid. */
export function readClusterFile(path: string, opts?: ValidateOptions): ClusterFileRead {
  const full = resolve(path);
  if (!existsSync(full)) {
    return { path: full, exists: false, problems: [{ field: '-f', message: `${path} does not exist`, fix: `create one with \`boardkube init -f ${path}\`` }], lines: {} };
  }
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const unreadable: FileProblem = {
      field: '(file)',
      message: code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code ?? (e as Error).message})`,
      fix: code === 'EISDIR' ? 'name the cluster file itself' : "check the file's owner and mode",
    };
    return { path: full, exists: true, unreadable, problems: [unreadable], lines: {} };
  }
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const { message, line } = yamlErrorText(doc.errors[0]!);
    const unreadable: FileProblem = { field: '(file)', message, fix: 'correct the line named, or start again from `boardkube init`', ...(line ? { line } : {}) };
    return { path: full, exists: true, text, unreadable, problems: [unreadable], lines: {} };
  }
  const raw = doc.toJS() as unknown;
  const lines = fieldLines(doc, counter);
  const { spec, problems } = validateCluster(raw, { baseDir: dirname(full), ...opts });
  const withLines = problems.map((p) => {
    const line = lineOfField(p.field, lines);
    return line === undefined ? p : { ...p, line };
  });
  return { path: full, exists: true, text, raw, ...(spec ? { spec } : {}), problems: withLines, lines };
}

export function loadClusterFile(path: string, opts?: ValidateOptions): ClusterSpec {
  const read = readClusterFile(path, opts);
  if (!read.exists) throw new InvalidClusterError(read.problems);
  if (!read.spec) throw new InvalidClusterError(read.problems, path);
  return read.spec;
}

/** The cluster file as YAML with comments that help a trainer edit it by hand. */
export function clusterYaml(spec: ClusterSpec): string {
  const body = stringify(spec, { lineWidth: 0 });
  return [
    '# boardkube cluster file. Edit it, then: boardkube plan -f THIS_FILE',
    `# board: one of ${BOARDS.map((b) => b.id).join(', ')}`,
    `# kubernetesVersion: one of ${supportedVersionsText()}`,
    '# kubernetes.runtime: cri-o (default) or containerd, at the version the catalogue pins for that minor',
    '# network.lan: the boards\' network; podSubnet and serviceSubnet must not overlap it or each other',
    '# ssh.keyPath: your private key; its .pub goes onto every card',
    '# nodes: exactly one control-plane (the master), the rest workers',
    body,
  ].join('\n');
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `value` put into `node` of `doc` in place: only what differs is replaced, and replaced nodes keep their comments. */
function merge(doc: Document, node: unknown, value: unknown): unknown {
  if (isMap(node) && isPlain(value)) {
    for (const pair of [...node.items]) {
      const key = isNode(pair.key) ? String((pair.key as { value?: unknown }).value) : String(pair.key);
      if (!(key in value)) node.delete(key);
    }
    for (const [key, v] of Object.entries(value)) {
      if (v === undefined) continue;
      node.set(key, merge(doc, node.get(key, true), v));
    }
    return node;
  }
  if (isSeq(node) && Array.isArray(value)) {
    node.items = value.map((v, i) => merge(doc, node.items[i], v));
    return node;
  }
  const old = isNode(node) ? (node as Node) : undefined;
  if (old && JSON.stringify(old.toJSON()) === JSON.stringify(value)) return old;
  const fresh = doc.createNode(value);
  if (old?.commentBefore) fresh.commentBefore = old.commentBefore;
  if (old?.comment) fresh.comment = old.comment;
  return fresh;
}

/**
 * The new text of a file that held `old`: the user's document with only the values that changed replaced, so
 * their comments and layout stay; a fresh commented file when the old one is not a readable mapping.
 */
function updatedYaml(old: string | undefined, spec: ClusterSpec): string {
  if (old === undefined) return clusterYaml(spec);
  const doc = parseDocument(old);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return clusterYaml(spec);
  merge(doc, doc.contents, spec);
  return doc.toString({ lineWidth: 0 });
}

export interface WrittenClusterFile {
  path: string;
  /** Where the previous version of the file was kept (PATH.bak), when there was one that differed. */
  backup?: string;
}

/**
 * Writes the cluster file. Over an existing file it keeps the user's comments where it can, and keeps the
 * previous version beside it as PATH.bak first: nothing the user wrote is lost.
 */
export function writeClusterFile(path: string, spec: ClusterSpec, o: { fresh?: boolean } = {}): WrittenClusterFile {
  const full = resolve(path);
  mkdirSync(dirname(full), { recursive: true });
  const exists = existsSync(full);
  const old = exists ? readFileSync(full, 'utf8') : undefined;
  // fresh: a new commented file (init --force), the old one still kept as .bak.
  const text = o.fresh ? clusterYaml(spec) : updatedYaml(old, spec);
  if (old === text) return { path: full };
  let backup: string | undefined;
  const mode = exists ? statSync(full).mode & 0o777 : 0o644;
  if (exists) {
    backup = `${full}.bak`;
    copyFileSync(full, backup);
  }
  const tmp = `${full}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, full);
  return { path: full, ...(backup ? { backup } : {}) };
}
