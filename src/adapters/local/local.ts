// The Local port on execa: this computer. Programs run without a shell (argv), output is streamed line by line,
// an AbortSignal or timeout ends them (SIGTERM, then SIGKILL after 2 s), and sudo gets its password on stdin.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { HostError, type ExecOptions, type ExecResult } from '../../ports/host.ts';
import { defaultStateDir } from '../../engine/state-dir.ts';
import { userKubeconfigPath, type Local, type ToolInfo } from '../../ports/local.ts';
import { LineSplitter } from '../lines.ts';

export interface LocalMachineOptions {
  /** The sudo password of the user running boardkube, asked each time it is needed. */
  sudoPassword?: () => string | undefined;
  /** Extra folders searched by tool() after PATH; default /usr/local/sbin, /usr/sbin, /sbin. */
  extraToolDirs?: string[];
  /** boardkube's state folder (--state-dir). */
  stateDir?: string;
  /** Progress lines (commands, exit codes); never carries the sudo password. */
  log?: (line: string) => void;
}

const signalNumbers = os.constants.signals as Record<string, number | undefined>;

export class LocalMachine implements Local {
  private sudo?: { mode: 'nopasswd' } | { mode: 'password'; verified: string };

  constructor(private readonly opts: LocalMachineOptions = {}) {}

  isRoot(): boolean {
    return process.getuid?.() === 0;
  }

  kubeconfigPath(): string {
    return userKubeconfigPath(process.env, os.homedir());
  }

  stateDir(): string {
    return this.opts.stateDir ?? defaultStateDir();
  }

