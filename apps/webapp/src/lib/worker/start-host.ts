import { openDatabase } from '../db/database.ts';
import { deferredApi, inputSchemas, type EngineApi, type EngineStatus } from './engine-api.ts';
import { errorData } from './error-data.ts';
import { createEngineHost } from './engine-host.ts';

/**
 * Starts this worker's engine host and returns the EngineApi to expose at once: `hello` answers
 * immediately, every other call waits until the host has opened IndexedDB.
 */
export function startHost(options: { host: EngineStatus['host']; origin: string }): EngineApi {
  return startHostWithLifecycle(options).api;
}

/**
 * `startHost`, with the SharedWorker's lifecycle: `idle` when its last page went away (it may
 * live on a while, see engine.worker.ts), `resume` when a page connects again.
 */
export function startHostWithLifecycle(options: { host: EngineStatus['host']; origin: string }): {
  api: EngineApi;
  idle(): void;
  resume(): void;
} {
  const random = crypto.getRandomValues(new Uint8Array(6));
  const hostId = `${options.host}_${Array.from(random, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
  let version: string | null = null;
  const ready = createEngineHost({
    db: openDatabase(),
    origin: options.origin,
    host: options.host,
    hostId,
    locks: typeof navigator.locks === 'undefined' ? undefined : navigator.locks,
    version: () => version,
  });
  ready.catch((error: unknown) => console.error('[baton] the engine could not start', error));
  // Where the browser tells workers about the network, react without waiting for a page.
  for (const online of [true, false]) {
    globalThis.addEventListener(online ? 'online' : 'offline', () => {
      void ready.then((host) => host.api.networkChanged({ online })).catch(() => undefined);
    });
  }
  const api = deferredApi({
    ready: ready.then((host) => host.api as EngineApi),
    hello: async (input) => {
      const parsed = inputSchemas.hello.safeParse(input);
      if (!parsed.success) return { ok: false, error: errorData(parsed.error) };
      version ??= parsed.data.version;
      return { ok: true, value: { host: options.host, hostId } };
    },
  });
  return {
    api,
    idle: () => void ready.then((host) => host.idle()).catch(() => undefined),
    resume: () => void ready.then((host) => host.resume()).catch(() => undefined),
  };
}
