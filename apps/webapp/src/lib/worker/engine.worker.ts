/// <reference lib="webworker" />
/**
 * The SharedWorker entry: one engine for every tab of this browser profile. Each tab connects
 * and talks to the same EngineApi over comlink.
 */
import { expose } from 'comlink';
import { openDatabase } from '../db/database.ts';
import { deferredApi, type EngineApi } from './engine-api.ts';
import { createEngineHost } from './engine-host.ts';

declare const self: SharedWorkerGlobalScope;

let api: EngineApi | undefined;

function engineApi(): EngineApi {
  api ??= deferredApi(
    createEngineHost({ db: openDatabase(), origin: self.location.origin, host: 'shared' }).then(
      (host) => {
        host.setLeader(true);
        return host.api;
      },
    ),
  );
  return api;
}

self.onconnect = (event: MessageEvent) => {
  const port = event.ports[0];
  if (port) expose(engineApi(), port);
};