  async tool(name: string, opts: { version?: boolean } = {}): Promise<ToolInfo> {
    const found = this.which(name);
    if (!found || !opts.version) return { name, path: found };
    const r = await execa(found, ['--version'], {
      reject: false,
      timeout: 10_000,
      stdin: 'ignore',
      stripFinalNewline: false,
      env: { LC_ALL: 'C' },
    });
    const text = r.exitCode === 0 ? `${String(r.stdout ?? '')}\n${String(r.stderr ?? '')}` : '';
    const version = text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '');
    return version ? { name, path: found, version } : { name, path: found };
  }

  async run(file: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const sudo = !!opts.sudo && !this.isRoot();
    let cmd = file;
    let argv = args;
    let stdin = opts.stdin;
    if (sudo) {
      const state = await this.sudoState(opts.signal);
      if (state.mode === 'nopasswd') {
        cmd = 'sudo';
        argv = ['-n', '--', file, ...args];
      } else {
        cmd = 'sudo';
        argv = ['-S', '-k', '-p', '', '--', file, ...args];
        const pw = Buffer.from(`${this.opts.sudoPassword?.() ?? ''}\n`);
        stdin = stdin === undefined ? pw : Buffer.concat([pw, Buffer.from(stdin)]);
      }
    }
    this.opts.log?.(`local: $ ${sudo ? 'sudo ' : ''}${[file, ...args].join(' ')}`);
    const r = await this.spawn(cmd, argv, { ...opts, stdin });
    if (sudo && this.sudo?.mode === 'password' && r.code === 1 && /^Sorry, try again\.$|incorrect password attempt/m.test(r.stderr)) {
      this.sudo = undefined;
      throw wrongPassword();
    }
    this.opts.log?.(`local: exit ${r.code}`);
    return r;
  }

  // ---------------------------------------------------------------------------------------------------------------

  private which(name: string): string | null {
    if (name.includes('/')) return isExecutable(name) ? path.resolve(name) : null;
    const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
    for (const extra of this.opts.extraToolDirs ?? ['/usr/local/sbin', '/usr/sbin', '/sbin']) {
      if (!dirs.includes(extra)) dirs.push(extra);
    }
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
    return null;
  }

  private async spawn(file: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
    if (opts.signal?.aborted) throw new HostError('aborted', `cancelled \`${file}\` before it started`);
    const out = new LineSplitter(opts.onStdout);
    const err = new LineSplitter(opts.onStderr);
    const subprocess = execa(file, args, {
      reject: false,
      buffer: false,
      stdin: opts.stdin === undefined ? 'ignore' : 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      cancelSignal: opts.signal,
      timeout: opts.timeoutMs,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: 2000,
    });
    subprocess.stdout?.on('data', (d: Buffer) => out.push(d));
    subprocess.stderr?.on('data', (d: Buffer) => err.push(d));
    if (opts.stdin !== undefined && subprocess.stdin) {
      subprocess.stdin.on('error', () => {
        // the program exited without reading all of its input
      });
      subprocess.stdin.end(opts.stdin);
    }
    const r = await subprocess;
    out.end();
    err.end();
    const cbErr = out.callbackError ?? err.callbackError;
    if (cbErr !== undefined) throw cbErr instanceof Error ? cbErr : new Error(String(cbErr));
    if (r.isCanceled) throw new HostError('aborted', `cancelled \`${file}\``);
    if (r.timedOut) throw new HostError('timeout', `\`${file}\` did not finish within ${opts.timeoutMs} ms`);
    let stderr = err.text;
    if (typeof r.exitCode === 'number') return { code: r.exitCode, stdout: out.text, stderr };
    if (r.signal) {
      const n = signalNumbers[r.signal];
      stderr += `${stderr && !stderr.endsWith('\n') ? '\n' : ''}killed by ${r.signal}\n`;
      return { code: n !== undefined ? 128 + n : -1, stdout: out.text, stderr };
    }
    // Could not start the program at all: answer like a shell does.
    const code = (r as { code?: string }).code;
    const reason = code === 'ENOENT' ? 'command not found' : code === 'EACCES' ? 'permission denied' : (r.originalMessage ?? r.message);
    return { code: code === 'ENOENT' ? 127 : 126, stdout: out.text, stderr: `${stderr}${file}: ${reason}\n` };
  }

  private async sudoState(signal?: AbortSignal): Promise<{ mode: 'nopasswd' } | { mode: 'password'; verified: string }> {
    const pw = this.opts.sudoPassword?.() || undefined;
    const digest = pw === undefined ? undefined : createHash('sha256').update(pw).digest('hex');
    if (this.sudo?.mode === 'nopasswd') return this.sudo;
    if (this.sudo?.mode === 'password' && this.sudo.verified === digest) return this.sudo;
    if (!this.sudo) {
      const probe = await this.spawn('sudo', ['-n', 'true'], { signal });
      if (probe.code === 0) return (this.sudo = { mode: 'nopasswd' });
      if (!/password is required/i.test(probe.stderr)) {
        throw new HostError(
          'sudo',
          `sudo does not work here: ${(probe.stderr || `exit ${probe.code}`).trim()}`,
          probe.code === 127 ? 'install sudo, or run boardkube as root' : 'run `sudo true` to see what sudo wants, or run boardkube as root',
        );
      }
    }
    if (pw === undefined || digest === undefined) {
      throw new HostError('sudo', `sudo needs a password on this computer, and none was given`, 'give your sudo password in the wizard, or run boardkube as root');
    }
    const check = await this.spawn('sudo', ['-S', '-k', '-p', '', '--', 'true'], { signal, stdin: `${pw}\n` });
    if (check.code === 0) return (this.sudo = { mode: 'password', verified: digest });
    if (/^Sorry, try again\.$|incorrect password attempt|no password was provided/m.test(check.stderr)) throw wrongPassword();
    throw new HostError('sudo', `sudo does not work here: ${check.stderr.trim() || `exit ${check.code}`}`, 'run `sudo true` to see what sudo wants');
  }
}

function wrongPassword(): HostError {
  return new HostError('sudo', `sudo refused the password for ${os.userInfo().username} on this computer`, 'check your sudo password');
}

function isExecutable(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
