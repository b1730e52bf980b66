// The Local port: this computer (tools, disks, files), through execa, or the practice lab's simulation.
import type { ExecOptions, ExecResult } from './host.ts';

export interface ToolInfo {
  name: string;
  path: string | null;
  version?: string;
}

export interface Local {
  /** Finds a tool on PATH (also /sbin, /usr/sbin) and, if asked, its version line. */
  tool(name: string, opts?: { version?: boolean }): Promise<ToolInfo>;
  /** Runs a program without a shell (argv), sudo when asked and not already root. */
  run(file: string, args: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Whether this process runs as root. */
  isRoot(): boolean;
}
