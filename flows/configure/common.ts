// Small helpers the configure steps share: run a planned script on the step's board with its output in the log.
import type { NodeSpec } from '../../src/cluster/spec.ts';
import type { PlannedAction, StepContext } from '../../src/engine/types.ts';
import type { ExecOptions, ExecResult, Host } from '../../src/ports/host.ts';

export function boardOf(ctx: StepContext): { node: NodeSpec; host: Host } {
  if (!ctx.node) throw new Error('this step runs on a board, but was started for the whole cluster');
  return { node: ctx.node, host: ctx.ports.host(ctx.node) };
}

export interface RunOptions extends Pick<ExecOptions, 'sudo' | 'timeoutMs' | 'onStdout' | 'onStderr'> {
  /** Log the output lines (default true). */
  quiet?: boolean;
}

/** Runs a script and throws unless it exits 0; the error names the action and carries the last output lines. */
export async function runScript(ctx: StepContext, host: Host, what: string, script: string, opts: RunOptions = {}): Promise<ExecResult> {
  const r = await host.exec(script, {
    sudo: opts.sudo,
    signal: ctx.signal,
    timeoutMs: opts.timeoutMs,
    onStdout: (l) => {
      if (!opts.quiet) ctx.log(l);
      opts.onStdout?.(l);
    },
    onStderr: (l) => {
      if (!opts.quiet) ctx.log(l);
      opts.onStderr?.(l);
    },
  });
  if (r.code !== 0) {
    const tail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n');
    throw new Error(`"${what}" exited ${r.code}${tail ? `: ${tail}` : ''}`);
  }
  return r;
}

/** Runs a planned 'command' action (its script, its sudo). */
export function runAction(ctx: StepContext, host: Host, action: PlannedAction, opts: RunOptions = {}): Promise<ExecResult> {
  if (action.type !== 'command') throw new Error(`"${action.description}" is not a command`);
  ctx.log(`> ${action.description}`);
  return runScript(ctx, host, action.description, action.content ?? '', { sudo: action.sudo, ...opts });
}

/** A read-only probe: its stdout, or an error with the exit code and stderr. */
export async function probe(host: Host, script: string, signal?: AbortSignal, opts: { sudo?: boolean; timeoutMs?: number } = {}): Promise<string> {
  const r = await host.exec(script, { signal, sudo: opts.sudo, timeoutMs: opts.timeoutMs ?? 60_000 });
  if (r.code !== 0) throw new Error(`the check on ${host.node} exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join('\n')}`);
  return r.stdout;
}

/** Finds the planned action with this description prefix (steps with a run() pick their scripts from the plan). */
export function actionNamed(actions: PlannedAction[], prefix: string): PlannedAction | undefined {
  return actions.find((a) => a.description.startsWith(prefix));
}

