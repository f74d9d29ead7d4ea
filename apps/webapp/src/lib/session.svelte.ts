import { engineClient } from './engine-client.ts';
import { metaValue } from './queries.ts';

/** When the person was last here, read once as the app opens ("while you were away"). */
export const visit = $state<{ lastSeenAt: number | null; loaded: boolean }>({
  lastSeenAt: null,
  loaded: false,
});

let started = false;

/** Reads the previous visit time, then keeps `lastSeenAt` current while the app is open. */
export function startVisit(): void {
  if (started) return;
  started = true;
  const mark = () => void engineClient().markSeen({ at: Date.now() });
  void metaValue('lastSeenAt').then((value) => {
    visit.lastSeenAt = value ? Number(value) : null;
    visit.loaded = true;
    mark();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') mark();
  });
  setInterval(mark, 60_000);
}
