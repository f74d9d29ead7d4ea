/**
 * The load generator's HTTP client: keep-alive sockets (up to `maxSockets`, so an open-loop
 * schedule is never held back by a busy socket), one timing per request from the moment it was
 * due, and percentiles. Plain `node:http`: it costs less CPU than fetch on a machine the relay
 * shares, and a bench figure should be the relay's.
 */
import { Agent, request } from 'node:http';

export interface Timed {
  /** HTTP status; 0 when the request failed or timed out. */
  status: number;
  /** From when it was due (or sent) to the end of the answer. */
  ms: number;
}

export interface HttpLoadClient {
  /** Sends a request; `dueMs` (a `performance.now()` reading) is when it should have left. */
  send(options: {
    method: 'GET' | 'POST';
    path: string;
    token: string;
    body?: string;
    dueMs?: number;
  }): Promise<Timed & { text: string }>;
  close(): void;
}

export function createHttpLoadClient(options: {
  url: string;
  maxSockets?: number;
  /** A request without an answer this long counts as failed (status 0). */
  timeoutMs?: number;
}): HttpLoadClient {
  const base = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 1_024 });
  const timeoutMs = options.timeoutMs ?? 90_000;
  return {
    send({ method, path, token, body, dueMs }) {
      const started = dueMs ?? performance.now();
      return new Promise((resolve) => {
        const done = (status: number, text: string) =>
          resolve({ status, ms: performance.now() - started, text });
        const outgoing = request(
          {
            agent,
            host: base.hostname,
            port: base.port,
            method,
            path,
            headers: {
              authorization: `Bearer ${token}`,
              ...(body === undefined
                ? {}
                : {
                    'content-type': 'application/json',
                    'content-length': Buffer.byteLength(body),
                  }),
            },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              done(response.statusCode ?? 0, Buffer.concat(chunks).toString()),
            );
            response.on('error', () => done(0, ''));
          },
        );
        outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error('timed out')));
        outgoing.on('error', (error: Error & { code?: string }) =>
          done(0, error.code ?? error.message),
        );
        outgoing.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** The `fraction` percentile (0..1) of `values`, nearest rank; NaN when empty. */
export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank]!;
}

/** `12 ms`, `1.35 s`. */
export function formatMs(ms: number): string {
  if (Number.isNaN(ms)) return '–';
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(2)} s`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `200×950 429×12 0×1`: how many answers had each status (0: no answer). */
export function statusTally(statuses: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');
}
