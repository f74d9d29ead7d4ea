/**
 * Presence at scale: `connections` live connections of one user open one after another, each says
 * hello as a new device and waits for its `status`; the figure is the time until the last one is
 * answered and every connection knows every device, and the characters the relay sent in all
 * (presence as changes: each hello costs the others one short message, not the whole list).
 */
import { startRelay } from '../src/start-relay.ts';
import { connectLive, type LiveClient } from '../src/testing/live-client.ts';
import { testConfig } from '../src/testing/test-config.ts';
import type { Database } from '../src/db/database.ts';
import { secondsSince, type Recorder } from './record.ts';

/** A hello not answered this long ends the measure (the figure says how far it got). */
const timeoutMs = 60_000;

export async function measureLive(options: {
  name: string;
  db: Database;
  recorder: Recorder;
  connections: number;
}): Promise<void> {
  const { name, recorder, connections } = options;
  const config = testConfig({ liveMaxPerUser: connections });
  const relay = await startRelay({ config, db: options.db, tick: false });
  const clients: LiveClient[] = [];
  const measure = `live: ${connections} connections of one user, each says hello`;
  const started = performance.now();
  const sent = () =>
    `${(clients.reduce((sum, client) => sum + client.receivedChars(), 0) / 1e6).toFixed(2)} MB sent`;
  try {
    for (let index = 0; index < connections; index += 1) {
      const client = await connectLive({ url: relay.url, token: config.firstToken! });
      clients.push(client);
      client.send({ type: 'hello', deviceId: `dev_${index}`, canPlan: true });
      await client.next((message) => message.type === 'status', timeoutMs);
    }
    // Every connection has heard of the last device.
    const last = `"dev_${connections - 1}"`;
    await Promise.all(
      clients.map((client) =>
        client.next((message) => JSON.stringify(message).includes(last), timeoutMs),
      ),
    );
    recorder.record(name, measure, `${secondsSince(started).toFixed(2)} s, ${sent()}`);
  } catch {
    recorder.record(
      name,
      measure,
      `unfinished: ${clients.length} open after ${secondsSince(started).toFixed(0)} s (a hello waited > ${timeoutMs / 1000} s), ${sent()}`,
    );
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    // Closes the database too.
    await relay.close();
  }
}
