// Every shell script the packages stage sends to a board, as pure functions of typed input, and the parsers that
// read their output. POSIX sh (they run through `sh -c`); tests run each through shellcheck, the pacman ones with
// the real pacman against a scratch root (`pacman` and `root` are the knobs for that), the rest against real sshd.
import { parseKeyValues, PACMAN_UNLOCK, q, type ScriptOptions } from '../configure/scripts.ts';

export interface PacmanOptions extends ScriptOptions {
  /** The pacman command line ('pacman' on a board; with --root/--dbpath/--config in tests). */
  pacman?: string;
  /** Where pacman.conf is, under root (default /etc/pacman.conf). */
  pacmanConf?: string;
}

const pacman = (o?: PacmanOptions) => o?.pacman ?? 'pacman';
const words = (list: string[]) => list.map(q).join(' ');

/**
 * Dependencies from the distribution's repository. Arch Linux ARM images carry the legacy iptables, which
 * conflicts with iptables-nft: --noconfirm would answer "no" to pacman's question, so it is swapped first.
 */
export function dependenciesScript(deps: string[], o?: PacmanOptions): string {
  const lines = ['set -e', PACMAN_UNLOCK];
  if (deps.includes('iptables-nft')) {
    lines.push(
      `installed=$(${pacman(o)} -Qq iptables 2>/dev/null || true)`,
      'if [ "$installed" = iptables ]; then',
      '  echo "replacing the legacy iptables with iptables-nft"',
      `  ${pacman(o)} -Rdd --noconfirm iptables`,
      'fi',
    );
  }
  lines.push(`${pacman(o)} -S --needed --noconfirm ${words(deps)}`);
  return lines.join('\n');
}

/**
 * Installs our packages from the folder they were uploaded to. Distribution packages that our runtime package
 * replaces (CRI-O's bundle brings conmon and crun) are removed first, for the same reason as iptables above.
 * --needed: a board where the run was cut off half-way gets only what is still missing.
 */
export function installScript(dir: string, files: string[], replaces: string[], o?: PacmanOptions): string {
  const lines = ['set -e', PACMAN_UNLOCK];
  for (const old of replaces) {
    lines.push(`if [ "$(${pacman(o)} -Qq ${q(old)} 2>/dev/null || true)" = ${q(old)} ]; then`, `  ${pacman(o)} -Rdd --noconfirm ${q(old)}`, 'fi');
  }
  lines.push(`cd ${q(dir)}`, `${pacman(o)} -U --needed --noconfirm ${words(files)}`);
  return lines.join('\n');
}

export const IGNORE_MARKER = '# boardkube: pins these packages at the versions of the cluster (boardkube writes this line and the next)';

export function ignorePkgLine(names: string[]): string {
  return `IgnorePkg = ${names.join(' ')}`;
}

/**
 * Pins the packages: our IgnorePkg line right after [options], the user's own IgnorePkg lines kept (pacman adds
 * every IgnorePkg line up). Idempotent: an unchanged file is not written.
 */
export function ignorePkgScript(names: string[], o?: PacmanOptions): string {
  const f = q(`${o?.root ?? ''}${o?.pacmanConf ?? '/etc/pacman.conf'}`);
  return `set -e
f=${f}
tmp="$f.boardkube.$$"
if ! grep -q '^\\[options\\]' "$f"; then
  echo "$f has no [options] section: cannot pin the packages" >&2
  exit 1
fi
awk -v marker=${q(IGNORE_MARKER)} -v line=${q(ignorePkgLine(names))} '
  $0 == marker { drop = 1; next }
  drop == 1 { drop = 0; if ($0 ~ /^IgnorePkg/) next }
  { print }
  /^\\[options\\]/ && !done { print marker; print line; done = 1 }
' "$f" > "$tmp"
if cmp -s "$tmp" "$f"; then
  rm -f "$tmp"
else
  cat "$tmp" > "$f"
  rm -f "$tmp"
  echo "pinned ${names.join(' ')} in $f"
fi`;
}

/** What pacman would ignore (every IgnorePkg line), one name per line. */
export function ignoredProbe(o?: PacmanOptions): string {
  const f = q(`${o?.root ?? ''}${o?.pacmanConf ?? '/etc/pacman.conf'}`);
  return `awk '/^[[:space:]]*IgnorePkg[[:space:]]*=/ { sub(/^[^=]*=/, ""); n = split($0, w, " "); for (i = 1; i <= n; i++) print w[i] }' ${f}`;
}

/** Starts the runtime now and at boot, waits for its socket; the kubelet is only enabled (kubeadm starts it). */
export function enableRuntimeScript(service: string, socketPath: string): string {
  return `set -e
systemctl daemon-reload
systemctl enable --now ${q(service)}
i=0
while [ ! -S ${q(socketPath)} ] && [ "$i" -lt 30 ]; do
  sleep 1
  i=$((i + 1))
done
if ! systemctl is-active --quiet ${q(service)} || [ ! -S ${q(socketPath)} ]; then
  echo ${q(`${service} did not start; its last log lines:`)} >&2
  journalctl -u ${q(service)} -n 20 --no-pager >&2 || true
  exit 1
fi
systemctl enable kubelet.service
echo "kubelet is enabled: it restarts every 10 s until kubeadm init or join configures it"`;
}

