/**
 * Changes carried by a live poke (design §3, decision 9): right after a small push, the relay's
 * poke holds what it appended and the cursor range that covers, so a device that is exactly at
 * the start of the range applies it without a pull round trip. Any other device pulls as before:
 * nothing is ever skipped, since a device only moves its cursor across changes it applied.
 */
import type { ApplyReport } from '../engine.ts';
import type { Change } from './change.ts';
import { maxLiveBytes, maxLiveChanges, type LiveServerMessage } from './protocol.ts';
import type { CursorStore } from './sync-session.ts';

export type PokeMessage = Extract<LiveServerMessage, { type: 'poke' }>;

/**
 * The poke a relay sends after a commit appended `changes` (every one of them, in commit order)
 * so that the user's log now ends at `cursor` and, before them, ended at `since`. It carries the
 * changes when there are at most `maxLiveChanges` of about `maxLiveBytes` of JSON at most;
 * otherwise (or without `since`) it is a plain poke.
 */
export function pokeAfterAppend(options: {
  cursor: string;
  since: string | undefined;
  changes: readonly Change[];
}): PokeMessage {
  const poke: PokeMessage = { type: 'poke', cursor: options.cursor };
  const { changes, since } = options;
  if (since === undefined || changes.length === 0 || changes.length > maxLiveChanges) return poke;
  // JSON text length in UTF-16 units: close enough to bytes for a size guard.
  if (JSON.stringify(changes).length > maxLiveBytes) return poke;
  return { ...poke, since, changes: [...changes] };
}

export type LiveChangesOutcome =
  | { outcome: 'applied'; report: ApplyReport }
  /** The stored cursor is the poke's own `cursor` already (a pull brought them): nothing to do. */
  | { outcome: 'current' }
  /** The poke carries no changes, or they do not start at this device's cursor: pull. */
  | { outcome: 'pull' };

/**
 * Applies a poke's changes when they start exactly at the stored cursor (`since`), then stores
 * the poke's `cursor`, as one pulled page would. A device already at the poke's `cursor` has
 * nothing to do. Otherwise applies nothing and says so: the caller pulls. Cursors are only
 * compared for equality (they are opaque to clients). The caller runs this one at a time with its pulls (both move the cursor).
 * Changes are checked one by one by `apply`, as pulled ones are.
 */
export async function applyLiveChanges(options: {
  poke: PokeMessage;
  cursor: CursorStore;
  apply: (changes: unknown[]) => Promise<ApplyReport>;
}): Promise<LiveChangesOutcome> {
  const { poke } = options;
  const stored = await options.cursor.get();
  if (stored === poke.cursor) return { outcome: 'current' };
  if (!poke.changes || poke.since === undefined || stored !== poke.since)
    return { outcome: 'pull' };
  const report = await options.apply(poke.changes);
  await options.cursor.set(poke.cursor);
  return { outcome: 'applied', report };
}
