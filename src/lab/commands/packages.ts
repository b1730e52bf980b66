// The practice lab's answers to the packages stage's scripts (flows/packages/scripts.ts). The board keeps what a
// step changes (uploaded files, installed packages, pacman.conf, services) so later probes read it back, and a
// re-run after a failure finds what the first run left. Faults: disk-full, pacman-locked, runtime-fails.
import { createHash } from 'node:crypto';
import type { LabBoardData } from '../board.ts';
import { registerLabCommands, type LabCommand, type LabResult } from '../commands.ts';

/** What Arch Linux ARM's repository carried in 2025 (DOMAIN.md): two minors behind. */
const LAB_REPOSITORY: Record<string, string> = {
  kubeadm: '1.33.2-1',
  kubelet: '1.33.2-1',
  kubectl: '1.33.2-1',
  crictl: '1.33.0-1',
  'cri-o': '1.33.2-1',
  containerd: '2.1.4-1',
  runc: '1.3.0-1',
  'conntrack-tools': '1.4.8-1',
  ethtool: '1:6.15-1',
  'iptables-nft': '1:1.8.11-2',
  socat: '1.8.0.3-1',
  'cni-plugins': '1.7.1-1',
  'containers-common': '1:0.64.0-1',
};

const PACMAN_CONF = `#
# /etc/pacman.conf
#
[options]
HoldPkg     = pacman glibc
Architecture = aarch64
#IgnorePkg   =
#IgnoreGroup =
CheckSpace
SigLevel    = Required DatabaseOptional
LocalFileSigLevel = Optional

[core]
Include = /etc/pacman.d/mirrorlist

[extra]
Include = /etc/pacman.d/mirrorlist

[alarm]
Include = /etc/pacman.d/mirrorlist
`;

const LOCKED: LabResult = {
  code: 1,
  stderr: "error: failed to init transaction (unable to lock database)\nerror: could not lock database: File exists\n  if you're sure a package manager is not already running, you can remove /var/lib/pacman/db.lck",
  ms: 400,
};

function installed(b: LabBoardData): Record<string, string> {
  const v = b.facts.pacmanPackages;
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, string>;
  const fresh: Record<string, string> = { iptables: '1:1.8.11-2' };
  b.facts.pacmanPackages = fresh;
  return fresh;
}

function services(b: LabBoardData): Record<string, string> {
  const v = b.facts.services;
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, string>;
  return (b.facts.services = {}) as Record<string, string>;
}

const unquote = (s: string) => s.replace(/^'(.*)'$/, '$1');
const wordsOf = (s: string) => s.trim().split(/\s+/).map(unquote);

