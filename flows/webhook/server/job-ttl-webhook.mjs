// boardkube's Job TTL webhook: a dependency-free Node server (node:https only) that answers the API server's
// AdmissionReview v1 for Jobs with a JSON Patch adding spec.ttlSecondsAfterFinished when the Job has none.
// It runs in the cluster on a stock node image with this file from a ConfigMap; the tests run this very file.
//
// Environment: DEFAULT_TTL_SECONDS (default 3600), TLS_CERT_FILE / TLS_KEY_FILE (PEM), PORT (8443),
// EXCLUDED_NAMESPACES (comma-separated, default kube-system; the webhook configuration excludes them too).
// Paths: POST /mutate (AdmissionReview), GET /healthz. The certificate is read again when its file changes,
// so a renewed Secret is picked up without a restart.
import * as fs from 'node:fs';
import * as https from 'node:https';

const ttl = Number(process.env.DEFAULT_TTL_SECONDS ?? '3600');
const certFile = process.env.TLS_CERT_FILE ?? '/tls/tls.crt';
const keyFile = process.env.TLS_KEY_FILE ?? '/tls/tls.key';
const port = Number(process.env.PORT ?? '8443');
const excluded = new Set((process.env.EXCLUDED_NAMESPACES ?? 'kube-system').split(',').map((s) => s.trim()).filter(Boolean));
const MAX_BODY = 3 * 1024 * 1024;

if (!Number.isInteger(ttl) || ttl < 1) {
  console.error(`DEFAULT_TTL_SECONDS must be a positive whole number, got ${process.env.DEFAULT_TTL_SECONDS}`);
  process.exit(2);
}

function log(fields) {
  console.log(JSON.stringify({ time: new Date().toISOString(), ...fields }));
}

/** The AdmissionReview response for one request: allowed always; a patch only when the Job has no TTL. */
export function review(request) {
  const response = { uid: request?.uid ?? '', allowed: true };
  const job = request?.object;
  const ns = request?.namespace ?? job?.metadata?.namespace ?? '';
  const isJob = request?.kind?.group === 'batch' && request?.kind?.kind === 'Job';
  if (!isJob || request?.operation !== 'CREATE' || excluded.has(ns)) return { response, action: 'skipped' };
  if (job?.spec && job.spec.ttlSecondsAfterFinished !== undefined && job.spec.ttlSecondsAfterFinished !== null) {
    return { response, action: 'kept' };
  }
  const patch = [{ op: 'add', path: '/spec/ttlSecondsAfterFinished', value: ttl }];
  response.patchType = 'JSONPatch';
  response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  return { response, action: 'defaulted' };
}

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function handle(req, res) {
  if (req.method === 'GET' && req.url === '/healthz') return answer(res, 200, { ok: true });
  if (req.method !== 'POST' || !req.url?.startsWith('/mutate')) return answer(res, 404, { error: 'not found' });
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    let rv;
    try {
      rv = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return answer(res, 400, { error: 'the body is not JSON' });
    }
    if (rv?.apiVersion !== 'admission.k8s.io/v1' || rv?.kind !== 'AdmissionReview' || !rv.request) {
      return answer(res, 400, { error: 'expected an admission.k8s.io/v1 AdmissionReview with a request' });
    }
    const { response, action } = review(rv.request);
    log({ uid: response.uid, namespace: rv.request.namespace, name: rv.request.object?.metadata?.name ?? rv.request.name, action });
    answer(res, 200, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
  });
}

function tls() {
  return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
}

const server = https.createServer({ ...tls(), minVersion: 'TLSv1.2' }, handle);
server.listen(port, () => log({ msg: `listening on :${port}`, defaultTtlSeconds: ttl, excluded: [...excluded] }));

// Kubernetes updates a mounted Secret by swapping a symlink: look at the contents, not at the inode.
let current = fs.readFileSync(certFile, 'utf8');
setInterval(() => {
  try {
    const now = fs.readFileSync(certFile, 'utf8');
    if (now === current) return;
    server.setSecureContext({ ...tls(), minVersion: 'TLSv1.2' });
    current = now;
    log({ msg: 'certificate reloaded' });
  } catch (err) {
    log({ msg: `certificate not reloaded: ${err.message}` });
  }
}, 30_000).unref();

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