/** The facts the verify step judges: versions, the runtime through its socket, the packages and the pins. */
export function proofProbe(names: string[], service: string, criSocket: string, o?: PacmanOptions): string {
  const crictl = `crictl --runtime-endpoint ${q(criSocket)}`;
  return `printf 'kubeadm=%s\\n' "$(kubeadm version -o short 2>/dev/null)"
printf 'kubelet=%s\\n' "$(kubelet --version 2>/dev/null)"
printf 'runtime=%s\\n' "$(${crictl} version 2>/dev/null | sed -n 's/^RuntimeVersion:[[:space:]]*//p')"
if ${crictl} info >/dev/null 2>&1; then echo cri=yes; else echo cri=no; fi
printf 'active=%s\\n' "$(systemctl is-active ${q(service)} 2>/dev/null)"
printf 'kubelet_enabled=%s\\n' "$(systemctl is-enabled kubelet.service 2>/dev/null)"
for p in ${words(names)}; do
  printf 'pkg_%s=%s\\n' "$p" "$(${pacman(o)} -Q "$p" 2>/dev/null | cut -d' ' -f2)"
done
printf 'ignored=%s\\n' "$(${ignoredProbe(o)} | tr '\\n' ' ')"`;
}

export interface Proof {
  kubeadm: string;
  kubelet: string;
  runtime: string;
  cri: boolean;
  active: string;
  kubeletEnabled: string;
  packages: Record<string, string>;
  ignored: string[];
}

export function parseProof(stdout: string, names: string[]): Proof {
  const kv = parseKeyValues(stdout);
  return {
    kubeadm: kv.kubeadm ?? '',
    kubelet: kv.kubelet ?? '',
    runtime: kv.runtime ?? '',
    cri: kv.cri === 'yes',
    active: kv.active ?? '',
    kubeletEnabled: kv.kubelet_enabled ?? '',
    packages: Object.fromEntries(names.map((n) => [n, kv[`pkg_${n}`] ?? ''])),
    ignored: (kv.ignored ?? '').split(/\s+/).filter(Boolean),
  };
}

export interface Expected {
  /** Kubernetes patch, e.g. 1.37.2. */
  kubernetes: string;
  /** What the runtime reports as RuntimeVersion must start with this (CRI-O: the minor; containerd: its version). */
  runtimePrefix: string;
  runtimeName: string;
  service: string;
  /** Package name -> pacman version (pkgver-pkgrel). */
  packages: Record<string, string>;
}

/** Problems with a board's proof (empty: it is all in place). */
export function judgeProof(p: Proof, e: Expected, node: string): string[] {
  const problems: string[] = [];
  const want = `v${e.kubernetes}`;
  if (p.kubeadm !== want) problems.push(`${node}: kubeadm version -o short says ${p.kubeadm || 'nothing'}, the pin is ${want}`);
  if (p.kubelet !== `Kubernetes ${want}`) problems.push(`${node}: kubelet --version says ${p.kubelet || 'nothing'}, the pin is ${want}`);
  if (p.active !== 'active') problems.push(`${node}: ${e.service} is ${p.active || 'not running'} (journalctl -u ${e.service} says why)`);
  if (!p.cri) problems.push(`${node}: crictl info gets no answer through the runtime's socket`);
  else if (!p.runtime.replace(/^v/, '').startsWith(e.runtimePrefix)) problems.push(`${node}: ${e.runtimeName} reports version ${p.runtime || 'nothing'}, expected ${e.runtimePrefix}`);
  for (const [name, version] of Object.entries(e.packages)) {
    if (p.packages[name] !== version) problems.push(`${node}: pacman -Q ${name} shows ${p.packages[name] || 'nothing'}, expected ${version}`);
    if (!p.ignored.includes(name)) problems.push(`${node}: ${name} is not in IgnorePkg of /etc/pacman.conf: pacman -Syu could move it`);
  }
  if (p.kubeletEnabled !== 'enabled') problems.push(`${node}: kubelet.service is ${p.kubeletEnabled || 'not enabled'}`);
  return problems;
}

/** sha256 of each uploaded package on the board, as "HEX  NAME" lines (missing files print nothing). */
export function uploadedProbe(dir: string, files: string[]): string {
  return `cd ${q(dir)} 2>/dev/null || exit 0
for f in ${words(files)}; do
  if [ -f "$f" ]; then sha256sum "$f"; fi
done`;
}

/** The versions of the packages in the distribution's repository (pacman -Si), as NAME=VERSION lines. */
export function repositoryProbe(names: string[], o?: PacmanOptions): string {
  return `${pacman(o)} -Si ${words(names)} 2>/dev/null | awk '/^Name/ { n = $3 } /^Version/ { print n "=" $3 }'`;
}
