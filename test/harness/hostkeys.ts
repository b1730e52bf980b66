// An in-memory pin store like the one the saved progress keeps, for adapter tests without a state file.
import type { HostKeyInfo, HostKeyPolicy } from '../../src/ports/host.ts';

export function memoryPolicy(): HostKeyPolicy & { pins: Array<{ node: string; key: HostKeyInfo }>; pinned: Map<string, string> } {
  const pinned = new Map<string, string>();
  const pins: Array<{ node: string; key: HostKeyInfo }> = [];
  return {
    pins,
    pinned,
    check(node, key) {
      const fp = pinned.get(node);
      if (fp === undefined) return { ok: true, firstUse: true };
      return fp === key.fingerprint ? { ok: true, firstUse: false } : { ok: false, pinned: fp };
    },
    pin(node, key) {
      pinned.set(node, key.fingerprint);
      pins.push({ node, key });
    },
  };
}
