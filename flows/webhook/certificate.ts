// The webhook's serving certificate. The certificates.k8s.io CSR API no longer signs arbitrary serving
// certificates, so boardkube signs it itself: with the cluster CA on the master (over SSH, with openssl
// there: the CA key never leaves the master), or, on a cluster named with --kubeconfig only, with a dedicated
// CA made for it whose key is thrown away right after signing (a renewal makes a new CA and a new caBundle).
import { X509Certificate } from 'node:crypto';
import { secretValue, type KubeObject } from '../../src/ports/cluster.ts';
import { issue } from '../../src/util/x509.ts';
import { signCertificateScript } from '../registry/certificate-script.ts';
import { MANAGED } from './policy.ts';
import { TLS_SECRET, WEBHOOK_NAMESPACE } from './server-manifests.ts';

export const CERT_DAYS = 365;
/** A re-run renews a certificate with fewer days left than this. */
export const RENEW_DAYS = 30;

export interface ServingCert {
  certPem: string;
  keyPem: string;
  caPem: string;
  notAfter: string;
  issuer: 'cluster CA' | 'dedicated CA';
}

/** A dedicated CA and a serving certificate for `names`; the CA's key exists only inside this call. */
export function dedicatedCaCert(names: string[], days = CERT_DAYS, now = new Date()): ServingCert {
  const caName = `boardkube webhook CA ${now.toISOString().slice(0, 10)}`;
  const ca = issue({ commonName: caName, days: days + 1, ca: true, now });
  const leaf = issue({ commonName: names[names.length - 1] ?? names[0]!, days, altNames: names, issuer: { certCommonName: caName, key: ca.keyPem }, now });
  return { certPem: leaf.certPem, keyPem: leaf.keyPem, caPem: ca.certPem, notAfter: leaf.notAfter.toISOString(), issuer: 'dedicated CA' };
}

/** Where the master keeps the webhook's certificate and key (beside kubeadm's, root only). */
export const MASTER_CERT_DIR = '/etc/kubernetes/boardkube-webhook';
const KEY_FOLLOWS = '-----boardkube-key-follows-----';
const CA_FOLLOWS = '-----boardkube-ca-follows-----';
const isIp = (n: string) => /^\d+\.\d+\.\d+\.\d+$/.test(n);

/**
 * The script the master runs (as root) to sign a serving certificate with the cluster CA in `pkiDir` (the
 * registry stage's signing script, kept or renewed on the master), then prints the certificate and its key for
 * the webhook's Secret. The CA key is only read by openssl on the master.
 */
export function clusterCaSigningScript(pkiDir: string, names: string[], outDir = MASTER_CERT_DIR): string {
  const sign = signCertificateScript({ pkiDir, outDir, dnsNames: names.filter((n) => !isIp(n)), ipAddresses: names.filter(isIp), days: CERT_DAYS, renewWithinDays: RENEW_DAYS });
  return `${sign}cat "$dir/tls.crt"\necho '${KEY_FOLLOWS}'\ncat "$dir/tls.key"\necho '${CA_FOLLOWS}'\ncat "$pki/ca.crt"\n`;
}

/** The output of clusterCaSigningScript: the certificate, its key and the cluster CA that signed it. */
export function parseSigned(output: string): ServingCert {
  const [head = '', rest = ''] = output.split(`${KEY_FOLLOWS}\n`);
  const [key = '', caPem = ''] = rest.split(`${CA_FOLLOWS}\n`);
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(head)?.[0];
  if (!cert || !key.includes('PRIVATE KEY')) throw new Error('signing on the master printed no certificate and key');
  return { certPem: cert, keyPem: key, caPem, notAfter: new X509Certificate(cert).validToDate.toISOString(), issuer: 'cluster CA' };
}

export function tlsSecret(c: ServingCert): KubeObject {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: TLS_SECRET, namespace: WEBHOOK_NAMESPACE, labels: MANAGED, annotations: { 'boardkube.dev/issuer': c.issuer, 'boardkube.dev/not-after': c.notAfter } },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(c.certPem), 'tls.key': b64(c.keyPem), 'ca.crt': b64(c.caPem) },
  };
}

export type CertState =
  | { ok: true; notAfter: string; daysLeft: number; caPem: string }
  | { ok: false; why: string; notAfter?: string };

/** Is the certificate in this Secret usable for the webhook for a while yet (names, issuer, days left)? */
export function certState(secret: KubeObject | null, names: string[], now = new Date()): CertState {
  if (!secret) return { ok: false, why: 'there is no serving certificate yet' };
  const text = (k: string) => secretValue(secret, k) ?? '';
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(text('tls.crt'));
    ca = new X509Certificate(text('ca.crt'));
  } catch {
    return { ok: false, why: `Secret ${WEBHOOK_NAMESPACE}/${TLS_SECRET} holds no readable certificate and CA` };
  }
  const notAfter = cert.validToDate.toISOString();
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return { ok: false, why: 'the certificate is not signed by the CA stored beside it', notAfter };
  for (const n of names) if (!cert.checkHost(n)) return { ok: false, why: `the certificate is not valid for ${n}`, notAfter };
  const daysLeft = Math.floor((cert.validToDate.getTime() - now.getTime()) / 86_400_000);
  if (cert.validToDate.getTime() <= now.getTime()) return { ok: false, why: `the certificate expired on ${notAfter}`, notAfter };
  if (daysLeft < RENEW_DAYS) return { ok: false, why: `the certificate expires in ${daysLeft} days (${notAfter}): renewing`, notAfter };
  return { ok: true, notAfter, daysLeft, caPem: text('ca.crt') };
}
