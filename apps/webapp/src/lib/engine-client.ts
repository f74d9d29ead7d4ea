/**
 * The page side of the engine worker. Every tab of one build creates the SharedWorker from the
 * same URL, so they share one engine. Where SharedWorker is missing, throws, fails to load, or
 * does not answer `hello` within a few seconds, this tab runs a dedicated worker instead (and
 * `?worker=dedicated` forces that, for tests); either way one leader plans (leadership.ts).
 * Every call resolves with a Result, even when no worker could start.
 */
import { version } from '$app/environment';
import { releaseProxy, wrap, type Remote } from 'comlink';
import { EngineError } from '@baton/engine';
import { engineApiMethods, type EngineApi, type HelloAnswer } from './worker/engine-api.ts';
import { errorData } from './worker/error-data.ts';
import { reportPageLifecycle } from './worker/page-lifecycle.ts';

/** How the engine came up in this tab. */
export type EngineStart =
  | { state: 'starting' }
  | { state: 'ready'; host: HelloAnswer['host']; hostId: string; fallbackReason: string | null }
  | { state: 'failed'; message: string };

/** A SharedWorker that has not answered by then is treated as broken. */
const sharedStartMs = 6_000;
/** The dedicated worker gets longer (there is nothing else to try), then the tab says so. */
const dedicatedStartMs = 20_000;

let start: EngineStart = { state: 'starting' };
const listeners = new Set<(start: EngineStart) => void>();
let connecting: Promise<Remote<EngineApi>> | undefined;
let client: EngineApi | undefined;

function setStart(next: EngineStart): void {
  start = next;
  for (const listener of listeners) listener(next);
}

/** The engine's start state now, and every change after (returns an unsubscribe). */
export function onEngineStart(listener: (start: EngineStart) => void): () => void {
  listeners.add(listener);
  listener(start);
  return () => listeners.delete(listener);
}

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

/** Resolves with `hello`'s answer, or rejects on the worker's error event or after `ms`. */
async function greet(
  remote: Remote<EngineApi>,
  worker: { addEventListener(type: 'error', listener: (event: Event) => void): void },
  ms: number,
  what: string,
): Promise<HelloAnswer> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (event) =>
      reject(new Error(`the ${what} failed to load${describeEvent(event)}`)),
    );
    timer = setTimeout(
      () => reject(new Error(`the ${what} did not answer within ${ms / 1000} s`)),
      ms,
    );
  });
  try {
    const result = await Promise.race([remote.hello({ version }), failed]);
    if (!result.ok) throw new Error(result.error.message);
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

function describeEvent(event: Event): string {
  const message = (event as ErrorEvent).message;
  return message ? ` (${message})` : '';
}

async function startShared(): Promise<{ remote: Remote<EngineApi>; hello: HelloAnswer }> {
  // `extendedLifetime` (Chromium 148+; others ignore it): a reload reaches the same worker, so
  // its run in flight is not cut off and planned again by a new worker (engine.worker.ts).
  const worker = new SharedWorker(new URL('./worker/engine.worker.ts', import.meta.url), {
    type: 'module',
    name: 'baton',
    extendedLifetime: true,
  } as WorkerOptions);
  const remote = wrap<EngineApi>(worker.port);
  reportPageLifecycle(worker.port);
  try {
    return { remote, hello: await greet(remote, worker, sharedStartMs, 'shared engine worker') };
  } catch (error) {
    remote[releaseProxy]();
    worker.port.close();
    throw error;
  }
}

async function startDedicated(): Promise<{ remote: Remote<EngineApi>; hello: HelloAnswer }> {
  const worker = new Worker(new URL('./worker/dedicated.worker.ts', import.meta.url), {
    type: 'module',
    name: 'baton',
  });
  const remote = wrap<EngineApi>(worker);
  return { remote, hello: await greet(remote, worker, dedicatedStartMs, 'engine worker') };
}

async function connect(): Promise<Remote<EngineApi>> {
  let fallbackReason: string | null = null;
  if (!wantsDedicated()) {
    try {
      const { remote, hello } = await startShared();
      setStart({ state: 'ready', host: hello.host, hostId: hello.hostId, fallbackReason });
      return remote;
    } catch (error) {
      fallbackReason = (error as Error).message;
      console.warn(`[baton] ${fallbackReason}; using a worker for this tab instead`);
    }
  }
  try {
    const { remote, hello } = await startDedicated();
    setStart({ state: 'ready', host: hello.host, hostId: hello.hostId, fallbackReason });
    return remote;
  } catch (error) {
    const message =
      `The engine could not start in this browser: ${(error as Error).message}` +
      (fallbackReason ? ` (and before that, ${fallbackReason})` : '') +
      '. Reload the page to try again.';
    setStart({ state: 'failed', message });
    throw new EngineError('unavailable', message);
  }
}

type AnyMethod = (...args: unknown[]) => Promise<unknown>;

/**
 * The engine API; the worker starts on first use. Call only in the browser. No method throws:
 * a worker that could not start, or a call that failed on the way, resolves with
 * `{ok: false, error}`.
 */
export function engineClient(): EngineApi {
  if (client) return client;
  const api: Record<string, AnyMethod> = {};
  for (const name of engineApiMethods) {
    api[name] = async (...args: unknown[]) => {
      try {
        connecting ??= connect();
        const remote = (await connecting) as unknown as Record<string, AnyMethod>;
        return await remote[name]!(...args);
      } catch (error) {
        return { ok: false, error: errorData(error) };
      }
    };
  }
  client = api as unknown as EngineApi;
  return client;
}

declare global {
  interface Window {
    /** For e2e tests and diagnosis: `await window.baton.debugState()`. */
    baton?: {
      debugState: EngineApi['debugState'];
      poke: EngineApi['poke'];
      /** For e2e tests: a mission with a schedule the form cannot express (e.g. a near anchor). */
      createMission: (draft: Record<string, unknown>) => ReturnType<EngineApi['createMission']>;
      /** How the engine started in this tab. */
      engineStart: () => EngineStart;
    };
  }
}

/** Puts a tiny debug handle on `window.baton` (plain data only). */
export function installDebugHandle(): void {
  window.baton = {
    debugState: () => engineClient().debugState(),
    poke: () => engineClient().poke(),
    createMission: (draft) => engineClient().createMission({ draft }),
    engineStart: () => start,
  };
}
