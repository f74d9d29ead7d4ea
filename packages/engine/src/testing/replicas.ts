import { createEngine, type Engine } from '../engine.ts';
import type { Runner } from '../model/iteration.ts';
import type { Claims, Clock, LanguageModel } from '../ports.ts';
import { createSequentialIds } from './fixed-clock.ts';
import { createMemoryStore, type MemoryStore } from './memory-store.ts';

/** One replica for tests: an engine on its own memory store. */
export interface Replica {
  store: MemoryStore;
  engine: Engine;
}

/**
 * A replica (device or relay) on a fresh memory store. Its change ids start with `idPrefix`
 * (one Crockford letter per replica keeps ids unique across replicas).
 */
export function createReplica(options: {
  runner: Runner;
  clock: Clock;
  idPrefix: string;
  model?: LanguageModel | undefined;
  claims?: Claims | undefined;
}): Replica {
  const store = createMemoryStore();
  const nodeId =
    options.runner.kind === 'device' ? options.runner.deviceId : options.runner.instanceId;
  const engine = createEngine({
    store,
    clock: options.clock,
    ids: createSequentialIds(options.idPrefix),
    model: options.model,
    claims: options.claims,
    nodeId,
    runner: options.runner,
  });
  return { store, engine };
}

/**
 * A one-way link that delivers what `from` recorded to `to`, in commit order, as the relay's
 * pull does; `deliver(limit)` sends at most `limit` changes. Refused changes throw.
 */
export function createLink(from: Replica, to: Replica) {
  let sent = 0;
  return {
    pending: () => from.store.recorded.length - sent,
    async deliver(limit = Infinity): Promise<void> {
      const changes = from.store.recorded.slice(sent, sent + limit);
      sent += changes.length;
      if (changes.length === 0) return;
      const report = await to.engine.applyRemote(changes);
      if (report.refused.length > 0)
        throw new Error(`refused changes: ${JSON.stringify(report.refused)}`);
    },
  };
}

export type Link = ReturnType<typeof createLink>;

/** Delivers both ways until neither side has anything new (compensations included). */
export async function syncUntilQuiet(links: { there: Link; back: Link }): Promise<void> {
  for (let round = 0; links.there.pending() > 0 || links.back.pending() > 0; round += 1) {
    if (round > 20) throw new Error('sync did not settle after 20 rounds');
    await links.there.deliver();
    await links.back.deliver();
  }
}
