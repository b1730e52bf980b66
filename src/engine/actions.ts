// Performs planned actions for steps that have no run() of their own, so that what `plan` shows is,
// by construction, what the run does.
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../ports/cluster.ts';
import type { Outputs, PlannedAction, StepContext } from './types.ts';

export async function performActions(ctx: StepContext, actions: PlannedAction[]): Promise<Outputs> {
  for (const action of actions) {
    ctx.signal.throwIfAborted();
    ctx.log(`> ${action.description}`);
    await performAction(ctx, action);
  }
  return {};
}

export function manifestObjects(yamlText: string): KubeObject[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJSON() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

async function performAction(ctx: StepContext, action: PlannedAction): Promise<void> {
  switch (action.type) {
    case 'command': {
      const host = ctx.ports.host(requireNode(ctx, action));
      const r = await host.exec(action.content ?? '', { sudo: action.sudo, signal: ctx.signal, onStdout: ctx.log, onStderr: ctx.log });
      if (r.code !== 0) {
        const tail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n');
        throw new Error(`"${action.description}" exited ${r.code}${tail ? `: ${tail}` : ''}`);
      }
      return;
    }
    case 'file': {
      if (!action.path) throw new Error(`file action "${action.description}" has no path`);
      const host = ctx.ports.host(requireNode(ctx, action));
      await host.writeFile(action.path, action.content ?? '', { mode: action.mode, sudo: action.sudo, signal: ctx.signal });
      return;
    }
    case 'manifest': {
      const cluster = await ctx.ports.cluster();
      const results = await cluster.apply(manifestObjects(action.content ?? ''), { signal: ctx.signal });
      for (const r of results) ctx.log(`${r.object.kind}/${r.object.metadata.name} ${r.outcome}`);
      return;
    }
    case 'local': {
      const r = await ctx.ports.local.run('sh', ['-c', action.content ?? ''], { sudo: action.sudo, signal: ctx.signal, onStdout: ctx.log, onStderr: ctx.log });
      if (r.code !== 0) throw new Error(`"${action.description}" exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join('\n')}`);
      return;
    }
    case 'api':
      throw new Error(`the step plans an API call ("${action.description}") but has no run() to perform it`);
  }
}

function requireNode(ctx: StepContext, action: PlannedAction) {
  if (!ctx.node) throw new Error(`"${action.description}" needs a board, but the step runs once for the cluster`);
  return ctx.node;
}
