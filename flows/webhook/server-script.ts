// The webhook server's source (server/job-ttl-webhook.mjs), as text for its ConfigMap. In the sources it sits
// beside this module; the built CLI carries a copy beside bin/boardkube.js (src/cli/build.mjs puts it there).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SERVER_FILE = 'job-ttl-webhook.mjs';
/** The file in the sources (tests run it). */
export const SERVER_SOURCE_PATH = fileURLToPath(new URL(`./server/${SERVER_FILE}`, import.meta.url));

export function serverScript(): string {
  // bin/boardkube.js or bin/chunks/*.js when bundled; flows/webhook/ in the sources.
  const candidates = [new URL(`./server/${SERVER_FILE}`, import.meta.url), new URL(`./${SERVER_FILE}`, import.meta.url), new URL(`../${SERVER_FILE}`, import.meta.url)];
  for (const u of candidates) {
    try {
      return readFileSync(u, 'utf8');
    } catch {
      // next place
    }
  }
  throw new Error(`the webhook server's source ${SERVER_FILE} is missing beside ${fileURLToPath(import.meta.url)} (rebuild with npm run build)`);
}
