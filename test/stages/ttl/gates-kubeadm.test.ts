// Feature gates the ttl stage accepts, written into the control-plane stage's kubeadm config: checked by the real
// `kubeadm config validate`, turned into static-pod manifests by the real `kubeadm init phase control-plane all
// --dry-run` (into a temp folder, KUBEADM_INIT_DRYRUN_DIR), and the flags of those manifests accepted by the
// real components (`--feature-gates=... --version`).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterInitConfig } from '../../../flows/control-plane/settings.ts';
import { parseGates } from '../../../flows/ttl/index.ts';
import { findRelease } from '../../../src/catalog/versions.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { testbinDir } from '../../harness/controlplane.ts';

const execFileP = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-gates-kubeadm-'));
let bin: string;
beforeAll(async () => {
  bin = await testbinDir();
}, 900_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const GATES = 'MemoryQoS=false,PodDeletionCost=false,SchedulerAsyncPreemption=false,MaxUnavailableStatefulSet=false';

describe('feature gates in the kubeadm config', () => {
  it('land in extraArgs of the components that read them and in KubeletConfiguration.featureGates; kubeadm validates the file', async () => {
    const release = findRelease('1.37')!;
    const text = masterInitConfig(defaultCluster(), release, parseGates(GATES, release.minor));
    const docs = new Map(parseAllDocuments(text).map((d) => { const o = d.toJSON() as { kind: string }; return [o.kind, o as Record<string, unknown>]; }));
    const cc = docs.get('ClusterConfiguration') as { apiServer: { extraArgs: unknown }; controllerManager: { extraArgs: unknown }; scheduler: { extraArgs: unknown } };
    expect(cc.apiServer.extraArgs).toEqual([{ name: 'feature-gates', value: 'PodDeletionCost=false,MaxUnavailableStatefulSet=false' }]);
    expect(cc.controllerManager.extraArgs).toEqual([{ name: 'feature-gates', value: 'PodDeletionCost=false,MaxUnavailableStatefulSet=false' }]);
    expect(cc.scheduler.extraArgs).toEqual([{ name: 'feature-gates', value: 'SchedulerAsyncPreemption=false' }]);
    expect(docs.get('KubeletConfiguration')?.featureGates).toEqual({ MemoryQoS: false });
    const file = path.join(tmp, 'init.yaml');
    fs.writeFileSync(file, text);
    await execFileP(path.join(bin, 'kubeadm'), ['config', 'validate', '--config', file]);

    // The real kubeadm writes the static pods from it (dry run, into tmp), and the real components take their flags.
    const spec = parse(fs.readFileSync(file, 'utf8').split('---\n')[1]!) as Record<string, unknown>;
    expect(spec.kind).toBe('ClusterConfiguration');
    const dry = path.join(tmp, 'manifests');
    fs.mkdirSync(dry);
    const cfg = path.join(tmp, 'init-local.yaml');
    fs.writeFileSync(cfg, text.replace(/kind: ClusterConfiguration\n/, `kind: ClusterConfiguration\ncertificatesDir: ${path.join(tmp, 'pki')}\n`));
    await execFileP(path.join(bin, 'kubeadm'), ['init', 'phase', 'control-plane', 'all', '--config', cfg, '--dry-run'], { env: { ...process.env, KUBEADM_INIT_DRYRUN_DIR: dry } });
    for (const component of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      const pod = parse(fs.readFileSync(path.join(dry, `${component}.yaml`), 'utf8')) as { spec: { containers: Array<{ command: string[] }> } };
      const flag = pod.spec.containers[0]!.command.find((c) => c.startsWith('--feature-gates='));
      expect(flag, `${component} manifest`).toBeDefined();
      const r = await execFileP(path.join(bin, component), [flag!, '--version']);
      expect(r.stdout).toContain('Kubernetes v1.37');
    }
  }, 300_000);

  it('a removed gate never gets this far: refused while parsing', () => {
    expect(() => parseGates('TTLAfterFinished=true', '1.37')).toThrow(/removed in 1\.25: the apiserver would not start/);
  });
});
