// What the ttl and webhook stage tests share: the built CLI in a child process, a cluster file with a real
// key, and a stand-in for the kubelet (the test control plane has none: no node can run a pod).
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import * as os from 'node:os';
import { afterAll, beforeAll } from 'vitest';
import { apiRequest, startControlPlane, type ControlPlane } from '../../harness/controlplane.ts';

const root = path.resolve(import.meta.dirname, '../../..');
export const BIN = path.join(root, 'bin/boardkube.js');

/** Builds bin/boardkube.js once per test run when it is missing: tests run what ships. */
export function ensureBuilt(): void {
  if (!fs.existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
}

/** A cluster file (the default cluster) with a real key file, in `dir`. */
export function clusterFile(dir: string): string {
  const file = path.join(dir, 'cluster.yaml');
  const key = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  execFileSync(process.execPath, [BIN, 'init', '-f', file]);
  const spec = parse(fs.readFileSync(file, 'utf8'));
  spec.ssh.keyPath = key;
  fs.writeFileSync(file, stringify(spec));
  return file;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI without blocking the event loop (a stand-in kubelet may run beside it). */
export function boardkube(args: string[], env: Record<string, string> = {}, timeoutMs = 240_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface PodLike {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  status?: { phase?: string };
}

/**
 * STAND-IN for the kubelet (there is no node here): every pod of a Job in `namespace` is reported as run
 * and exited 0 (pods/status, as a kubelet writes it). The real Job controller then marks the Job Complete
 * and the real ttl-after-finished controller deletes it. Returns a stop function.
 */
export function standInKubelet(cp: ControlPlane, namespace: string): { stop(): Promise<void>; finished: string[] } {
  let running = true;
  const finished: string[] = [];
  const loop = (async () => {
    while (running) {
      const r = await apiRequest(cp, 'GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=batch.kubernetes.io/job-name`).catch(() => undefined);
      for (const pod of ((r?.json as { items?: PodLike[] } | undefined)?.items ?? [])) {
        if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
        const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        const body = {
          ...pod,
          apiVersion: 'v1',
          kind: 'Pod',
          status: {
            phase: 'Succeeded',
            startTime: now,
            conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: now }],
            containerStatuses: [
              {
                name: 'finish',
                image: 'stand-in',
                imageID: '',
                ready: false,
                restartCount: 0,
                started: false,
                state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } },
              },
            ],
          },
        };
        const put = await apiRequest(cp, 'PUT', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/status`, body).catch(() => undefined);
        if (put?.status === 200) finished.push(pod.metadata.name);
      }
      await new Promise((res) => setTimeout(res, 300));
    }
  })();
  return {
    finished,
    async stop() {
      running = false;
      await loop;
    },
  };
}

export function writeYaml(file: string, value: unknown): void {
  fs.writeFileSync(file, stringify(value));
}

export interface RealClusterSuite {
  tmp: string;
  cp: ControlPlane;
  /** The cluster file (default cluster, real key). */
  file: string;
  /** BOARDKUBE_STATE_DIR for the CLI. */
  env: Record<string, string>;
}

/** One real control plane, a temp dir and a cluster file for a test file; filled in beforeAll, gone afterAll. */
export function realClusterSuite(prefix: string): RealClusterSuite {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const s: RealClusterSuite = { tmp, env: { BOARDKUBE_STATE_DIR: path.join(tmp, 'state') }, file: '', cp: undefined as unknown as ControlPlane };
  beforeAll(async () => {
    ensureBuilt();
    s.file = clusterFile(tmp);
    s.cp = await startControlPlane();
  }, 900_000);
  afterAll(async () => {
    await s.cp?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);
  return s;
}
