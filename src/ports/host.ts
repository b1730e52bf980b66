// The Host port: one board, reached over SSH (ssh2 adapter) or simulated (practice lab).
// Flows talk only to this interface, never to ssh2.

export interface ExecOptions {
  /** Run through sudo; the password (if any) comes from the host's secret, never the command line. */
  sudo?: boolean;
  /** Data written to the command's stdin. */
  stdin?: string | Buffer;
  signal?: AbortSignal;
  /** Give up after this long (the remote command is signalled). */
  timeoutMs?: number;
  onStdout?: (line: string) => void;
  onStderr?: (line: string) => void;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HostKeyInfo {
  /** e.g. "ssh-ed25519" */
  type: string;
  /** OpenSSH style: "SHA256:base64..." */
  fingerprint: string;
}

/** Decides about a host key: pinned in the saved progress, trust on first use, refuse a changed one. */
export interface HostKeyPolicy {
  check(node: string, key: HostKeyInfo): { ok: true; firstUse: boolean } | { ok: false; pinned: string };
  pin(node: string, key: HostKeyInfo): void;
}

export interface Host {
  readonly node: string;
  readonly address: string;
  /** Opens the connection (idempotent). Fails with HostError kinds below. */
  connect(signal?: AbortSignal): Promise<void>;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Writes a file atomically-enough (temp + rename) with a mode. */
  writeFile(remotePath: string, content: string | Buffer, opts?: { mode?: number; sudo?: boolean; signal?: AbortSignal }): Promise<void>;
  readFile(remotePath: string, opts?: { signal?: AbortSignal }): Promise<Buffer>;
  /** sudo: the target belongs to root (staged as the login user, then installed by root). */
  upload(localPath: string, remotePath: string, opts?: { mode?: number; sudo?: boolean; signal?: AbortSignal }): Promise<void>;
  download(remotePath: string, localPath: string, opts?: { signal?: AbortSignal }): Promise<void>;
  /** After a reboot: wait until the board answers again (backoff), up to timeoutMs. */
  reconnect(opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void>;
  hostKey(): HostKeyInfo | undefined;
  close(): Promise<void>;
  /**
   * Optional: for a board flashed by hand, which does not accept the key yet. Logs in once with a password as
   * `user` (alarm on Arch Linux ARM; root may not log in with a password), becomes the login user of this Host
   * (root on boards) with `su` at a terminal (the password typed at su's prompt, never on a command line or in a
   * log) and runs authorizeKeyScript(publicKey). The host key is checked with the same HostKeyPolicy (pinned on
   * first use). Fails with HostError 'auth' when the password or the root password is refused.
   */
  installKeyWithPassword?(opts: InstallKeyOptions): Promise<void>;
}

export interface InstallKeyOptions {
  /** The user that may log in with a password (Arch Linux ARM: alarm). */
  user: string;
  password: string;
  /** The password `su` asks for (the login user's: root's on boards). */
  rootPassword: string;
  /** One OpenSSH public key line ("ssh-ed25519 AAAA... comment"). */
  publicKey: string;
  signal?: AbortSignal;
}

/** The key body ("type base64") of one OpenSSH public key line; throws for anything else. */
export function publicKeyBody(publicKey: string): string {
  const line = publicKey.trim();
  const m = /^((?:ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+) ([A-Za-z0-9+/]+={0,3})(?: [^\n\r]*)?$/.exec(line);
  if (!m) throw new Error(`not an OpenSSH public key line: "${line.slice(0, 40)}${line.length > 40 ? '...' : ''}"`);
  return `${m[1]} ${m[2]}`;
}

/**
 * The script installKeyWithPassword runs as the login user (root): adds the key to ~/.ssh/authorized_keys
 * (/root/.ssh/authorized_keys after `su -`), directory 0700, file 0600, no second line for a key already there.
 */
export function authorizeKeyScript(publicKey: string): string {
  const line = publicKey.trim();
  const body = publicKeyBody(line);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    'set -eu',
    'umask 077',
    `key=${q(line)}`,
    `body=${q(body)}`,
    'dir="$HOME/.ssh"',
    'file="$dir/authorized_keys"',
    'mkdir -p "$dir"',
    'chmod 700 "$dir"',
    'touch "$file"',
    'chmod 600 "$file"',
    'if grep -qF -- "$body" "$file"; then',
    '  echo "the key is in $file already"',
    'else',
    '  # A last line without its newline would swallow the key.',
    '  if [ -s "$file" ] && [ -n "$(tail -c 1 "$file")" ]; then echo >>"$file"; fi',
    '  printf \'%s\\n\' "$key" >>"$file"',
    '  echo "added the key to $file"',
    'fi',
    '',
  ].join('\n');
}

export type HostErrorKind = 'unreachable' | 'auth' | 'host-key-changed' | 'timeout' | 'disconnected' | 'sudo' | 'aborted';

export class HostError extends Error {
  constructor(readonly kind: HostErrorKind, message: string, readonly fix?: string) {
    super(fix ? `${message}\n  fix: ${fix}` : message);
    this.name = 'HostError';
  }
}

/** The words for a refused host key, the same from the SSH adapter and the practice lab. */
export function hostKeyChangedMessage(node: string, address: string, pinned: string, seen: string): { message: string; fix: string } {
  return {
    message: `the host key of ${node} (${address}) has changed: pinned ${pinned}, the board now shows ${seen}. The connection was refused.`,
    fix: `if you re-flashed ${node}, forget the old key with \`boardkube reset -f FILE --forget-host-key ${node}\`; otherwise someone may be intercepting the connection`,
  };
}
