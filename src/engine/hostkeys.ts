// Host keys: trust on first use (the fingerprint is shown and pinned in the saved progress), then refuse
// any other key for that board until the user says the board was re-flashed.
import type { HostKeyInfo, HostKeyPolicy } from '../ports/host.ts';
import type { StateStore } from './state.ts';

export function pinnedHostKeys(store: StateStore, onFirstUse?: (node: string, key: HostKeyInfo) => void): HostKeyPolicy {
  return {
    check(node, key) {
      const pinned = store.hostKey(node);
      if (!pinned) return { ok: true, firstUse: true };
      if (pinned.fingerprint === key.fingerprint) return { ok: true, firstUse: false };
      return { ok: false, pinned: pinned.fingerprint };
    },
    pin(node, key) {
      store.pinHostKey(node, key);
      onFirstUse?.(node, key);
    },
  };
}
