/// <reference lib="webworker" />
/**
 * The fallback where SharedWorker is missing or broken: one dedicated worker per tab. Every tab
 * can read and write (IndexedDB is shared), but only the tab that holds the `baton-leader` Web
 * Lock ticks, plans and syncs. When that tab closes, the lock passes to the next tab; when it
 * freezes (its heartbeat stops), another tab steals the lock.
 */
import { expose } from 'comlink';
import { openDatabase } from '../db/database.ts';
import { deferredApi } from './engine-api.ts';
import { createEngineHost, type EngineHost } from './engine-host.ts';

declare const self: DedicatedWorkerGlobalScope;

const lockName = 'baton-leader';
const heartbeatEveryMs = 5_000;
const frozenAfterMs = 30_000;

const ready = createEngineHost({
  db: openDatabase(),
  origin: self.location.origin,
  host: 'dedicated',
});
// Exposed before the host is ready: messages that arrive meanwhile wait instead of being lost.
expose(deferredApi(ready.then((host) => host.api)), self);

function lead(host: EngineHost): void {
  const heartbeat = new BroadcastChannel('baton-leader-heartbeat');
  let leading = false;
  let lastBeat = Date.now();
  let beat: ReturnType<typeof setInterval> | undefined;
  let queued: AbortController | undefined;
  heartbeat.onmessage = () => {
    lastBeat = Date.now();
  };

  function becomeLeader(): void {
    leading = true;
    host.setLeader(true);
    heartbeat.postMessage({ at: Date.now() });
    beat = setInterval(() => heartbeat.postMessage({ at: Date.now() }), heartbeatEveryMs);
  }

  function stepDown(): void {
    leading = false;
    clearInterval(beat);
    host.setLeader(false);
    lastBeat = Date.now();
  }

  async function hold(steal: boolean): Promise<void> {
    const controller = steal ? undefined : new AbortController();
    if (controller) queued = controller;
    try {
      await navigator.locks.request(
        lockName,
        controller ? { signal: controller.signal } : { steal: true },
        async () => {
          if (controller) queued = undefined;
          becomeLeader();
          // Held for the life of this worker, unless another tab steals it.
          await new Promise<never>(() => undefined);
        },
      );
    } catch {
      // Stolen by a tab that thought this one was frozen, or our own queued request cancelled.
    }
    if (controller?.signal.aborted) return;
    stepDown();
    void hold(false);
  }

  // A follower takes over from a leader whose heartbeat stopped (a frozen tab keeps its lock).
  setInterval(() => {
    if (leading || Date.now() - lastBeat < frozenAfterMs + Math.random() * heartbeatEveryMs) return;
    queued?.abort();
    queued = undefined;
    void hold(true);
  }, heartbeatEveryMs);

  void hold(false);
}

void ready.then((host) => {
  if (typeof navigator.locks === 'undefined') host.setLeader(true);
  else lead(host);
});
