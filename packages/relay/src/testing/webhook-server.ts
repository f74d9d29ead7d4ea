/**
 * A local HTTP server that receives webhook notifications, for relay tests and journeys: it
 * keeps every request (method, path, headers, body) and answers each with the next status of
 * its script (200 once the script runs out), so a test can fail the first attempts.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body as bytes (a push message is binary). */
  raw: Buffer;
  /** The status this request was answered with. */
  status: number;
}

export interface WebhookServer {
  /** e.g. http://127.0.0.1:40123/hook */
  url: string;
  received: ReceivedWebhook[];
  /** The statuses to answer the next requests with, in order. */
  answerWith(statuses: number[]): void;
  close(): Promise<void>;
}

export async function createWebhookServer(): Promise<WebhookServer> {
  const received: ReceivedWebhook[] = [];
  let script: number[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const status = script.shift() ?? 200;
      const raw = Buffer.concat(chunks);
      received.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: raw.toString('utf8'),
        raw,
        status,
      });
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(status < 300 ? 'ok' : 'scripted failure');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    answerWith: (statuses) => void (script = [...statuses]),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
