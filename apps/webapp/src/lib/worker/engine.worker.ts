/// <reference lib="webworker" />
/**
 * The SharedWorker entry: one engine host for every tab of this browser profile that loaded
 * this build. Each tab connects and talks to the same EngineApi over comlink. The host leads
 * (plans and syncs) only while it holds the leader lock, so a SharedWorker of another build,
 * open in an older tab, never plans beside it.
 */
import { expose } from 'comlink';
import type { EngineApi } from './engine-api.ts';
import { startHost } from './start-host.ts';

declare const self: SharedWorkerGlobalScope;

let api: EngineApi | undefined;

self.onconnect = (event: MessageEvent) => {
  const port = event.ports[0];
  api ??= startHost({ host: 'shared', origin: self.location.origin });
  if (port) expose(api, port);
};
