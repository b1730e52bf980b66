// The board reset script: `kubeadm reset -f`, then what kubeadm leaves behind (kubernetes #34044 and friends): the
// CNI config and state, the cni0 and flannel.1 links, the KUBE-* and FLANNEL* chains (only those: the user's own
// rules and chains stay), kube-proxy's nftables tables, /etc/kubernetes; the container runtime restarted.
import { q } from '../control-plane/settings.ts';

export function boardResetScript(runtime: { criSocket: string; service: string }): string {
  // awk turns `iptables-save -t TABLE` into an iptables-restore --noflush script: delete the jumps into KUBE-/FLANNEL
  // chains from other chains, then flush and delete those chains.
  const awk = [
    '/^\\*/ { print; next }',
    '/^:(KUBE-|FLANNEL)/ { chains[++n] = substr($1, 2); next }',
    '/^-A / && $2 !~ /^(KUBE-|FLANNEL)/ && / -j (KUBE-|FLANNEL)/ { sub(/^-A /, "-D "); print; next }',
    'END { for (i = 1; i <= n; i++) print "-F " chains[i]; for (i = 1; i <= n; i++) print "-X " chains[i]; print "COMMIT" }',
  ].join('\n      ');
  return [
    '# boardkube board reset',
    'set -u',
    'if command -v kubeadm >/dev/null 2>&1; then',
    `  kubeadm reset -f --cri-socket ${q(runtime.criSocket)} || echo "kubeadm reset exited $?; cleaning up the rest anyway"`,
    'fi',
    'rm -rf /etc/cni/net.d /var/lib/cni',
    'for link in cni0 flannel.1; do',
    '  if ip link show "$link" >/dev/null 2>&1; then ip link delete "$link" && echo "deleted the link $link"; fi',
    'done',
    'for cmd in iptables ip6tables; do',
    '  command -v "$cmd-save" >/dev/null 2>&1 || continue',
    '  for table in filter nat mangle raw; do',
    '    rules="$("$cmd-save" -t "$table" 2>/dev/null)" || continue',
    "    restore=\"$(printf '%s\\n' \"$rules\" | awk '",
    `      ${awk}')"`,
    "    [ \"$(printf '%s\\n' \"$restore\" | wc -l)\" -gt 2 ] || continue",
    "    if printf '%s\\n' \"$restore\" | \"$cmd-restore\" --noflush; then echo \"removed the KUBE-/FLANNEL chains of $cmd $table\"; else echo \"could not remove the KUBE-/FLANNEL chains of $cmd $table\" >&2; fi",
    '  done',
    'done',
    'if command -v nft >/dev/null 2>&1; then',
    '  for family in ip ip6; do',
    '    if nft list table "$family" kube-proxy >/dev/null 2>&1; then nft delete table "$family" kube-proxy && echo "deleted the nftables table $family kube-proxy"; fi',
    '  done',
    'fi',
    'rm -rf /etc/kubernetes',
    `systemctl restart ${q(runtime.service)}`,
    `echo "restarted ${runtime.service}"`,
    '',
  ].join('\n');
}
