// The binaries and images a harness node runs, from test/testbin/build-cluster.sh (instant when cached; a cold build
// takes many minutes: `npm run testbin` first).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../testbin/build-cluster.sh');

export interface ClusterImage {
  /** The reference the runtime knows it by, e.g. registry.k8s.io/kube-apiserver:v1.37.2. */
  ref: string;
  /** docker-archive tar for `ctr -n k8s.io images import`. */
  tar: string;
}

export interface ClusterTestbin {
  /** Folder of each component: k8s, containerd, runc, crictl, coredns, etcd, flannel, cni-flannel, pause, images. */
  dirs: Record<string, string>;
  images: ClusterImage[];
  /** Executables every node has on its PATH (name -> file). */
  nodeBinaries: Record<string, string>;
  /** The flannel CNI plugin binary (the flannel-cni-plugin image installs the same file). */
  cniFlannel: string;
}

let cached: Promise<ClusterTestbin> | undefined;

export function clusterTestbin(): Promise<ClusterTestbin> {
  cached ??= build();
  cached.catch(() => (cached = undefined));
  return cached;
}

async function build(): Promise<ClusterTestbin> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${SCRIPT} failed (exit ${code}); run \`npm run testbin\` to see why`)),
    );
  });
  const dirs: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^([a-z0-9-]+)=(\/.+)$/.exec(line.trim());
    if (m) dirs[m[1]!] = m[2]!;
  }
  const need = ['k8s', 'containerd', 'runc', 'crictl', 'cni-flannel', 'images'];
  const missing = need.filter((k) => !dirs[k]);
  if (missing.length > 0) throw new Error(`${SCRIPT} printed no folder for ${missing.join(', ')}:\n${out}`);
  const images = fs
    .readFileSync(path.join(dirs.images!, 'images.tsv'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [ref, file] = line.split('\t');
      return { ref: ref!, tar: path.join(dirs.images!, file!) };
    });
  const nodeBinaries: Record<string, string> = {};
  const add = (dir: string, names: string[]) => {
    for (const n of names) nodeBinaries[n] = path.join(dir, n);
  };
  add(dirs.k8s!, ['kubeadm', 'kubelet', 'kubectl']);
  add(dirs.containerd!, ['containerd', 'containerd-shim-runc-v2', 'ctr']);
  add(dirs.runc!, ['runc']);
  add(dirs.crictl!, ['crictl']);
  for (const [name, file] of Object.entries(nodeBinaries)) {
    if (!fs.existsSync(file)) throw new Error(`${file} (${name}) is missing: run \`npm run testbin\``);
  }
  return { dirs, images, nodeBinaries, cniFlannel: path.join(dirs['cni-flannel']!, 'flannel') };
}
