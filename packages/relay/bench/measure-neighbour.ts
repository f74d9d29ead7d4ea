/**
 * Noisy neighbour: bob's device asks `/v1/me` then pulls, again and again (one request at a
 * time, as a device does), first alone and then while alice floods: `floodWorkers` pushes of
 * 1,000 changes in flight, each followed by the next as soon as it is answered (a refused one
 * sent again after 100 ms, a client that does not wait the `Retry-After`). Same relay, same run:
 * the difference is alice. Bob's latency is each request's own, /me and pull together; bob and
 * alice each have their own connections, as two devices do.
 */
import type { BenchUser } from './bench-relay.ts';
import { createHttpLoadClient, formatMs, percentile, sleep, statusTally } from './http-load.ts';
import type { Recorder } from './record.ts';
import { createPushMaker, createPuller, idPrefixOf } from './workload.ts';

interface BobFigures {
  p50: number;
  p95: number;
  /** The p95 of each kind of request alone: /me (no database work) and pull. */
  meP95: number;
  pullP95: number;
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
  // Two devices, two connection pools: bob's requests never queue behind alice's sockets.
  const client = createHttpLoadClient({ url });
  const aliceClient = createHttpLoadClient({ url });
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
    const meLatencies: number[] = [];
    const pullLatencies: number[] = [];
    const statuses: number[] = [];
    let notServed = 0;
    const until = performance.now() + forSeconds * 1_000;
    while (performance.now() < until) {
      const me = await client.send({ method: 'GET', path: '/v1/me', token: options.bob.token });
      statuses.push(me.status);
      if (me.status === 200) {
        latencies.push(me.ms);
        meLatencies.push(me.ms);
      } else notServed += 1;
      const pulled = await client.send({
        method: 'GET',
        path: pull.path(),
        token: options.bob.token,
      });
      statuses.push(pulled.status);
      if (pulled.status === 200) {
        latencies.push(pulled.ms);
        pullLatencies.push(pulled.ms);
        pull.follow(pulled.text);
      } else notServed += 1;
      await sleep(20);
    }
    return {
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      meP95: percentile(meLatencies, 0.95),
      pullP95: percentile(pullLatencies, 0.95),
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
  // Alice's bodies are made before the flood (a refused push is sent again as it was): making
  // them during it cost this process more CPU than answering them cost the relay, and bob's
  // timings, taken here, waited for it.
  const bodies = Array.from({ length: 200 }, () => alicePush(1_000));
  const nextBody = () => bodies.pop() ?? alicePush(1_000);
  const flood = { pushed: 0, refused: 0, failed: 0 };
  const floodStatuses: number[] = [];
  let flooding = true;
  const floodStarted = performance.now();
  const workers = Array.from({ length: options.floodWorkers }, async () => {
    let body = nextBody();
    while (flooding) {
      const answer = await aliceClient.send({
        method: 'POST',
        path: '/v1/sync/push',
        token: options.alice.token,
        body,
      });
      floodStatuses.push(answer.status);
      if (answer.status === 200) {
        flood.pushed += 1;
        body = nextBody();
      } else if (answer.status === 429 || answer.status === 503) {
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
  aliceClient.close();

  const figures: NeighbourFigures = {
    alone,
    flooded,
    flood: { ...flood, changesPerSecond: (flood.pushed * 1_000) / floodSeconds },
  };
  recorder.record(
    name,
    'noisy neighbour: bob alone, /me + pull',
    `p50 ${formatMs(alone.p50)}, p95 ${formatMs(alone.p95)} (/me p95 ${formatMs(alone.meP95)}, pull p95 ${formatMs(alone.pullP95)}; ${alone.statuses})`,
  );
  recorder.record(
    name,
    `noisy neighbour: bob while alice floods (${options.floodWorkers} × 1,000-change pushes)`,
    `p50 ${formatMs(flooded.p50)}, p95 ${formatMs(flooded.p95)} (/me p95 ${formatMs(flooded.meP95)}, pull p95 ${formatMs(flooded.pullP95)}; ${flooded.statuses})`,
  );
  recorder.record(
    name,
    'noisy neighbour: alice',
    `${flood.pushed} pushes stored (${Math.round(figures.flood.changesPerSecond)} changes/s), ` +
      `answers ${statusTally(floodStatuses)}`,
  );
  return figures;
}
