// The runbook as Markdown: one section per stage, commands as copyable blocks, files with path, mode and content.
import type { Action } from '../engine/types.ts';
import { modeText, whereText, type Runbook } from './runbook.ts';

/** A fence longer than any run of backticks inside, so a script that contains ``` still copies whole. */
function fence(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${text.replace(/\n$/, '')}\n${f}`;
}

function actionMarkdown(a: Action): string {
  const lines: string[] = [];
  switch (a.type) {
    case 'command':
      lines.push(`- ${a.description}${a.sudo ? ' — **as root** (sudo)' : ''}:`, '', fence(a.content ?? '', 'sh'));
      break;
    case 'file':
      lines.push(`- ${a.description}: file \`${a.path ?? ''}\`${a.mode !== undefined ? `, mode ${modeText(a.mode)}` : ''}${a.sudo ? ', written as root' : ''}:`, '', fence(a.content ?? ''));
      break;
    case 'manifest':
      lines.push(`- ${a.description} (apply with \`kubectl apply --server-side -f -\`):`, '', fence(a.content ?? '', 'yaml'));
      break;
    default:
      lines.push(`- ${a.description}${a.path ? ` (\`${a.path}\`)` : ''}${a.content ? ':' : ''}`);
      if (a.content) lines.push('', fence(a.content));
  }
  return lines.join('\n');
}

export function runbookMarkdown(rb: Runbook): string {
  const out: string[] = [];
  out.push(`# Runbook: ${rb.cluster}`, '');
  out.push(`Cluster file \`${rb.clusterFile}\`, ${rb.mode === 'lab' ? 'the practice lab' : 'real boards'}. Made by \`boardkube runbook\` on ${rb.generatedAt} from the same plan \`boardkube apply\` runs.`, '');
  out.push('## Contents', '');
  for (const st of rb.stages) out.push(`- [${st.title} (${st.id})](#stage-${st.id})`);
  out.push('');
  if (rb.placeholders.length) {
    out.push('## Secrets in this handout', '', 'They are never printed. Where you see one of these, put in the value:', '');
    for (const p of rb.placeholders) out.push(`- \`${p.placeholder}\`: ${p.where}`);
    out.push('');
  }
  for (const st of rb.stages) {
    out.push(`<a id="stage-${st.id}"></a>`, '', `## ${st.title} (${st.id})`, '', st.summary, '');
    for (const step of st.steps) {
      out.push(`### ${step.title}`, '', step.explain, '');
      if (step.groups.length === 0) out.push('Nothing to do here for this cluster.', '');
      for (const g of step.groups) {
        out.push(`${whereText(g.nodes, g.actions)}:`, '');
        for (const a of g.actions) out.push(actionMarkdown(a), '');
      }
      out.push(`Check afterwards: \`${step.check.command}\` shows ${step.check.shows}.`, '');
    }
  }
  for (const l of rb.left) out.push(`Not in this handout: ${l.reason}`, '');
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}
