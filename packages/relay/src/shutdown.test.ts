/**
 * Graceful shutdown of a real relay process with live connections open: SIGTERM closes them and
 * the process exits within a few seconds, even when a client never answers the close (a frozen
 * tab, a lost network) or reconnects at once (a browser's sync client).
 */
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { connectLive, type LiveClient } from './testing/live-client.ts';
import { relayProcessEnv, startRelayProcess, type RelayProcess } from './testing/relay-process.ts';
import { testConfig } from './testing/test-config.ts';
import { describeOnEachDatabase } from './testing/describe-on-database.ts';

const token = testConfig().firstToken!;

/** Completes the WebSocket handshake, then ignores every frame (never answers a close). */
async function connectSilentPeer(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => {
      socket.write(
        [
          `GET /v1/sync/live?token=${token} HTTP/1.1`,
          `Host: ${hostname}:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version: 13',
          '',
          '',
        ].join('\r\n'),
      );
    });
    socket.once('data', (data) =>
      String(data).startsWith('HTTP/1.1 101') ? resolve() : reject(new Error(String(data))),
    );
    socket.once('error', reject);
  });
  return socket;
}

describeOnEachDatabase('graceful shutdown with live connections', (kind) => {
  let relay: RelayProcess | undefined;
  let dataDir: string | undefined;
  const peers: Socket[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.destroy();
    if (relay) await relay.kill().catch(() => undefined);
    relay = undefined;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  it('closes live connections and exits on the first SIGTERM', async () => {
    const env = await relayProcessEnv(kind, { BATON_FIRST_TOKEN: token, PORT: '0' });
    dataDir = env.DATA_DIR;
    relay = await startRelayProcess({ env });
    const url = relay.url;
    peers.push(await connectSilentPeer(url));
    // A client that reconnects as soon as it is closed, as the webapp's sync client does.
    const tab: LiveClient = await connectLive({ url, token });
    tab.send({ type: 'hello', deviceId: 'dev_a', canPlan: true, name: 'Laptop' });
    await tab.next((message) => message.type === 'status');
    let reconnecting = true;
    const firstClose = tab.closed;
    void (async () => {
      await tab.closed;
      while (reconnecting) {
        try {
          await (
            await connectLive({ url, token })
          ).closed;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })();

    process.kill(relay.pid, 'SIGTERM');
    expect((await firstClose).code).toBe(1001);
    const code = await relay.exited;
    reconnecting = false;
    // 0 is the graceful path; the 20 s safety net in main.ts would exit with 1.
    expect(code).toBe(0);
  }, 40_000);
});
