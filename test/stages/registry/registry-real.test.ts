// The registry stage's pieces against real components: the certificate script run by a real shell against a CA
// made by the real `kubeadm init phase certs`, the real registry (distribution v3) started with the stage's own
// settings, the real crane pushing and pulling through htpasswd auth and the CA, and the stage's objects applied
// to the real kube-apiserver.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCertificateScript } from '../../../flows/registry/certificate-script.ts';
import { caReadableScript } from '../../../flows/registry/check.ts';
import { htpasswdLine } from '../../../flows/registry/deploy.ts';
import { htpasswdSecret, pullSecret, registryEnv, registryManifests, tlsSecret } from '../../../flows/registry/manifests.ts';
import { loadCluster } from '../../../src/adapters/kube/cluster.ts';
import { REGISTRY_IMAGE } from '../../../src/catalog/images.ts';
import { startControlPlane, testbinDir, type ControlPlane } from '../../harness/controlplane.ts';
import { registryBinDir, startRegistry, type RunningRegistry } from '../../harness/registry.ts';

const run = promisify(execFile);
const PASSWORD = 'Known-Registry-Password-4711';

let dir: string;
let pki: string;
let certDir: string;
let bins: string;
let registry: RunningRegistry;

async function crane(args: string[], env: Record<string, string>, stdin?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(path.join(bins, 'crane'), args, { env: { PATH: process.env.PATH, HOME: dir, DOCKER_CONFIG: path.join(dir, 'docker'), ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-registry-'));
  pki = path.join(dir, 'pki');
  certDir = path.join(dir, 'registry');
  const kubeadm = path.join(await testbinDir(), 'kubeadm');
  // The cluster CA exactly as kubeadm makes it on a master.
  await run(kubeadm, ['init', 'phase', 'certs', 'ca', '--cert-dir', pki]);
  bins = await registryBinDir();
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the certificate script', () => {
  const input = () => ({ pkiDir: pki, outDir: certDir, dnsNames: ['n2-master', 'registry.boardkube-registry.svc'], ipAddresses: ['127.0.0.1'], days: 365, renewWithinDays: 30 });

  it('passes shellcheck', () => {
    const f = path.join(dir, 'sign.sh');
    fs.writeFileSync(f, `#!/bin/sh\n${signCertificateScript(input())}`);
    execFileSync('shellcheck', ['-s', 'sh', f]);
  });

  it('signs a serving certificate with the cluster CA, then keeps it on a re-run', () => {
    const first = execFileSync('sh', ['-c', signCertificateScript(input())], { encoding: 'utf8' });
    expect(first).toMatch(/^certificate: new$/m);
    expect(first).toMatch(/^expires: /m);
    const text = execFileSync('openssl', ['x509', '-in', path.join(certDir, 'tls.crt'), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toMatch(/DNS:n2-master, DNS:registry\.boardkube-registry\.svc, IP Address:127\.0\.0\.1/);
    expect(text).toMatch(/TLS Web Server Authentication/);
    expect(execFileSync('openssl', ['verify', '-CAfile', path.join(pki, 'ca.crt'), path.join(certDir, 'tls.crt')], { encoding: 'utf8' })).toMatch(/OK/);
    expect(fs.statSync(path.join(certDir, 'tls.key')).mode & 0o777).toBe(0o600);
    // The CA's key is read, never copied or changed; no serial file lands beside it.
    expect(fs.readdirSync(pki).sort()).toEqual(['ca.crt', 'ca.key']);
    const again = execFileSync('sh', ['-c', signCertificateScript(input())], { encoding: 'utf8' });
    expect(again).toMatch(/^certificate: kept$/m);
  });

  it('makes a new certificate when the names change', () => {
    const out = execFileSync('sh', ['-c', signCertificateScript({ ...input(), ipAddresses: ['127.0.0.1', '192.168.1.40'] })], { encoding: 'utf8' });
    expect(out).toMatch(/^certificate: new$/m);
  });

  it('says which file is missing when the CA cannot be read', () => {
    let err: { status?: number; stderr?: string } = {};
    try {
      execFileSync('sh', ['-c', signCertificateScript({ ...input(), pkiDir: path.join(dir, 'nope') })], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.status).toBe(3);
    expect(String(err.stderr)).toMatch(/cannot read the cluster CA .*nope\/ca\.crt/);
  });
});

describe('the check that the cluster CA can be read', () => {
  it('passes shellcheck, prints nothing when both files are there and names each one missing', () => {
    const f = path.join(dir, 'ca-check.sh');
    fs.writeFileSync(f, `#!/bin/sh\n${caReadableScript(pki)}`);
    execFileSync('shellcheck', ['-s', 'sh', f]);
    expect(execFileSync('sh', ['-c', caReadableScript(pki)], { encoding: 'utf8' })).toBe('');
    const half = path.join(dir, 'half-pki');
    fs.mkdirSync(half);
    fs.copyFileSync(path.join(pki, 'ca.crt'), path.join(half, 'ca.crt'));
    expect(execFileSync('sh', ['-c', caReadableScript(half)], { encoding: 'utf8' })).toBe(`${half}/ca.key\n`);
    expect(execFileSync('sh', ['-c', caReadableScript(path.join(dir, 'none'))], { encoding: 'utf8' })).toBe(`${dir}/none/ca.crt\n${dir}/none/ca.key\n`);
  });
});

describe('the real registry with the stage\'s settings', () => {
  beforeAll(async () => {
    const auth = path.join(dir, 'auth');
    fs.mkdirSync(auth);
    fs.writeFileSync(path.join(auth, 'htpasswd'), `${htpasswdLine('boardkube', PASSWORD)}\n`);
    const data = path.join(dir, 'data');
    // The pod's environment, pointed at this test's folders instead of the pod's mounts.
    registry = await startRegistry({ binDir: bins, dir, env: registryEnv({ certDir, authDir: auth, dataDir: data }) });
  }, 60_000);

  it('takes a push and a pull through htpasswd auth with the cluster CA trusted', async () => {
    const ca = { SSL_CERT_FILE: path.join(pki, 'ca.crt') };
    const login = await crane(['auth', 'login', registry.hostPort, '-u', 'boardkube', '--password-stdin'], ca, PASSWORD);
    expect(login.code, login.out).toBe(0);
    const layer = path.join(dir, 'layer.tar');
    fs.mkdirSync(path.join(dir, 'layer'));
    fs.writeFileSync(path.join(dir, 'layer', 'hello.txt'), 'hello from the cluster registry\n');
    execFileSync('tar', ['-C', path.join(dir, 'layer'), '-cf', layer, 'hello.txt']);
    const ref = `${registry.hostPort}/hello:1`;
    const push = await crane(['append', '-f', layer, '-t', ref], ca);
    expect(push.code, push.out).toBe(0);
    const pull = await crane(['export', ref, path.join(dir, 'out.tar')], ca);
    expect(pull.code, pull.out).toBe(0);
    expect(execFileSync('tar', ['-xOf', path.join(dir, 'out.tar'), 'hello.txt'], { encoding: 'utf8' })).toBe('hello from the cluster registry\n');
    // Delete is on (garbage collection can free the card's space).
    const del = await crane(['delete', `${registry.hostPort}/hello@${(await crane(['digest', ref], ca)).out.trim()}`], ca);
    expect(del.code, del.out).toBe(0);
  });

  it('refuses a client that does not trust the cluster CA, with the x509 error', async () => {
    const empty = path.join(dir, 'no-ca.pem');
    fs.writeFileSync(empty, '');
    const r = await crane(['catalog', registry.hostPort], { SSL_CERT_FILE: empty });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/x509: certificate signed by unknown authority/);
  });

  it('refuses a client without the password', async () => {
    const r = await crane(['catalog', registry.hostPort], { SSL_CERT_FILE: path.join(pki, 'ca.crt'), DOCKER_CONFIG: path.join(dir, 'nobody') });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/UNAUTHORIZED|401/);
  });
});

describe('the stage\'s objects on the real kube-apiserver', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane();
  }, 600_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it('are accepted by server-side apply', async () => {
    const c = loadCluster(cp.kubeconfigPath);
    try {
      const [ns, ...rest] = registryManifests({ namespace: 'boardkube-registry', storageNode: 'n2-master', dataDir: '/var/lib/boardkube/registry', nodePort: 30500, image: REGISTRY_IMAGE });
      const cert = fs.readFileSync(path.join(certDir, 'tls.crt'), 'utf8');
      const key = fs.readFileSync(path.join(certDir, 'tls.key'), 'utf8');
      const results = await c.apply([ns!, tlsSecret('boardkube-registry', cert, key), htpasswdSecret('boardkube-registry', htpasswdLine('boardkube', PASSWORD)), ...rest, pullSecret('default', '192.168.1.40:30500', 'boardkube', PASSWORD)]);
      expect(results.map((r) => r.outcome)).toEqual(['created', 'created', 'created', 'created', 'created', 'created']);
      const svc = await c.get('v1', 'Service', 'registry', 'boardkube-registry');
      expect((svc?.spec as { ports: Array<{ nodePort: number }> }).ports[0]!.nodePort).toBe(30500);
      const pull = await c.get('v1', 'Secret', 'boardkube-registry', 'default');
      const cfg = JSON.parse(Buffer.from((pull?.data as Record<string, string>)['.dockerconfigjson']!, 'base64').toString()) as { auths: Record<string, { auth: string }> };
      expect(Buffer.from(cfg.auths['192.168.1.40:30500']!.auth, 'base64').toString()).toBe(`boardkube:${PASSWORD}`);
    } finally {
      await c.close?.();
    }
  });
});
