import {
  LiveServerMessageSchema,
  applyPresence,
  emptyPresence,
  type PresenceView,
} from '@baton/engine';
import { WebSocket } from 'ws';

/** A test client for `/v1/sync/live` that collects what the server sends. */
export interface LiveClient {
  messages: Array<Record<string, unknown>>;
  /** Characters received, over all messages. */
  receivedChars(): number;
  /** The user's devices as this client knows them from what it received (as a device would). */
  presence(): PresenceView;
  send(message: unknown): void;
  /** Resolves with the first message (already received or later) that matches. */
  next(
    match: (message: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves when the connection closes (either side), with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export async function connectLive(options: { url: string; token: string }): Promise<LiveClient> {
  const address = `${options.url.replace(/^http/, 'ws')}/v1/sync/live?token=${encodeURIComponent(options.token)}`;
  const socket = new WebSocket(address);
  const messages: Array<Record<string, unknown>> = [];
  let chars = 0;
  const waiters = new Set<() => void>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  socket.on('message', (data) => {
    const text = String(data);
    chars += text.length;
    messages.push(JSON.parse(text) as Record<string, unknown>);
    for (const waiter of waiters) waiter();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`live refused: ${response.statusCode}`)),
    );
  });
  return {
    messages,
    receivedChars: () => chars,
    presence: () =>
      messages.reduce<PresenceView>(
        (view, message) => applyPresence(view, LiveServerMessageSchema.parse(message)),
        emptyPresence,
      ),
    closed,
    send: (message) => socket.send(JSON.stringify(message)),
    next(match, timeoutMs = 5_000) {
      let seen = 0;
      return new Promise((resolve, reject) => {
        const check = () => {
          for (; seen < messages.length; seen += 1) {
            if (match(messages[seen]!)) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(messages[seen]!);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching live message in ${timeoutMs} ms; got ${JSON.stringify(messages)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close();
      }),
  };
}