/** name, version from name-ver-rel-arch.pkg.tar.zst */
function parsePackageFile(file: string): { name: string; version: string } | null {
  const m = /^(.+)-([^-]+)-([^-]+)-(aarch64|any)\.pkg\.tar\.(zst|gz|xz)$/.exec(file);
  return m ? { name: m[1]!, version: `${m[2]}-${m[3]}` } : null;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function pacmanConf(b: LabBoardData): string {
  return b.files['/etc/pacman.conf'] ?? PACMAN_CONF;
}

function ignored(b: LabBoardData): string[] {
  return pacmanConf(b)
    .split('\n')
    .filter((l) => /^\s*IgnorePkg\s*=/.test(l))
    .flatMap((l) => l.replace(/^[^=]*=/, '').trim().split(/\s+/).filter(Boolean));
}

const RUNTIME_SERVICES: Record<string, string> = { 'crio.service': 'cri-o', 'containerd.service': 'containerd' };

const commands: LabCommand[] = [
  {
    name: 'free space under /var/cache (df)',
    match: /^df -Pk \/var\/cache \| awk/,
    run: (b) => ({ stdout: `cache_free_kib=${Math.round((b.faults.includes('disk-full') ? 300 : Number(b.facts.diskFreeMiB ?? 26000)) * 1024)}\n`, ms: 150 }),
  },
  {
    name: 'mkdir -p the package folder',
    match: /^mkdir -p \/var\/cache\/boardkube\/packages$/,
    run: () => ({ ms: 50 }),
  },
  {
    name: 'sha256 of the uploaded packages',
    match: /^cd (\S+) 2>\/dev\/null \|\| exit 0\nfor f in (.+); do/,
    run: (b, m) => {
      const dir = unquote(m[1]!);
      const lines = wordsOf(m[2]!)
        .filter((f) => b.files[`${dir}/${f}`] !== undefined)
        .map((f) => `${sha(b.files[`${dir}/${f}`]!)}  ${f}`);
      return { stdout: lines.length ? `${lines.join('\n')}\n` : '', ms: 300 };
    },
  },
  {
    name: 'pacman -S (dependencies or the distribution\'s packages)',
    match: /^pacman -S --needed --noconfirm (.+)$/m,
    run: (b, m) => {
      if (b.faults.includes('pacman-locked')) return LOCKED;
      const pkgs = installed(b);
      const out: string[] = [];
      if (pkgs.iptables && m[1]!.includes('iptables-nft')) {
        delete pkgs.iptables;
        out.push('replacing the legacy iptables with iptables-nft');
      }
      const wanted = wordsOf(m[1]!);
      const missing = wanted.filter((p) => !LAB_REPOSITORY[p]);
      if (missing.length) return { code: 1, stderr: `error: target not found: ${missing[0]}`, ms: 600 };
      const todo = wanted.filter((p) => !pkgs[p]);
      for (const p of todo) pkgs[p] = LAB_REPOSITORY[p]!;
      out.push(todo.length ? `Packages (${todo.length}) ${todo.map((p) => `${p}-${LAB_REPOSITORY[p]}`).join('  ')}` : ' there is nothing to do');
      return { stdout: `${out.join('\n')}\n`, ms: todo.length ? 6000 : 800 };
    },
  },
  {
    name: 'pacman -U (our packages)',
    match: /\ncd (\S+)\npacman -U --needed --noconfirm (.+)$/,
    run: (b, m, script) => {
      if (b.faults.includes('pacman-locked')) return LOCKED;
      if (b.faults.includes('disk-full')) return { code: 1, stderr: 'error: Partition / too full: 84211 blocks needed, 7100 blocks free\nerror: not enough free disk space\nerror: failed to commit transaction (not enough free disk space)', ms: 2500 };
      const dir = unquote(m[1]!);
      const pkgs = installed(b);
      for (const r of script.matchAll(/pacman -Rdd --noconfirm (\S+)/g)) delete pkgs[unquote(r[1]!)];
      const files = wordsOf(m[2]!);
      const out: string[] = [];
      for (const f of files) {
        if (b.files[`${dir}/${f}`] === undefined) return { code: 1, stderr: `error: '${f}': could not find or read package`, ms: 300 };
      }
      const parsed = files.map((f) => parsePackageFile(f)!);
      const needs = ['conntrack-tools', 'ethtool', 'iptables-nft', 'socat', 'cni-plugins'].filter((d) => !pkgs[d]);
      if (needs.length) return { code: 1, stderr: `error: failed to prepare transaction (could not satisfy dependencies)\n:: installing kubelet breaks dependency '${needs[0]}'`, ms: 800 };
      const todo = parsed.filter((p) => pkgs[p.name] !== p.version);
      for (const p of todo) pkgs[p.name] = p.version;
      out.push(todo.length ? `Packages (${todo.length}) ${todo.map((p) => `${p.name}-${p.version}`).join('  ')}` : ' there is nothing to do');
      todo.forEach((p, i) => out.push(`(${i + 1}/${todo.length}) installing ${p.name}`));
      return { stdout: `${out.join('\n')}\n`, ms: todo.length ? 5000 : 600 };
    },
  },
  {
    name: 'IgnorePkg line in /etc/pacman.conf',
    match: /awk -v marker=('[^']*'|\S+) -v line=('[^']*'|\S+) '/,
    run: (b, m) => {
      const marker = unquote(m[1]!);
      const line = unquote(m[2]!);
      const kept: string[] = [];
      let drop = false;
      let done = false;
      for (const l of pacmanConf(b).replace(/\n$/, '').split('\n')) {
        if (l === marker) {
          drop = true;
          continue;
        }
        if (drop) {
          drop = false;
          if (/^IgnorePkg/.test(l)) continue;
        }
        kept.push(l);
        if (/^\[options\]/.test(l) && !done) {
          kept.push(marker, line);
          done = true;
        }
      }
      const next = `${kept.join('\n')}\n`;
      const changed = next !== b.files['/etc/pacman.conf'];
      b.files['/etc/pacman.conf'] = next;
      return { stdout: changed ? `pinned ${line.replace(/^IgnorePkg = /, '')} in /etc/pacman.conf\n` : '', ms: 120 };
    },
  },
  {
    name: 'IgnorePkg entries (awk over pacman.conf)',
    match: /^awk '\/\^\[\[:space:\]\]\*IgnorePkg/,
    run: (b) => ({ stdout: ignored(b).map((n) => `${n}\n`).join(''), ms: 80 }),
  },
  {
    name: 'pacman -Q of our packages',
    match: /^for p in (.+); do pacman -Q "\$p" 2>\/dev\/null \|\| echo "\$p missing"; done$/,
    run: (b, m) => {
      const pkgs = installed(b);
      return { stdout: wordsOf(m[1]!).map((p) => (pkgs[p] ? `${p} ${pkgs[p]}` : `${p} missing`)).join('\n') + '\n', ms: 200 };
    },
  },
  {
    name: 'pacman -Si (the repository\'s versions)',
    // Reading the sync databases needs no root.
    root: false,
    match: /^pacman -Si (.+) 2>\/dev\/null \| awk/,
    run: (_b, m) => ({ stdout: wordsOf(m[1]!).filter((p) => LAB_REPOSITORY[p]).map((p) => `${p}=${LAB_REPOSITORY[p]}`).join('\n') + '\n', ms: 500 }),
  },
  {
    name: 'systemctl enable --now the runtime, enable the kubelet',
    match: /^set -e\nsystemctl daemon-reload\nsystemctl enable --now (\S+)/,
    run: (b, m) => {
      const service = unquote(m[1]!);
      const pkg = RUNTIME_SERVICES[service];
      if (!pkg || !installed(b)[pkg]) return { code: 1, stderr: `Failed to enable unit: Unit file ${service} does not exist.`, ms: 300 };
      const s = services(b);
      s[service] = 'enabled';
      if (b.faults.includes('runtime-fails')) {
        return {
          code: 1,
          stderr: `Job for ${service} failed because the control process exited with error code.\n${service} did not start; its last log lines:\n${pkg === 'cri-o' ? 'crio[812]: level=fatal msg="validating runtime config: cgroup manager systemd: no such file or directory" (practice lab: the "runtime-fails" fault is on)' : 'containerd[812]: failed to load TOML: invalid plugin config (practice lab: the "runtime-fails" fault is on)'}`,
          ms: 32_000,
        };
      }
      s[`${service}:active`] = 'active';
      s['kubelet.service'] = 'enabled';
      return { stdout: `Created symlink /etc/systemd/system/multi-user.target.wants/${service} -> /usr/lib/systemd/system/${service}.\nkubelet is enabled: it restarts every 10 s until kubeadm init or join configures it\n`, ms: 3500 };
    },
  },
  {
    name: 'is the runtime running and enabled (systemctl is-active / is-enabled, socket)',
    match: /^systemctl is-active --quiet (\S+) && systemctl is-enabled --quiet \S+ && systemctl is-enabled --quiet kubelet\.service/,
    run: (b, m) => {
      const s = services(b);
      const service = unquote(m[1]!);
      return { code: s[`${service}:active`] === 'active' && s['kubelet.service'] === 'enabled' && !b.faults.includes('runtime-fails') ? 0 : 3, ms: 150 };
    },
  },
  {
    name: 'proof probe (kubeadm, kubelet, crictl, pacman -Q, IgnorePkg)',
    match: /^printf 'kubeadm=%s\\n'/,
    run: (b, _m, script) => {
      const pkgs = installed(b);
      const s = services(b);
      const service = /systemctl is-active '?([\w.-]+\.service)/.exec(script)?.[1] ?? 'crio.service';
      const runtimePkg = RUNTIME_SERVICES[service] ?? 'cri-o';
      const active = s[`${service}:active`] === 'active' && !b.faults.includes('runtime-fails');
      const ver = (p: string) => (pkgs[p] ?? '').replace(/^\d+:/, '').replace(/-[^-]+$/, '');
      const names = wordsOf(/\nfor p in (.+); do\n/.exec(script)?.[1] ?? '');
      const lines = [
        `kubeadm=${pkgs.kubeadm ? `v${ver('kubeadm')}` : ''}`,
        `kubelet=${pkgs.kubelet ? `Kubernetes v${ver('kubelet')}` : ''}`,
        `runtime=${active && pkgs[runtimePkg] ? (runtimePkg === 'containerd' ? `v${ver(runtimePkg)}` : ver(runtimePkg)) : ''}`,
        `cri=${active ? 'yes' : 'no'}`,
        `active=${active ? 'active' : s[service] ? 'failed' : 'inactive'}`,
        `kubelet_enabled=${s['kubelet.service'] === 'enabled' ? 'enabled' : 'disabled'}`,
        ...names.map((n) => `pkg_${n}=${pkgs[n] ?? ''}`),
        `ignored=${ignored(b).join(' ')}`,
      ];
      return { stdout: `${lines.join('\n')}\n`, ms: 900 };
    },
  },
];

registerLabCommands(commands);

export const PACKAGES_LAB_COMMANDS: readonly string[] = commands.map((c) => c.name);
