// The practice lab's answers to the registry stage's scripts (flows/registry/): the certificate signed on the master
// (kept while valid, only if the cluster CA is there), root-only reads of it, the system trust rebuilt, and the
// nodes' TLS probe of the registry, which answers 401 only when the node holds the master's CA at the path its
// runtime reads. Fault registry-no-ca: the node's runtime trust is broken (curl's x509 answer); registry-wrong-port:
// its trust is for another port than HOST:PORT (curl finds no CA file there).
import { randomBytes } from 'node:crypto';
import { labPrivateFiles, type LabBoardData } from '../board.ts';
import { registerLabCommands, type LabCommand } from '../commands.ts';

const CA_CRT = '/etc/kubernetes/pki/ca.crt';

function fileOf(b: LabBoardData, path: string): string | undefined {
  return b.files[path] ?? labPrivateFiles(b).get(path);
}

function pem(kind: string): string {
  return `-----BEGIN ${kind}-----\n${randomBytes(48).toString('base64')}\n-----END ${kind}-----\n`;
}

const sign: LabCommand = {
  name: "sign the registry's certificate with the cluster CA (openssl)",
  match: /^set -eu\numask 077\npki='([^']+)'\ndir='([^']+)'\nsans='([^']+)'\n[\s\S]*-days (\d+) /,
  root: true,
  run(b, m) {
    const [, pki, dir, sans, days] = m as unknown as [string, string, string, string, string];
    // The lab's kubeadm init leaves ca.crt (its key stands beside it on a real master).
    if (fileOf(b, `${pki}/ca.crt`) === undefined) return { code: 3, stderr: `cannot read the cluster CA ${pki}/ca.crt on this board (is this the master, and did kubeadm init run?)`, ms: 40 };
    const renewBefore = Number(/-checkend (\d+)/.exec(m.input)?.[1] ?? '0') * 1000;
    const expires = typeof b.facts.registryCertExpires === 'number' ? b.facts.registryCertExpires : 0;
    const kept = b.files[`${dir}/sans`] === sans && labPrivateFiles(b).has(`${dir}/tls.key`) && expires - Date.now() > renewBefore;
    if (!kept) {
      b.files[`${dir}/tls.crt`] = pem('CERTIFICATE');
      labPrivateFiles(b).set(`${dir}/tls.key`, pem('PRIVATE KEY'));
      b.files[`${dir}/sans`] = sans;
      b.facts.registryCertExpires = Date.now() + Number(days) * 86_400_000;
    }
    const when = new Date(b.facts.registryCertExpires as number).toUTCString().replace(/^\w+, /, '').replace(/(\d+) (\w+) (\d+) ([\d:]+) GMT/, '$2 $1 $4 $3 GMT');
    return { stdout: `certificate: ${kept ? 'kept' : 'new'}\nexpires: ${when}\n`, ms: 900 };
  },
};

const caReadable: LabCommand = {
  name: 'the cluster CA can be read on the master (test -r)',
  match: /^for f in ca\.crt ca\.key; do \[ -r '([^']+)'\/"\$f" \] \|\| echo '[^']+'\/"\$f"; done\n?$/,
  root: true,
  // The lab's kubeadm init leaves ca.crt; its key stands beside it on a real master.
  run: (b, m) => (fileOf(b, `${m[1]}/ca.crt`) === undefined ? { stdout: `${m[1]}/ca.crt\n${m[1]}/ca.key\n`, ms: 30 } : { ms: 30 }),
};

const verifyCert: LabCommand = {
  name: "check the registry's certificate (openssl verify, -checkend)",
  match: /^openssl verify -CAfile '([^']+)' '([^']+)' >\/dev\/null && openssl x509 -in '[^']+' -noout -checkend (\d+)$/,
  root: true,
  run(b, m) {
    if (fileOf(b, m[1]!) === undefined || fileOf(b, m[2]!) === undefined) return { code: 2, stderr: `Could not open file or uri for loading certificate from ${fileOf(b, m[1]!) === undefined ? m[1] : m[2]}`, ms: 40 };
    const expires = typeof b.facts.registryCertExpires === 'number' ? b.facts.registryCertExpires : 0;
    return expires - Date.now() > Number(m[3]) * 1000 ? { stdout: 'Certificate will not expire\n', ms: 40 } : { code: 1, stdout: 'Certificate will expire\n', ms: 40 };
  },
};

const catAsRoot: LabCommand = {
  name: "cat 'FILE' (as root)",
  match: /^cat '(\/[\w./:-]+)'$/,
  root: true,
  run(b, m) {
    const file = m[1]!;
    // The saved lab never holds a private key, so a later session has the certificate but not its key: a real
    // board keeps both, so the key is there (a stand-in for it).
    if (file.endsWith('/tls.key') && !labPrivateFiles(b).has(file) && b.files[file.replace(/tls\.key$/, 'tls.crt')] !== undefined) labPrivateFiles(b).set(file, pem('PRIVATE KEY'));
    const text = fileOf(b, file);
    return text === undefined ? { code: 1, stderr: `cat: ${m[1]}: No such file or directory`, ms: 30 } : { stdout: text, ms: 30 };
  },
};

const catIfThere: LabCommand = {
  name: "cat 'FILE' 2>/dev/null || true",
  match: /^cat '(\/[\w./:-]+)' 2>\/dev\/null \|\| true$/,
  root: false,
  run: (b, m) => ({ stdout: b.files[m[1]!] ?? '', ms: 30 }),
};

// The lab's files are a flat map: a folder needs no making.
const makeTrustDirs: LabCommand = { name: "mkdir -p the registry's trust folders", match: /^mkdir -p '\/etc\/[\w./:-]+' '\/etc\/ca-certificates\/trust-source\/anchors'\n?$/, root: true, run: () => ({ ms: 30 }) };

const updateTrust: LabCommand = { name: 'update-ca-trust', match: /^update-ca-trust\n?$/, root: true, run: () => ({ ms: 1500 }) };

const probe: LabCommand = {
  name: "curl the registry's /v2/ with the runtime's CA file",
  match: /^curl -sS --max-time 10 --cacert '([^']+)' -o \/dev\/null -w '%\{http_code\}\\n' 'https:\/\/([^/']+)\/v2\/'\n?$/,
  root: false,
  run(b, m, _script, all) {
    const [, caFile, hostPort] = m as unknown as [string, string, string];
    // registry-wrong-port: the runtime's folder is for HOST:5000, so nothing is where HOST:PORT is looked up.
    const ca = b.faults.includes('registry-wrong-port') ? undefined : b.files[caFile];
    if (ca === undefined) return { code: 77, stderr: `curl: (77) error setting certificate file: ${caFile}`, ms: 40 };
    const master = all.find((o) => o.address === hostPort.split(':')[0]);
    const signed = master !== undefined && master.files['/etc/boardkube/registry/tls.crt'] !== undefined;
    if (!master || !signed) return { code: 7, stderr: `curl: (7) Failed to connect to ${hostPort.replace(':', ' port ')} after 3 ms: Could not connect to server`, ms: 40 };
    if (b.faults.includes('registry-no-ca') || ca !== master.files[CA_CRT]) {
      return { code: 60, stderr: 'curl: (60) SSL certificate problem: unable to get local issuer certificate', ms: 60 };
    }
    return { stdout: '401\n', ms: 60 };
  },
};

registerLabCommands([sign, caReadable, verifyCert, catAsRoot, catIfThere, makeTrustDirs, updateTrust, probe]);
