// The read-only stage through the built command with the real ports: `boardkube apply --stage readonly
// --kubeconfig ADMIN` against the real kube-apiserver (test/harness/controlplane.ts). The kubeconfig it writes is
// 0600 and works with the real kubectl: it may read, it may not write or read secrets; its token is in no file of
// the state folder and not in the command's output.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { writeClusterFile } from '../../../src/cluster/file.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { boardkubeCommand, runAsync } from '../../e2e/common.ts';
import { startControlPlane, type ControlPlane } from '../../harness/controlplane.ts';

const execFileP = promisify(execFile);

let cp: ControlPlane;
let dir: string;

async function canI(kubeconfig: string, ...args: string[]): Promise<string> {
  const r = await execFileP(path.join(cp.binDir, 'kubectl'), ['--kubeconfig', kubeconfig, 'auth', 'can-i', ...args], { timeout: 30_000 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  return r.stdout.trim();
}

beforeAll(async () => {
  cp = await startControlPlane();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-readonly-cli-'));
}, 600_000);

afterAll(async () => {
  await cp?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('boardkube apply --stage readonly --kubeconfig (built command, real apiserver)', () => {
  it('writes a 0600 read-only kubeconfig that the real kubectl can read with and not write with; the token is nowhere else', async () => {
    const file = path.join(dir, 'cluster.yaml');
    const key = path.join(dir, 'id_ed25519');
    await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    writeClusterFile(file, defaultCluster(key));
    const out = path.join(dir, 'viewer.kubeconfig');
    const stateDir = path.join(dir, 'state');
    const cmd = boardkubeCommand();
    const r = await runAsync([...cmd, 'apply', '-f', file, '--stage', 'readonly', '--kubeconfig', cp.kubeconfigPath, '--set', `kubeconfig-out=${out}`, '--yes'], { BOARDKUBE_STATE_DIR: stateDir });
    expect(r.code, r.out).toBe(0);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const token = (parse(fs.readFileSync(out, 'utf8')) as { users: Array<{ user: { token?: string } }> }).users[0]!.user.token;
    expect(token && token.length > 20).toBe(true);
    expect(await canI(out, 'list', 'pods', '--all-namespaces')).toBe('yes');
    expect(await canI(out, 'create', 'deployments', '-n', 'default')).toBe('no');
    expect(await canI(out, 'get', 'secrets', '-n', 'kube-system')).toBe('no');
    expect(r.out).not.toContain(token!);
    for (const e of fs.readdirSync(stateDir, { withFileTypes: true, recursive: true })) {
      if (e.isFile()) expect(fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'), e.name).not.toContain(token!);
    }
  }, 300_000);
});
