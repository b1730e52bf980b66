#!/bin/sh
# TEST STAND-IN for Arch Linux's update-ca-trust (p11-kit) on a real-cluster harness node, which runs Debian's
# userland: Arch's command does not exist there. Like Arch's, it rebuilds the extracted TLS bundle
# /etc/ca-certificates/extracted/tls-ca-bundle.pem from the system's CAs and every anchor in
# /etc/ca-certificates/trust-source/anchors/ (where the registry stage puts the cluster CA). On Arch,
# /etc/ssl/certs/ca-certificates.crt points to that bundle; on the Debian node nothing reads it, so Debian's own
# /etc/ssl/certs stays as it was and containerd trusts the registry only through its certs.d/HOST:PORT/hosts.toml.
# Installed per node by test/harness/realcluster/node.ts.
set -eu
anchors=/etc/ca-certificates/trust-source/anchors
out=/etc/ca-certificates/extracted
mkdir -p "${out}"
{
  cat /etc/ssl/certs/ca-certificates.crt
  for f in "${anchors}"/*.crt "${anchors}"/*.pem; do
    if [ -f "${f}" ]; then cat "${f}"; fi
  done
} >"${out}/tls-ca-bundle.pem.new"
chmod 644 "${out}/tls-ca-bundle.pem.new"
mv -f "${out}/tls-ca-bundle.pem.new" "${out}/tls-ca-bundle.pem"
