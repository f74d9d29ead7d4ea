/**
 * Overload: a fixed rate of requests offered open-loop (each sent when it is due, whatever the
 * answers before it) for a fixed time, from `users` devices in turn, in a mix of pulls (50 %),
 * pushes of 10 changes (30 %) and `/v1/me` (20 %). Reports what was offered and served, the
 * latency of the served requests from when each was due, the refusals (429/503, which clients
 * retry after `Retry-After`), the failures (no answer within 90 s) and the longest wait of all.
 */
import {
  createHttpLoadClient,
  formatMs,
  percentile,
  sleep,
  statusTally,
  type Timed,
} from './http-load.ts';
import type { BenchUser } from './bench-relay.ts';
import type { Recorder } from './record.ts';
import { createPushMaker, createPuller, idPrefixOf } from './workload.ts';

export interface OverloadFigures {
  offered: number;
  served: number;
  p50: number;
  p95: number;
  p99: number;
  refused: number;
  failed: number;
  max: number;
}

export async function measureOverload(options: {
  name: string;
  url: string;
  users: readonly BenchUser[];
  rate: number;
  seconds: number;
  recorder: Recorder;
}): Promise<OverloadFigures> {
  const { name, url, rate, seconds, recorder } = options;
  const client = createHttpLoadClient({ url });
  const devices = options.users.map((user, index) => ({
    user,
    push: createPushMaker({ deviceId: `dev_load${index}`, idPrefix: idPrefixOf(index), rows: 200 }),
    pull: createPuller(100),
  }));
  // Something to pull: each device pushes 100 changes first.
  await Promise.all(
    devices.map(async (device) => {
      const answer = await client.send({
        method: 'POST',
        path: '/v1/sync/push',
        token: device.user.token,
        body: device.push(100),
      });
      if (answer.status !== 200)
        throw new Error(`setup push failed: ${answer.status} ${answer.text}`);
    }),
  );

  const total = Math.round(rate * seconds);
  const results: Array<Promise<Timed>> = [];
  const started = performance.now();
  for (let index = 0; index < total; index += 1) {
    const dueMs = started + (index * 1_000) / rate;
    const wait = dueMs - performance.now();
    if (wait > 1) await sleep(wait);
    const device = devices[index % devices.length]!;
    const kind = index % 10;
    const token = device.user.token;
    if (kind < 5) {
      results.push(
        client.send({ method: 'GET', path: device.pull.path(), token, dueMs }).then((answer) => {
          if (answer.status === 200) device.pull.follow(answer.text);
          return answer;
        }),
      );
    } else if (kind < 8) {
      const body = device.push(10);
      results.push(client.send({ method: 'POST', path: '/v1/sync/push', token, body, dueMs }));
    } else {
      results.push(client.send({ method: 'GET', path: '/v1/me', token, dueMs }));
    }
  }
  const sentSeconds = (performance.now() - started) / 1_000;
  const answers = await Promise.all(results);
  // Served per second until the last answer (a backlog served late counts over its whole time).
  const answeredSeconds = (performance.now() - started) / 1_000;
  client.close();

  const served = answers.filter((answer) => answer.status >= 200 && answer.status < 300);
  const latencies = served.map((answer) => answer.ms);
  const figures: OverloadFigures = {
    offered: total / sentSeconds,
    served: served.length / Math.max(seconds, answeredSeconds),
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    refused: answers.filter((answer) => answer.status === 429 || answer.status === 503).length,
    failed: answers.filter(
      (answer) => answer.status === 0 || (answer.status >= 500 && answer.status !== 503),
    ).length,
    max: Math.max(...answers.map((answer) => answer.ms)),
  };
  const label = `overload: ${rate} req/s for ${seconds} s, ${options.users.length} users`;
  recorder.record(
    name,
    label,
    `offered ${figures.offered.toFixed(0)}/s, served ${figures.served.toFixed(0)}/s, ` +
      `p50 ${formatMs(figures.p50)}, p95 ${formatMs(figures.p95)}, p99 ${formatMs(figures.p99)}, ` +
      `max ${formatMs(figures.max)}; answers ${statusTally(answers.map((answer) => answer.status))}`,
  );
  return figures;
}
