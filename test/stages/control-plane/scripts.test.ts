// Every script the control-plane and workers stages (and the board reset) send to a board passes shellcheck, as
// sh and as bash; and the generated parts a user meets (progress lines, preflight findings, kubeconfig merge)
// behave as the steps rely on.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { redactTokens } from '../../../flows/control-plane/common.ts';
import { initFailureHint, initPhase } from '../../../flows/control-plane/init.ts';
import { KubeconfigConflictError, hasContext, mergeKubeconfig, removeFromKubeconfig } from '../../../flows/control-plane/merge-kubeconfig.ts';
import { preflightChecks } from '../../../flows/control-plane/preflight.ts';
import { imageProgress } from '../../../flows/control-plane/pull-images.ts';
import * as scripts from '../../../flows/control-plane/scripts.ts';
import { boardResetScript } from '../../../flows/reset/script.ts';
import { parseJoinCommand } from '../../../flows/workers/token.ts';

const ALL: Record<string, string> = {
  prepareDir: scripts.prepareDirScript(false),
  prepareDirWithPatches: scripts.prepareDirScript(true),
  images: scripts.imagesScript({ criSocket: 'unix:///var/run/crio/crio.sock', configPath: '/var/lib/boardkube/kubeadm/init.yaml', extraImages: ['ghcr.io/flannel-io/flannel:v0.28.10'] }),
  imagesCheck: scripts.imagesScript({ criSocket: 'unix:///var/run/crio/crio.sock', configPath: '/var/lib/boardkube/kubeadm/init.yaml', extraImages: [], check: true }),
  preflight: scripts.preflightScript('/var/lib/boardkube/kubeadm/init.yaml'),
  init: scripts.initScript('/var/lib/boardkube/kubeadm/init.yaml'),
  initialised: scripts.initialisedScript(),
  leftovers: scripts.leftoversScript(),
  catAdmin: scripts.catAdminConfScript(),
  tokenCreate: scripts.tokenCreateScript(30),
  join: scripts.joinScript('/var/lib/boardkube/kubeadm/join.yaml', 'unix:///var/run/crio/crio.sock'),
  joined: scripts.joinedScript(),
  resetCrio: boardResetScript({ criSocket: 'unix:///var/run/crio/crio.sock', service: 'crio' }),
  resetContainerd: boardResetScript({ criSocket: 'unix:///var/run/containerd/containerd.sock', service: 'containerd' }),
};

describe('shellcheck', () => {
  for (const [name, script] of Object.entries(ALL)) {
    for (const shell of ['sh', 'bash'] as const) {
      it(`${name} (${shell})`, () => {
        const r = spawnSync('shellcheck', ['-s', shell, '-'], { input: script, encoding: 'utf8' });
        expect(r.error).toBeUndefined();
        expect(r.stdout + r.stderr).toBe('');
        expect(r.status).toBe(0);
      });
    }
  }
});

describe('what the steps read from kubeadm', () => {
  it('preflight findings become checks with fixes; warnings pass', () => {
    const out = '[preflight] Running pre-flight checks\n\t[WARNING Hostname]: hostname "x" could not be reached\nerror execution phase preflight: [preflight] Some fatal errors occurred:\n\t[ERROR Port-6443]: Port 6443 is in use\n\t[ERROR Swap]: swap is on\n';
    const checks = preflightChecks(out, 1, 'n2-master', 'crio');
    expect(checks.filter((c) => !c.ok).map((c) => c.what)).toEqual(['kubeadm preflight on n2-master: [Port-6443] Port 6443 is in use', 'kubeadm preflight on n2-master: [Swap] swap is on']);
    expect(checks[0]!.fix).toMatch(/ss -ltnp 'sport = :6443'/);
    expect(checks.some((c) => c.ok && c.what.includes('[Hostname]'))).toBe(true);
    expect(preflightChecks('', 0, 'm', 'crio')).toEqual([{ ok: true, what: 'kubeadm preflight on m passed', fix: '' }]);
    expect(preflightChecks('boom', 1, 'm', 'crio')[0]!.ok).toBe(false);
  });

  it('init phases, image progress, failure hints, token redaction, the join command', () => {
    expect(initPhase('[certs] Generating "ca" certificate and key')).toBe(1);
    expect(initPhase('[addons] Applied essential addon: CoreDNS')).toBe(12);
    expect(initPhase('Your Kubernetes control-plane has initialized successfully!')).toBeUndefined();
    expect(imageProgress('image 2/9 pulling registry.k8s.io/etcd:3.6.5-0')).toEqual({ done: 1, total: 9, message: 'pulling registry.k8s.io/etcd:3.6.5-0' });
    expect(initFailureHint('[kubelet-check] The kubelet is not healthy after 4m0s', 'm', 'crio')).toMatch(/cgroup-driver mismatch/);
    expect(redactTokens('kubeadm join 1.2.3.4:6443 --token abcdef.0123456789abcdef x')).toBe('kubeadm join 1.2.3.4:6443 --token <token> x');
    const c = parseJoinCommand(`kubeadm join k8s.lan:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:${'a'.repeat(64)} \n`);
    expect(c).toEqual({ endpoint: 'k8s.lan:6443', token: 'abcdef.0123456789abcdef', caCertHash: `sha256:${'a'.repeat(64)}` });
    expect(() => parseJoinCommand('nothing')).toThrow(/printed no join command/);
  });
});

describe('merging the admin kubeconfig into the user\'s', () => {
  const admin = (server: string) => `apiVersion: v1\nkind: Config\nclusters:\n- name: homelab\n  cluster:\n    server: ${server}\n    certificate-authority-data: Q0E=\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\ncontexts:\n- name: kubernetes-admin@homelab\n  context:\n    cluster: homelab\n    user: kubernetes-admin\ncurrent-context: kubernetes-admin@homelab\n`;
  const mine = 'apiVersion: v1\nkind: Config\nclusters:\n- name: work\n  cluster:\n    server: https://work:6443\nusers:\n- name: me\n  user:\n    token: t\ncontexts:\n- name: work\n  context:\n    cluster: work\n    user: me\ncurrent-context: work\n';

  it('adds the context next to the user\'s, keeps their current context, replaces only its own entries', () => {
    const r = mergeKubeconfig(mine, admin('https://10.0.0.1:6443'), 'homelab');
    expect(r.changed).toBe(true);
    expect(r.text).toContain('current-context: work');
    expect(r.text).toContain('name: work');
    expect(hasContext(r.text, 'homelab', 'https://10.0.0.1:6443')).toBe(true);
    const again = mergeKubeconfig(r.text, admin('https://10.0.0.1:6443'), 'homelab');
    expect(again.changed).toBe(false);
    const moved = mergeKubeconfig(r.text, admin('https://10.0.0.2:6443'), 'homelab');
    expect(hasContext(moved.text, 'homelab', 'https://10.0.0.2:6443')).toBe(true);
    const removed = removeFromKubeconfig(moved.text, 'homelab');
    expect(removed.text).not.toContain('homelab');
    expect(removed.text).toContain('current-context: work');
    expect(mergeKubeconfig(undefined, admin('https://x:6443'), 'homelab').text).toContain('current-context: homelab');
  });

  it('never overwrites another cluster\'s context of the same name', () => {
    const other = mine.replaceAll('work', 'homelab');
    expect(() => mergeKubeconfig(other, admin('https://10.0.0.1:6443'), 'homelab')).toThrow(KubeconfigConflictError);
    expect(removeFromKubeconfig(other, 'homelab').changed).toBe(false);
  });
});
