// Secrets live only in memory. Everything that leaves the process (logs, state, screens) goes through redact().
import type { Secrets } from './types.ts';

export class MemorySecrets implements Secrets {
  readonly #values = new Map<string, string>();
  get(name: string): string | undefined {
    return this.#values.get(name);
  }
  set(name: string, value: string): void {
    this.#values.set(name, value);
  }
  values(): string[] {
    return [...this.#values.values()].filter((v) => v.length >= 3);
  }
}

const PATTERNS: Array<[RegExp, string]> = [
  // PEM private keys (RSA, EC, OpenSSH, PKCS#8), whole block.
  [/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g, '<private key redacted>'],
  // kubeadm bootstrap tokens: abcdef.0123456789abcdef
  [/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, '<join token redacted>'],
  // JWTs (service-account tokens)
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, '<token redacted>'],
  // key: value / key=value pairs that name a secret
  [/\b(password|passwd|token|secret|client-key-data)(["']?\s*[:=]\s*["']?)([^\s"',}]+)/gi, '$1$2<redacted>'],
  [/(Authorization:\s*Bearer\s+)\S+/gi, '$1<redacted>'],
];

/** Removes known secret values and anything shaped like a secret. */
export function redact(text: string, secrets?: Secrets): string {
  let out = text;
  for (const value of secrets?.values() ?? []) out = out.split(value).join('<redacted>');
  for (const [re, repl] of PATTERNS) out = out.replace(re, repl);
  return out;
}
