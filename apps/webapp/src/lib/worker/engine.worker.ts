/// <reference lib="webworker" />
/**
 * The SharedWorker entry: one engine host for every tab of this browser profile that loaded
 * this build. Each tab connects and talks to the same EngineApi over comlink. The host leads
 * (plans and syncs) only while it holds the leader lock, so a SharedWorker of another build,
 * open in an older tab, never plans beside it.
 */
import { expose } from 'comlink';
import type { EngineApi } from './engine-api.ts';
import { pageBackMessage, pageGoneMessage } from './page-lifecycle.ts';
import { startHostWithLifecycle } from './start-host.ts';

declare const self: SharedWorkerGlobalScope;

/**
 * How long the worker waits, once its last page went away, before it stops leading: a reload
 * connects again well within it. Pages start this worker with `extendedLifetime`, so a reload
 * reaches the same worker and its run in flight goes on (one conversation per slot); closing
 * the browser's last tab lets the relay take the baton once the run in flight is written.
 */
const pagesGoneGraceMs = 3_000;

let started: ReturnType<typeof startHostWithLifecycle> | undefined;
const ports = new Set<MessagePort>();
let idleTimer: ReturnType<typeof setTimeout> | undefined;

self.onconnect = (event: MessageEvent) => {
  const port = event.ports[0];
  started ??= startHostWithLifecycle({ host: 'shared', origin: self.location.origin });
  if (!port) return;
  ports.add(port);
  clearTimeout(idleTimer);
  started.resume();
  // A page says when it goes (pagehide: closed, reloaded, or put in the back/forward cache)
  // and when it comes back from that cache; a port also closes with its page where the browser
  // has MessagePort's close event.
  const gone = () => {
    ports.delete(port);
    if (ports.size > 0) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (ports.size === 0) started?.idle();
    }, pagesGoneGraceMs);
  };
  port.addEventListener('message', (message: MessageEvent) => {
    const type = (message.data as { type?: unknown } | null)?.type;
    if (type === pageGoneMessage) gone();
    else if (type === pageBackMessage) {
      ports.add(port);
      clearTimeout(idleTimer);
      started?.resume();
    }
  });
  (port as EventTarget).addEventListener('close', gone);
  expose(started.api as EngineApi, port);
};
