// The practice lab's answers to the ttl stage's feature-gate scripts (flows/ttl/gate-scripts.ts): the master
// takes the new kubeadm config once its control plane "came back", or rolls back under the fault
// gate-breaks-apiserver (the API server exits at once, as with a removed or misspelled gate); each node's kubelet
// takes the gates the master uploaded. Durations are realistic at BOARDKUBE_LAB_SPEED=1.
import { parseAllDocuments } from 'yaml';
import type { LabBoardData } from '../board.ts';
import { registerLabCommands } from '../commands.ts';
import { issue } from '../../util/x509.ts';

const INIT_CONFIG = '/var/lib/boardkube/kubeadm/init.yaml';
const GATES_CONFIG = '/var/lib/boardkube/kubeadm/init-gates.yaml';

function kubeletGates(text: string | undefined): Record<string, boolean> {
  for (const d of parseAllDocuments(text ?? '')) {
    const o = d.toJSON() as { kind?: string; featureGates?: Record<string, boolean> } | null;
    if (o?.kind === 'KubeletConfiguration') return o.featureGates ?? {};
  }
  return {};
}

registerLabCommands([
  {
    name: 'feature gates on the control plane (kubeadm init phase control-plane all, wait, or roll back)',
    match: /kubeadm init phase control-plane all --config "\$new"/,
    run: (b: LabBoardData) => {
      const next = b.files[GATES_CONFIG];
      if (next === undefined) return { code: 1, stderr: `failed to load config from file: open ${GATES_CONFIG}: no such file or directory`, ms: 200 };
      if (b.faults.includes('gate-breaks-apiserver')) {
        return {
          code: 3,
          stdout: [
            'rolled back: a control-plane component did not come back with its new --feature-gates; the manifests of before are back',
            'CONTAINER      IMAGE          CREATED          STATE     NAME             ATTEMPT',
            '3f9c2a1b7d4e   kube-apiserver 20 seconds ago   Exited    kube-apiserver   5',
            'E1201 run.go:72] "command failed" err="unrecognized feature gate (practice-lab fault gate-breaks-apiserver)"',
          ].join('\n'),
          ms: 300_000,
        };
      }
      b.files[INIT_CONFIG] = next;
      delete b.files[GATES_CONFIG];
      b.facts.kubeletConfigMapGates = kubeletGates(next);
      return { stdout: 'control plane up with the new feature gates', ms: 60_000 };
    },
  },
  {
    name: "feature gates on a node's kubelet (kubeadm upgrade node phase kubelet-config, restart)",
    match: /kubeadm upgrade node phase kubelet-config/,
    run: (b, _m, _s, all) => {
      const master = all.find((x) => x.facts.kubeadm === 'master');
      const gates = (master?.facts.kubeletConfigMapGates ?? {}) as Record<string, boolean>;
      b.facts.kubeletGates = gates;
      return { stdout: 'kubelet up with the new feature gates', ms: 15_000 };
    },
  },
  {
    name: 'the kubelet-config ConfigMap put back (kubeadm init phase upload-config kubelet)',
    match: /^set -eu\nkubeadm init phase upload-config kubelet --config \S+before-gates\/init\.yaml/,
    run: (b) => {
      b.facts.kubeletConfigMapGates = kubeletGates(b.files[INIT_CONFIG]);
      return { ms: 2000 };
    },
  },
]);

// The webhook stage on a cluster boardkube built: its serving certificate signed "with the cluster CA on the
// master" (flows/webhook/certificate.ts). The lab's cluster CA is no real certificate, so the simulator signs
// with a CA of its own made for this answer (real X.509, checked like the real one) and prints that as ca.crt.
registerLabCommands([
  {
    name: 'webhook serving certificate signed on the master (openssl x509 -req -CA ca.crt)',
    match: /-----boardkube-key-follows-----[\s\S]*-----boardkube-ca-follows-----/,
    run: (_b, _m, script) => {
      const sans = /^sans='([^']*)'$/m.exec(script)?.[1] ?? '';
      const names = sans.split(',').map((s) => s.replace(/^(DNS|IP):/, '')).filter(Boolean);
      const days = Number(/-days (\d+)/.exec(script)?.[1] ?? '365');
      const ca = issue({ commonName: 'kubernetes', days: 3650, ca: true });
      const leaf = issue({ commonName: names[0] ?? 'webhook', days, altNames: names, issuer: { certCommonName: 'kubernetes', key: ca.keyPem } });
      return {
        stdout: `certificate: new\nexpires: ${leaf.notAfter.toUTCString()}\n${leaf.certPem}-----boardkube-key-follows-----\n${leaf.keyPem}-----boardkube-ca-follows-----\n${ca.certPem}`,
        ms: 1500,
      };
    },
  },
]);
