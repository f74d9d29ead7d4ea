/**
 * Planning throughput: 800 due missions, the model (a separate process) answering each call
 * after 200 ms, 32 calls at once. The model-bound ideal is 32 / 0.2 s = 160 plans/s: 800 calls
 * are 25 full rounds of 32. (A tick of 200, as measured before, needs 7 rounds with the last a
 * quarter full, which caps any relay at 142.9 plans/s and measures that ramp rather than the
 * relay's throughput; docs/decisions/0019-planning-is-measured-in-full-rounds.md.)
 * Measured for one user with all 800 (one user's plans commit one at a time) and for 50 users
 * with 16. The figure is a relay's second tick; its first, on a pool just opened, is printed beside.
 *
 * Beside it, its raw baseline: the same 800 calls (one plan's request, recorded from the tick)
 * sent 32 at once by the same model client with no relay around it. On a machine where the model
 * server shares the cores, that is below the ideal (each round of 32 answers is read one after
 * another), and no relay can plan faster than it.
 */
import { serve } from '@hono/node-server';
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app.ts';
import { createUser } from '../src/auth/users.ts';
import type { Database } from '../src/db/database.ts';
import { createLiveHub } from '../src/live/live-hub.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import type { ChatRequest, LanguageModel } from '@baton/engine';
import { createOpenAiModel } from '@baton/engine/openai';
import { modelFetch } from '../src/runner/model-fetch.ts';
import { createRelayRunner } from '../src/runner/relay-runner.ts';
import { createSqlStore } from '../src/store/sql-store.ts';
import { createTestDevice } from '../src/testing/test-device.ts';
import type { Figures } from './figures.ts';
import { secondsSince, type Recorder } from './record.ts';

const missions = 800;
const modelDelayMs = 200;
const concurrency = 32;

/** What issue 10 measured from outside (1 user / 50 users; with a 0 ms model the same). */
const baselines: Record<string, string> = { pglite: '35 / 48', postgres: '54 / 51' };
const goals: Record<string, Record<number, string>> = {
  pglite: { 200: '≥ 100 / ≥ 120' },
  postgres: { 200: '≥ 120 / ≥ 140', 0: '≥ 400' },
};

/** Plans/s if the relay cost nothing: `missions` calls of `delay` ms, `concurrency` at a time. */
function modelBound(delay: number): number {
  return missions / ((Math.ceil(missions / concurrency) * delay) / 1_000);
}

export async function measurePlanning(options: {
  name: string;
  db: Database;
  modelUrl: string;
  recorder: Recorder;
  users: number;
  /** How long the model behind `modelUrl` takes to answer (ms), for the figures. */
  modelDelayMs: number;
  figures: Figures;
}): Promise<void> {
  const { name, db, recorder, users } = options;
  const logger = createLogger({ level: 'silent' });
  const live = createLiveHub();
  const metrics = createMetrics();
  const app = createApp({
    db,
    live,
    metrics,
    logger,
    config: { model: undefined, webappDir: '/nonexistent' },
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const created = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(created),
    );
  });
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The users and their due missions of one tick, made through the relay as a device would.
    const seed = async (label: string) => {
      const now = Date.now();
      for (let user = 0; user < users; user += 1) {
        const { token } = await createUser({ db, name: `bench_plans_${label}_${user}` });
        const device = createTestDevice({ url, token, nowMs: now - 40 * 60_000 });
        for (let index = 0; index < missions / users; index += 1) {
          await device.createMission({
            title: `Mission ${index}`,
            schedule: { kind: 'interval', everyMs: 3_600_000, anchor: now - 30 * 60_000 },
          });
        }
        await device.push();
      }
    };
    const client = createOpenAiModel({
      endpoint: {
        baseUrl: options.modelUrl,
        apiKey: 'k',
        defaultModel: 'scripted-model',
      },
      timeoutMs: 30_000,
      // As `npm start` sends its model calls (start-relay.ts).
      fetch: modelFetch(),
    });
    // The last request the relay sent, for the baseline.
    let asked: ChatRequest | undefined;
    const model: LanguageModel = {
      defaultModel: client.defaultModel,
      complete: (request, callOptions) => {
        asked = request;
        return client.complete(request, callOptions);
      },
    };
    const runner = createRelayRunner({
      db,
      store: createSqlStore({ db }),
      live,
      model,
      instanceId: 'relay_bench',
      graceMs: 0,
      concurrency,
      metrics,
      logger,
    });
    // Two ticks of the same shape, each on users of its own. The first one after the pool is
    // opened also pays for its connections (their sign-in, and the first preparing of each
    // statement on each one) and for the code's first runs; a relay that keeps running pays
    // that once, so the figure is the second tick's, and the first is printed beside it.
    const tick = async (label: string) => {
      await seed(label);
      const started = performance.now();
      const report = await runner.tick();
      const elapsed = secondsSince(started);
      if (report.planned.length !== missions)
        throw new Error(
          `planned ${report.planned.length} of ${missions}: ${report.errors.join('; ')}`,
        );
      return missions / elapsed;
    };
    let first: number;
    let rate: number;
    try {
      first = await tick('first');
      rate = await tick('next');
    } finally {
      await runner.close();
    }
    const alone = await callsAlone(client, asked!);
    const delay = options.modelDelayMs;
    const figure = `${rate.toFixed(1)} plans/s vs ${alone.toFixed(1)} calls/s alone: ${(rate / alone).toFixed(2)}× (${delay > 0 ? `model-bound ideal ${modelBound(delay).toFixed(1)}; ` : ''}first tick after start ${first.toFixed(1)})`;
    recorder.record(
      name,
      `planning (${missions} plans of ${users} user${users === 1 ? '' : 's'}, ${delay} ms model, ${concurrency} at once)`,
      figure,
    );
    options.figures.add({
      storage: name,
      figure: `relay plans/s, ${delay} ms model, ${concurrency} calls at once, ${users} user${users === 1 ? '' : 's'}`,
      thisRun: figure,
      baseline: `${baselines[name] ?? '–'} (1 user / 50 users)`,
      goal: goals[name]?.[delay] ?? '–',
    });
  } finally {
    server.close();
  }
}

/**
 * Calls/s of `missions` calls of `request`, `concurrency` at once, through `client` alone: the
 * best of two rounds, after a round that opens the connections.
 */
async function callsAlone(client: LanguageModel, request: ChatRequest): Promise<number> {
  const signal = new AbortController().signal;
  // Every call in flight listens on it, as on the relay runner's (32 at once).
  setMaxListeners(0, signal);
  const round = async (calls: number) => {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next++ < calls) await client.complete(request, { signal });
      }),
    );
    return calls / secondsSince(started);
  };
  await round(concurrency);
  return Math.max(await round(missions), await round(missions));
}

export { modelDelayMs };
