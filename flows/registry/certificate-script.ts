// The registry's serving certificate, signed on the master with the cluster CA: the CA's key never leaves the
// master (the CSR API no longer signs serving certificates, DOMAIN.md). Run as root on the master.

export interface CertificateScriptInput {
  /** kubeadm's certificatesDir on the master (ca.crt and ca.key). */
  pkiDir: string;
  /** Where the registry's key and certificate are kept on the master. */
  outDir: string;
  /** DNS names and IP addresses the registry is reached by. */
  dnsNames: string[];
  ipAddresses: string[];
  /** Validity of a new certificate. */
  days: number;
  /** A certificate that expires within this many days (or names other SANs) is replaced. */
  renewWithinDays: number;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function subjectAltNames(i: Pick<CertificateScriptInput, 'dnsNames' | 'ipAddresses'>): string {
  return [...i.dnsNames.map((d) => `DNS:${d}`), ...i.ipAddresses.map((a) => `IP:${a}`)].join(',');
}

/**
 * Prints `certificate: kept` or `certificate: new`, then `expires: <openssl date>`. Idempotent: a certificate
 * that is still valid long enough for the same names is kept.
 */
export function signCertificateScript(i: CertificateScriptInput): string {
  return [
    'set -eu',
    'umask 077',
    `pki=${q(i.pkiDir)}`,
    `dir=${q(i.outDir)}`,
    `sans=${q(subjectAltNames(i))}`,
    'for f in ca.crt ca.key; do',
    '  [ -r "$pki/$f" ] || { echo "cannot read the cluster CA $pki/$f on this board (is this the master, and did kubeadm init run?)" >&2; exit 3; }',
    'done',
    'mkdir -p "$dir"',
    `if [ -f "$dir/tls.crt" ] && [ -f "$dir/tls.key" ] && [ "$(cat "$dir/sans" 2>/dev/null)" = "$sans" ] && openssl x509 -in "$dir/tls.crt" -noout -checkend ${i.renewWithinDays * 86400} >/dev/null 2>&1 && openssl verify -CAfile "$pki/ca.crt" "$dir/tls.crt" >/dev/null 2>&1; then`,
    '  echo "certificate: kept"',
    'else',
    '  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/tls.key.new" -subj "/CN=boardkube-registry" -out "$dir/tls.csr" 2>/dev/null',
    '  printf \'subjectAltName=%s\\nextendedKeyUsage=serverAuth\\nkeyUsage=critical,digitalSignature,keyEncipherment\\nbasicConstraints=critical,CA:FALSE\\n\' "$sans" >"$dir/ext.cnf"',
    `  openssl x509 -req -in "$dir/tls.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -set_serial "0x$(openssl rand -hex 16)" -days ${i.days} -sha256 -extfile "$dir/ext.cnf" -out "$dir/tls.crt.new" 2>/dev/null`,
    '  mv -f "$dir/tls.key.new" "$dir/tls.key"',
    '  mv -f "$dir/tls.crt.new" "$dir/tls.crt"',
    '  printf \'%s\' "$sans" >"$dir/sans"',
    '  rm -f "$dir/tls.csr" "$dir/ext.cnf"',
    '  echo "certificate: new"',
    'fi',
    'echo "expires: $(openssl x509 -in "$dir/tls.crt" -noout -enddate | sed \'s/^notAfter=//\')"',
    '',
  ].join('\n');
}

/** The expiry line of the script's output as an ISO date, or undefined. */
export function parseExpiry(stdout: string): string | undefined {
  const m = /^expires: (.+)$/m.exec(stdout);
  if (!m) return undefined;
  const d = new Date(m[1]!.trim());
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
