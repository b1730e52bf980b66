// The runbook as one self-contained, print-friendly HTML page: no scripts, no external files, black on white,
// a table of contents, and a page break before every stage.
import type { Action } from '../engine/types.ts';
import { modeText, whereText, type Runbook } from './runbook.ts';

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Inline `code` spans of a sentence, the rest escaped. */
function prose(text: string): string {
  return text.split(/(`[^`]+`)/).map((part) => (/^`[^`]+`$/.test(part) ? `<code>${escapeHtml(part.slice(1, -1))}</code>` : escapeHtml(part))).join('');
}

const STYLE = `
body { font: 11pt/1.45 system-ui, sans-serif; color: #000; background: #fff; max-width: 60em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 20pt; } h2 { font-size: 16pt; border-bottom: 2px solid #000; } h3 { font-size: 12.5pt; margin-top: 1.4em; }
pre { border: 1px solid #000; padding: .5em .7em; white-space: pre-wrap; word-break: break-all; font: 9.5pt/1.35 ui-monospace, monospace; }
code { font-family: ui-monospace, monospace; }
.where { font-weight: bold; } .root { border: 1px solid #000; padding: 0 .3em; font-size: 9pt; }
.check { border-left: 4px solid #000; padding-left: .6em; }
section.stage { break-before: page; page-break-before: always; }
@media print { a { color: #000; text-decoration: none; } pre { break-inside: avoid; } }
`;

function actionHtml(a: Action): string {
  const root = a.sudo ? ' <span class="root">as root</span>' : '';
  switch (a.type) {
    case 'command':
      return `<li>${prose(a.description)}${root}<pre><code>${escapeHtml(a.content ?? '')}</code></pre></li>`;
    case 'file':
      return `<li>${prose(a.description)}: file <code>${escapeHtml(a.path ?? '')}</code>${a.mode !== undefined ? `, mode ${modeText(a.mode)}` : ''}${root}<pre><code>${escapeHtml(a.content ?? '')}</code></pre></li>`;
    case 'manifest':
      return `<li>${prose(a.description)} (apply with <code>kubectl apply --server-side -f -</code>)<pre><code>${escapeHtml(a.content ?? '')}</code></pre></li>`;
    default:
      return `<li>${prose(a.description)}${a.path ? ` (<code>${escapeHtml(a.path)}</code>)` : ''}${a.content ? `<pre><code>${escapeHtml(a.content)}</code></pre>` : ''}</li>`;
  }
}

export function runbookHtml(rb: Runbook): string {
  const h: string[] = [];
  h.push('<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">', `<title>Runbook: ${escapeHtml(rb.cluster)}</title>`, `<style>${STYLE}</style>`, '</head>', '<body>');
  h.push(`<h1>Runbook: ${escapeHtml(rb.cluster)}</h1>`);
  h.push(`<p>Cluster file <code>${escapeHtml(rb.clusterFile)}</code>, ${rb.mode === 'lab' ? 'the practice lab' : 'real boards'}. Made by <code>boardkube runbook</code> on ${escapeHtml(rb.generatedAt)} from the same plan <code>boardkube apply</code> runs.</p>`);
  h.push('<nav><h2>Contents</h2><ol>');
  for (const st of rb.stages) {
    h.push(`<li><a href="#stage-${st.id}">${escapeHtml(st.title)} (${st.id})</a><ol>`);
    for (const step of st.steps) h.push(`<li><a href="#step-${st.id}-${step.id}">${escapeHtml(step.title)}</a></li>`);
    h.push('</ol></li>');
  }
  h.push('</ol></nav>');
  if (rb.placeholders.length) {
    h.push('<h2>Secrets in this handout</h2><p>They are never printed. Where you see one of these, put in the value:</p><ul>');
    for (const p of rb.placeholders) h.push(`<li><code>${escapeHtml(p.placeholder)}</code>: ${prose(p.where)}</li>`);
    h.push('</ul>');
  }
  for (const st of rb.stages) {
    h.push(`<section class="stage" id="stage-${st.id}">`, `<h2>${escapeHtml(st.title)} (${st.id})</h2>`, `<p>${prose(st.summary)}</p>`);
    for (const step of st.steps) {
      h.push(`<h3 id="step-${st.id}-${step.id}">${escapeHtml(step.title)}</h3>`, `<p>${prose(step.explain)}</p>`);
      if (step.groups.length === 0) h.push('<p>Nothing to do here for this cluster.</p>');
      for (const g of step.groups) {
        h.push(`<p class="where">${escapeHtml(whereText(g.nodes, g.actions))}:</p>`, '<ul>');
        for (const a of g.actions) h.push(actionHtml(a));
        h.push('</ul>');
      }
      h.push(`<p class="check">Check afterwards: <code>${escapeHtml(step.check.command)}</code> shows ${escapeHtml(step.check.shows)}.</p>`);
    }
    h.push('</section>');
  }
  for (const l of rb.left) h.push(`<p>Not in this handout: ${escapeHtml(l.reason)}</p>`);
  h.push('</body>', '</html>');
  return `${h.join('\n')}\n`;
}
