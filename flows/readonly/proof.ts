// The proof: with the exported kubeconfig itself, ask the API server what it may do (SelfSubjectAccessReview,
// like `kubectl auth can-i`) and really try the important ones. The rows are step outputs: screens and the CLI
// print them as a table.
import { ClusterError, type AccessQuestion, type ClusterPort } from '../../src/ports/cluster.ts';
import type { ReadonlyOptions } from './options.ts';
import { serviceAccountUser } from './manifests.ts';
import { textTable } from '../../src/util/table.ts';

export type Verdict = 'allowed' | 'denied';

export interface ProofRow {
  check: string;
  /** 'can-i': SelfSubjectAccessReview; 'request': the real request was sent. */
  how: 'can-i' | 'request';
  expected: Verdict;
  actual: Verdict | 'error';
  ok: boolean;
  /** What the API server said (the 403 message, how many objects came back, an error). */
  detail: string;
  [key: string]: string | boolean;
}

/** One row of a proof: a question for SelfSubjectAccessReview and, optionally, the real request. */
export interface AccessCheck {
  check: string;
  expected: Verdict;
  question: AccessQuestion;
  /** The real request, if this check also tries it; resolves to a detail text when allowed. */
  attempt?: (port: ClusterPort) => Promise<string>;
}

const PROOF_CONFIGMAP = 'boardkube-readonly-proof';

export function proofChecks(o: Pick<ReadonlyOptions, 'account' | 'namespace' | 'scope'>): AccessCheck[] {
  // Where the namespaced "denied" checks are asked: the one namespace of a namespace scope, else the SA's own.
  const ns = o.scope.kind === 'namespace' ? o.scope.namespace : o.namespace;
  const countOf = (what: string) => (items: unknown[]) => `${items.length} ${what}`;
  const checks: AccessCheck[] = [];
  if (o.scope.kind === 'namespace') {
    checks.push({
      check: `list pods in namespace ${ns}`,
      expected: 'allowed',
      question: { verb: 'list', resource: 'pods', namespace: ns },
      attempt: async (p) => countOf('pods')(await p.list('v1', 'Pod', ns)),
    });
  }
  checks.push({
    check: 'list pods in all namespaces',
    expected: o.scope.kind === 'namespace' ? 'denied' : 'allowed',
    question: { verb: 'list', resource: 'pods' },
    attempt: async (p) => countOf('pods')(await p.list('v1', 'Pod')),
  });
  checks.push({
    check: 'list nodes',
    // The built-in view role has no nodes (nor any other cluster-scoped resource).
    expected: o.scope.kind === 'cluster-read' ? 'allowed' : 'denied',
    question: { verb: 'list', resource: 'nodes' },
    attempt: async (p) => countOf('nodes')(await p.list('v1', 'Node')),
  });
  checks.push({
    check: `create configmaps in ${ns}`,
    expected: 'denied',
    question: { verb: 'create', resource: 'configmaps', namespace: ns },
    // dry run: even if RBAC were wrong, nothing is stored.
    attempt: async (p) => {
      await p.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: PROOF_CONFIGMAP, namespace: ns }, data: { proof: 'must be refused' } }, { dryRun: true });
      return 'created (dry run, nothing stored)';
    },
  });
  checks.push({ check: `update configmaps in ${ns}`, expected: 'denied', question: { verb: 'update', resource: 'configmaps', namespace: ns } });
  checks.push({
    check: `delete configmaps in ${ns}`,
    expected: 'denied',
    question: { verb: 'delete', resource: 'configmaps', namespace: ns },
    // The API server authorizes before it looks: a ConfigMap that does not exist gives 403 when denied, 404 when allowed.
    attempt: async (p) => `allowed (no ConfigMap ${PROOF_CONFIGMAP} to delete: ${(await p.delete('v1', 'ConfigMap', PROOF_CONFIGMAP, ns)) ? 'deleted!' : 'not found'})`,
  });
  checks.push({ check: `create pods in ${ns}`, expected: 'denied', question: { verb: 'create', resource: 'pods', namespace: ns } });
  checks.push({ check: `exec into pods in ${ns}`, expected: 'denied', question: { verb: 'create', resource: 'pods', subresource: 'exec', namespace: ns } });
  checks.push({ check: 'delete namespaces', expected: 'denied', question: { verb: 'delete', resource: 'namespaces' } });
  checks.push({
    check: `read secrets in ${ns}`,
    expected: 'denied',
    question: { verb: 'get', resource: 'secrets', namespace: ns },
    attempt: async (p) => countOf('secrets')(await p.list('v1', 'Secret', ns)),
  });
  checks.push({ check: 'list secrets in all namespaces', expected: 'denied', question: { verb: 'list', resource: 'secrets' } });
  checks.push({ check: `create service account tokens in ${o.namespace}`, expected: 'denied', question: { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: o.namespace } });
  return checks;
}

