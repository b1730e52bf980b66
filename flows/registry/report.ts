// What the registry stage leaves the user with: where the registry is and how images are named, the certificate's
// expiry, the password file, the proof from every node as a table, and how to push and trust it from this computer.
import type { StageReport, StageReportInput } from '../../src/engine/types.ts';
import { textTable } from '../../src/util/table.ts';

export function registryReport({ cluster, outputOf }: StageReportInput): StageReport {
  const deploy = outputOf('deploy');
  if (!deploy) return { have: [], next: [] };
  const hostPort = String(deploy.hostPort);
  const cert = outputOf('certificate');
  const creds = outputOf('credentials');
  const proven = cluster.nodes.map((n) => ({ node: n, out: outputOf('prove', n.name) }));
  const rows = proven.map(({ node, out }) => [node.name, out ? String(out.caPath ?? '') : '', out ? `${String(out.answer)} over TLS (password asked)` : 'not proven yet']);
  const have = [
    `the registry (${String(deploy.image)}) at https://${hostPort}/v2/: images are named ${hostPort}/NAME:TAG`,
    ...(cert?.expiresAt ? [`its certificate, signed by the cluster CA, expires ${String(cert.expiresAt).slice(0, 10)} (a re-run renews it in its last 30 days)`] : []),
    ...(creds ? [`user ${String(creds.user)}, password in ${String(creds.passwordFile)} (mode 0600)`] : []),
    'every node trusts it where its runtime looks:',
    ...textTable(['node', 'cluster CA at', `https://${hostPort}/v2/`], rows).map((l) => `  ${l}`),
  ];
  const file = creds ? String(creds.passwordFile) : 'PASSWORD_FILE';
  const next = [
    `push from this computer: crane auth login ${hostPort} -u ${creds ? String(creds.user) : 'USER'} --password-stdin < ${file}`,
    `trust the registry on this computer: copy /etc/kubernetes/pki/ca.crt from the master, then \`sudo trust anchor ca.crt\` (Arch) or \`sudo cp ca.crt /usr/local/share/ca-certificates/${cluster.name}-ca.crt && sudo update-ca-certificates\` (Debian, Ubuntu)`,
  ];
  return { have, next };
}
