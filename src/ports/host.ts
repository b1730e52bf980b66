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
  upload(localPath: string, remotePath: string, opts?: { mode?: number; signal?: AbortSignal }): Promise<void>;
  download(remotePath: string, localPath: string, opts?: { signal?: AbortSignal }): Promise<void>;
  /** After a reboot: wait until the board answers again (backoff), up to timeoutMs. */
  reconnect(opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void>;
  hostKey(): HostKeyInfo | undefined;
  close(): Promise<void>;
}

export type HostErrorKind = 'unreachable' | 'auth' | 'host-key-changed' | 'timeout' | 'disconnected' | 'sudo' | 'aborted';

export class HostError extends Error {
  constructor(readonly kind: HostErrorKind, message: string, readonly fix?: string) {
    super(fix ? `${message}\n  fix: ${fix}` : message);
    this.name = 'HostError';
  }
}

/** Runs a command and throws unless it exits 0; the message carries the last stderr lines. */
export async function mustExec(host: Host, command: string, opts?: ExecOptions): Promise<ExecResult> {
  const r = await host.exec(command, opts);
  if (r.code !== 0) {
    const tail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n');
    throw new Error(`command exited ${r.code}${tail ? `: ${tail}` : ''}`);
  }
  return r;
}
