/**
 * Noisy neighbour: bob's device asks `/v1/me` then pulls, again and again (one request at a
 * time, as a device does), first alone and then while alice floods: `floodWorkers` pushes of
 * 1,000 changes in flight, each sent again as soon as it is answered (after 100 ms when refused,
 * a client that does not wait the `Retry-After`). Same relay, same run: the difference is
 * alice. Bob's latency is each request's own, /me and pull together.
 */
import type { BenchUser } from './bench-relay.ts';
import { createHttpLoadClient, formatMs, percentile, sleep, statusTally } from './http-load.ts';
import type { Recorder } from './record.ts';
import { createPushMaker, createPuller, idPrefixOf } from './workload.ts';

interface BobFigures {
  p50: number;
  p95: number;
  requests: number;
  notServed: number;
  /** Answers by status (`statusTally`). */
  statuses: string;
}

export interface NeighbourFigures {
  /** Bob's served requests (200) and those refused or failed (`notServed`). */
  alone: BobFigures;
  flooded: BobFigures;
  /** Alice's pushes answered 200, refused (429/503) and failed, and changes stored per second. */
  flood: { pushed: number; refused: number; failed: number; changesPerSecond: number };
}

export async function measureNeighbour(options: {
  name: string;
  url: string;
  bob: BenchUser;
  alice: BenchUser;
  seconds: number;
  floodWorkers: number;
  recorder: Recorder;
}): Promise<NeighbourFigures> {
  const { name, url, seconds, recorder } = options;
  const client = createHttpLoadClient({ url });
  const bobPush = createPushMaker({ deviceId: 'dev_bob', idPrefix: idPrefixOf(1000), rows: 50 });
  const setup = await client.send({
    method: 'POST',
    path: '/v1/sync/push',
    token: options.bob.token,
    body: bobPush(50),
  });
  if (setup.status !== 200) throw new Error(`bob's first push failed: ${setup.status}`);

  /** Bob's requests for `forSeconds`: their latencies (only answered 200 count as served). */
  const probeBob = async (forSeconds: number) => {
    const pull = createPuller(100);
    const latencies: number[] = [];
    const statuses: number[] = [];
    let notServed = 0;
    const until = performance.now() + forSeconds * 1_000;
    while (performance.now() < until) {
      const me = await client.send({ method: 'GET', path: '/v1/me', token: options.bob.token });
      statuses.push(me.status);
      if (me.status === 200) latencies.push(me.ms);
      else notServed += 1;
      const pulled = await client.send({
        method: 'GET',
        path: pull.path(),
        token: options.bob.token,
      });
      statuses.push(pulled.status);
      if (pulled.status === 200) {
        latencies.push(pulled.ms);
        pull.follow(pulled.text);
      } else notServed += 1;
      await sleep(20);
    }
    return {
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      requests: latencies.length,
      notServed,
      statuses: statusTally(statuses),
    };
  };

  const alone = await probeBob(seconds);

  const alicePush = createPushMaker({
    deviceId: 'dev_alice',
    idPrefix: idPrefixOf(1001),
    rows: 1_000,
  });
  const flood = { pushed: 0, refused: 0, failed: 0 };
  const floodStatuses: number[] = [];
  let flooding = true;
  const floodStarted = performance.now();
  const workers = Array.from({ length: options.floodWorkers }, async () => {
    while (flooding) {
      const answer = await client.send({
        method: 'POST',
        path: '/v1/sync/push',
        token: options.alice.token,
        body: alicePush(1_000),
      });
      floodStatuses.push(answer.status);
      if (answer.status === 200) flood.pushed += 1;
      else if (answer.status === 429 || answer.status === 503) {
        flood.refused += 1;
        await sleep(100);
      } else {
        flood.failed += 1;
        await sleep(100);
      }
    }
  });
  // The flood takes hold before bob is measured.
  await sleep(1_000);
  const flooded = await probeBob(seconds);
  flooding = false;
  await Promise.all(workers);
  const floodSeconds = (performance.now() - floodStarted) / 1_000;
  client.close();

  const figures: NeighbourFigures = {
    alone,
    flooded,
    flood: { ...flood, changesPerSecond: (flood.pushed * 1_000) / floodSeconds },
  };
  recorder.record(
    name,
    'noisy neighbour: bob alone, /me + pull',
    `p50 ${formatMs(alone.p50)}, p95 ${formatMs(alone.p95)} (${alone.statuses})`,
  );
  recorder.record(
    name,
    `noisy neighbour: bob while alice floods (${options.floodWorkers} × 1,000-change pushes)`,
    `p50 ${formatMs(flooded.p50)}, p95 ${formatMs(flooded.p95)} (${flooded.statuses})`,
  );
  recorder.record(
    name,
    'noisy neighbour: alice',
    `${flood.pushed} pushes stored (${Math.round(figures.flood.changesPerSecond)} changes/s), ` +
      `answers ${statusTally(floodStatuses)}`,
  );
  return figures;
}