/**
 * Runs every check as the identity of `port` (the exported kubeconfig). SelfSubjectAccessReview for all; the
 * real request too where `withRequests` (the run does; verify only asks).
 */
export async function runProof(port: ClusterPort, o: Pick<ReadonlyOptions, 'account' | 'namespace' | 'scope'>, withRequests = true): Promise<ProofRow[]> {
  return runChecks(port, proofChecks(o), withRequests);
}

/** Runs any list of checks as the identity of `port` (other stages prove their accounts with it too). */
export async function runChecks(port: ClusterPort, checks: AccessCheck[], withRequests = true): Promise<ProofRow[]> {
  const rows: ProofRow[] = [];
  for (const c of checks) {
    const allowed = await port.canI(c.question);
    const actual: Verdict = allowed ? 'allowed' : 'denied';
    rows.push({ check: c.check, how: 'can-i', expected: c.expected, actual, ok: actual === c.expected, detail: canIText(c.question, allowed) });
    if (!withRequests || !c.attempt) continue;
    try {
      const detail = await c.attempt(port);
      rows.push({ check: c.check, how: 'request', expected: c.expected, actual: 'allowed', ok: c.expected === 'allowed', detail });
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'forbidden') {
        rows.push({ check: c.check, how: 'request', expected: c.expected, actual: 'denied', ok: c.expected === 'denied', detail: `403: ${forbiddenText(err)}` });
      } else if (err instanceof ClusterError && err.kind === 'not-found' && c.question.verb === 'delete') {
        rows.push({ check: c.check, how: 'request', expected: c.expected, actual: 'allowed', ok: c.expected === 'allowed', detail: '404: allowed, the ConfigMap just did not exist' });
      } else {
        rows.push({ check: c.check, how: 'request', expected: c.expected, actual: 'error', ok: false, detail: (err as Error).message.split('\n')[0] ?? String(err) });
      }
    }
  }
  return rows;
}

function canIText(q: AccessQuestion, allowed: boolean): string {
  const res = q.subresource ? `${q.resource}/${q.subresource}` : q.resource;
  return `kubectl auth can-i ${q.verb} ${res}${q.namespace ? ` -n ${q.namespace}` : ' -A'} → ${allowed ? 'yes' : 'no'}`;
}

/** The API server's own sentence, without our "what we tried:" prefix. */
function forbiddenText(err: ClusterError): string {
  const first = err.message.split('\n')[0] ?? '';
  const i = first.indexOf(': ');
  return i >= 0 ? first.slice(i + 2) : first;
}

/** The rows as a plain-text table (CLI, logs, error messages). */
export function formatProofTable(rows: ProofRow[]): string {
  return textTable(['check', 'how', 'expected', 'actual', ''], rows.map((r) => [r.check, r.how, r.expected, r.actual, r.ok ? 'ok' : 'WRONG'])).join('\n');
}

/** The in-cluster way of the seed article: a pod running as the service account calls the API server. */
export function inClusterExample(o: Pick<ReadonlyOptions, 'account' | 'namespace' | 'scope'>): string {
  const listPath = o.scope.kind === 'namespace' ? `/api/v1/namespaces/${o.scope.namespace}/pods` : '/api/v1/pods';
  return [
    `# Inside the cluster: a pod that runs as ServiceAccount ${o.namespace}/${o.account} (${serviceAccountUser(o)})`,
    `# gets its token mounted and reads the API like this:`,
    `kubectl apply -f - <<'EOF'`,
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  name: readonly-shell',
    `  namespace: ${o.namespace}`,
    'spec:',
    `  serviceAccountName: ${o.account}`,
    '  containers:',
    '  - name: shell',
    '    image: curlimages/curl:8.11.1',
    '    command: ["sleep", "3600"]',
    'EOF',
    `# (curl --oauth2-bearer sends the mounted token as the HTTP bearer authorization header)`,
    `kubectl -n ${o.namespace} exec readonly-shell -- sh -c 'curl -sS --cacert /var/run/secrets/kubernetes.io/serviceaccount/ca.crt --oauth2-bearer "$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)" https://kubernetes.default.svc${listPath}'`,
    `# The same call creating a ConfigMap answers 403 Forbidden.`,
    `kubectl -n ${o.namespace} delete pod readonly-shell`,
  ].join('\n');
}
