/// <reference lib="webworker" />
/**
 * The fallback where SharedWorker is missing or broken: one dedicated worker per tab. Every tab
 * reads and writes IndexedDB through its own worker, but only the leader (leadership.ts: a Web
 * Lock with a heartbeat, taken over from a frozen leader) ticks, plans and syncs; the others
 * tell it about their writes.
 */
import { expose } from 'comlink';
import { startHost } from './start-host.ts';

declare const self: DedicatedWorkerGlobalScope;

// Exposed before the host is ready: messages that arrive meanwhile wait instead of being lost.
expose(startHost({ host: 'dedicated', origin: self.location.origin }), self);
