/**
 * The page side of the engine worker. Every tab creates the SharedWorker from the same URL, so
 * they share one engine; where SharedWorker is missing (or `?worker=dedicated` is set, for
 * tests) each tab runs a dedicated worker and a Web Locks leader plans.
 */
import { wrap, type Remote } from 'comlink';
import type { EngineApi } from './worker/engine-api.ts';

let client: Remote<EngineApi> | undefined;

function wantsDedicated(): boolean {
  if (typeof SharedWorker === 'undefined') return true;
  try {
    return (
      new URL(location.href).searchParams.get('worker') === 'dedicated' ||
      localStorage.getItem('baton.worker') === 'dedicated'
    );
  } catch {
    return false;
  }
}

/** The engine API; the worker starts on first use. Call only in the browser. */
export function engineClient(): Remote<EngineApi> {
  if (client) return client;
  if (wantsDedicated()) {
    const worker = new Worker(new URL('./worker/dedicated.worker.ts', import.meta.url), {
      type: 'module',
      name: 'baton',
    });
    client = wrap<EngineApi>(worker);
  } else {
    const worker = new SharedWorker(new URL('./worker/engine.worker.ts', import.meta.url), {
      type: 'module',
      name: 'baton',
    });
    worker.onerror = (event) => console.error('[baton] shared worker error', event);
    client = wrap<EngineApi>(worker.port);
  }
  return client;
}

declare global {
  interface Window {
    /** For e2e tests and diagnosis: `await window.baton.debugState()`. */
    baton?: {
      debugState: () => ReturnType<EngineApi['debugState']>;
      poke: () => Promise<void>;
      /** For e2e tests: a mission with a schedule the form cannot express (e.g. a near anchor). */
      createMission: (draft: Record<string, unknown>) => ReturnType<EngineApi['createMission']>;
    };
  }
}

/** Puts a tiny debug handle on `window.baton` (plain data only). */
export function installDebugHandle(): void {
  window.baton = {
    debugState: () => engineClient().debugState(),
    poke: () => engineClient().poke(),
    createMission: (draft) => engineClient().createMission({ draft }),
  };
}
