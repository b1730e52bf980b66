// After each stage, its report says what the user now has and what to do next, from the saved outputs of the
// steps that finished: nothing is claimed for a step that did not run.
import { describe, expect, it } from 'vitest';
import { STAGES } from '../flows/index.ts';
import { findBoard } from '../src/boards/index.ts';
import { defaultCluster } from '../src/cluster/spec.ts';
import type { Outputs, StageId } from '../src/engine/types.ts';

const cluster = defaultCluster('/k');
const board = findBoard(cluster.board)!;
const report = (id: StageId, outputs: Record<string, Outputs>) =>
  STAGES.find((s) => s.id === id)!.report!({ cluster, board, outputOf: (step, node) => outputs[`${step}@${node ?? '-'}`] });

describe('stage reports', () => {
  it('flash: the cards written, and the board\'s first-boot instructions', () => {
    const r = report('flash', { 'verify@n2-worker1': { device: '/dev/sdb', model: 'SD reader' } });
    expect(r.have).toEqual(['n2-worker1: card /dev/sdb (SD reader) flashed and read back: ODROID-N2, address 192.168.1.41, your SSH key']);
    expect(r.next[0]).toMatch(/boot-select switch .* "MMC"/);
    expect(r.next.at(-1)).toMatch(/^Cards still to flash: n2-master, n2-worker2, n2-worker3, n2-worker4/);
  });

  it('configure: per board only what its finished steps say', () => {
    const r = report('configure', { 'connect@n2-master': { kernel: '4.9.337' }, 'kernel@n2-master': { kernel: '6.12.1-1-aarch64', cgroup: 'cgroup2fs' } });
    expect(r.have).toEqual(['n2-master (192.168.1.40): reached over SSH, host key pinned, kernel 6.12.1-1-aarch64 (cgroup2fs)']);
    expect(r.next).toEqual([]);
  });

  it('control-plane: the master and the admin kubeconfig, and how to try it', () => {
    expect(report('control-plane', {}).have).toEqual([]);
    const r = report('control-plane', { 'init@n2-master': {}, 'ready@n2-master': {}, 'admin-kubeconfig@n2-master': { kubeconfig: '/home/u/.kube/config', context: 'homelab' } });
    expect(r.have).toEqual([`n2-master (192.168.1.40): the control plane of Kubernetes ${cluster.kubernetesVersion}, Ready, with the pod network`, 'The admin kubeconfig: /home/u/.kube/config (context homelab)']);
    expect(r.next).toEqual(['Try it: kubectl --kubeconfig /home/u/.kube/config --context homelab get nodes']);
  });

  it('workers: who joined and who is still to join', () => {
    const r = report('workers', { 'join@n2-worker1': {}, 'join@n2-worker2': {} });
    expect(r.have).toHaveLength(2);
    expect(r.next).toEqual(['Still to join: n2-worker3, n2-worker4 (run the stage again)']);
  });

  it('readonly: the kubeconfig, the proof table, and how to use and revoke it', () => {
    const rows = [{ check: 'list pods', how: 'SelfSubjectAccessReview', expected: 'allowed', actual: 'allowed', ok: true, detail: '' }];
    const r = report('readonly', { 'write-kubeconfig@-': { path: '/s/ro.kubeconfig', context: 'ro', revoke: 'kubectl delete sa ro' }, 'prove@-': { rows } });
    expect(r.have[0]).toBe('A read-only kubeconfig: /s/ro.kubeconfig (mode 0600, context ro)');
    expect(r.have.join('\n')).toMatch(/list pods\s+SelfSubjectAccessReview\s+allowed\s+allowed\s+ok/);
    expect(r.next).toEqual(['Try it: kubectl --kubeconfig /s/ro.kubeconfig get pods -A', 'To take the access away: kubectl delete sa ro']);
  });

  it('registry: where it is, the proof per node as a table (a node not proven says so), how to push and trust it', () => {
    expect(report('registry', { 'certificate@-': { expiresAt: '2027-12-01T00:00:00.000Z' } }).have).toEqual([]);
    const hp = '192.168.1.40:30500';
    const proven = (n: string) => ({ answer: '401', caPath: `/etc/containers/certs.d/${hp}/ca.crt`, node: n });
    const r = report('registry', {
      'certificate@-': { expiresAt: '2027-12-01T00:00:00.000Z', hostPort: hp },
      'credentials@-': { passwordFile: '/s/registry.password', user: 'boardkube' },
      'deploy@-': { hostPort: hp, image: 'docker.io/library/registry:3' },
      'prove@n2-master': proven('n2-master'),
      'prove@n2-worker1': proven('n2-worker1'),
    });
    const text = r.have.join('\n');
    expect(text).toContain(`images are named ${hp}/NAME:TAG`);
    expect(text).toContain('expires 2027-12-01');
    expect(text).toMatch(/n2-worker1 +\/etc\/containers\/certs\.d\/192\.168\.1\.40:30500\/ca\.crt +401 over TLS/);
    expect(text).toMatch(/n2-worker2 +not proven yet/);
    expect(r.next[0]).toBe(`push from this computer: crane auth login ${hp} -u boardkube --password-stdin < /s/registry.password`);
    expect(r.next[1]).toMatch(/update-ca-certificates/);
  });
});
