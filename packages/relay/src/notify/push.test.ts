import {
  createECDH,
  createDecipheriv,
  createPublicKey,
  hkdfSync,
  randomBytes,
  verify,
} from 'node:crypto';
import { createEngine, type PushState } from '@baton/engine';
import { createFixedClock, createMemoryStore, createSequentialIds } from '@baton/engine/testing';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { createOpenAiModel } from '@baton/engine/openai';
import { createRelayRunner, type RelayRunner } from '../runner/relay-runner.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createModelServer, type ModelServer } from '../testing/model-server.ts';
import { createTestRelay, type TestRelay } from '../testing/test-relay.ts';
import { createWebhookServer, type WebhookServer } from '../testing/webhook-server.ts';
import { createNotifier, type Notifier } from './notifier.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const hour = 3_600_000;

/** A browser's side of a push subscription: its key pair and auth secret (RFC 8291). */
function browserKeys() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    ecdh,
    auth,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
  };
}

/**
 * Decrypts an aes128gcm push message (RFC 8188 framing, RFC 8291 keys) the way a browser does,
 * written here from the RFCs rather than with the library that encrypted it.
 */
function decryptPush(body: Buffer, browser: ReturnType<typeof browserKeys>): string {
  const salt = body.subarray(0, 16);
  const idLength = body[20]!;
  const senderKey = body.subarray(21, 21 + idLength);
  const cipherText = body.subarray(21 + idLength);
  const shared = browser.ecdh.computeSecret(senderKey);
  const keyInfo = Buffer.concat([
    Buffer.from('WebPush: info\0'),
    browser.ecdh.getPublicKey(),
    senderKey,
  ]);
  const ikm = Buffer.from(hkdfSync('sha256', shared, browser.auth, keyInfo, 32));
  const key = Buffer.from(hkdfSync('sha256', ikm, salt, 'Content-Encoding: aes128gcm\0', 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, 'Content-Encoding: nonce\0', 12));
  const decipher = createDecipheriv('aes-128-gcm', key, nonce);
  decipher.setAuthTag(cipherText.subarray(cipherText.length - 16));
  const plain = Buffer.concat([
    decipher.update(cipherText.subarray(0, cipherText.length - 16)),
    decipher.final(),
  ]);
  // The last record ends with the delimiter 0x02, then padding.
  return plain.subarray(0, plain.lastIndexOf(2)).toString('utf8');
}

/** The VAPID JWT's claims, once its ES256 signature checks out with the relay's public key. */
function verifiedVapidClaims(header: string, publicKey: string): Record<string, unknown> {
  const match = /^vapid t=([^,]+), k=(.+)$/.exec(header);
  expect(match?.[2]).toBe(publicKey);
  const [head, claims, signature] = match![1]!.split('.');
  const raw = Buffer.from(publicKey, 'base64url');
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: raw.subarray(1, 33).toString('base64url'),
      y: raw.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
  const valid = verify(
    'sha256',
    Buffer.from(`${head}.${claims}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature!, 'base64url'),
  );
  expect(valid).toBe(true);
  return JSON.parse(Buffer.from(claims!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describeOnEachDatabase('web push', (kind) => {
  let model: ModelServer;
  let pushService: WebhookServer;
  let relay: TestRelay;
  let notifier: Notifier;
  let runner: RelayRunner;
  beforeAll(async () => {
    model = await createModelServer();
    pushService = await createWebhookServer();
  });
  afterAll(async () => {
    await model.close();
    await pushService.close();
  });
  beforeEach(async () => {
    pushService.received.length = 0;
    pushService.answerWith([]);
    relay = await createTestRelay({ kind });
    relay.now.value = start;
    notifier = createNotifier({
      db: relay.db,
      logger: createLogger({ level: 'silent' }),
      now: () => relay.now.value,
      retryDelaysMs: [1, 1],
    });
    runner = createRelayRunner({
      db: relay.db,
      store: relay.store,
      live: relay.live,
      model: createOpenAiModel({
        endpoint: { baseUrl: model.url, apiKey: 'k', defaultModel: 'scripted-model' },
        timeoutMs: 10_000,
      }),
      instanceId: 'relay_1',
      graceMs: 10 * 60_000,
      concurrency: 2,
      metrics: relay.metrics,
      logger: createLogger({ level: 'silent' }),
      now: () => relay.now.value,
      notifier,
    });
  });
  afterEach(async () => {
    await runner.close();
    await notifier.close();
    await relay.close();
  });

  async function pushState(init: { method?: string; body?: unknown } = {}): Promise<PushState> {
    const response = await relay.call('/v1/me/push', init);
    expect(response.status).toBe(200);
    return (await response.json()) as PushState;
  }

  async function missionDueInAnHour(): Promise<void> {
    const store = createMemoryStore();
    const device = createEngine({
      store,
      clock: createFixedClock(start),
      ids: createSequentialIds('D1'),
      nodeId: 'dev_a',
      runner: { kind: 'device', deviceId: 'dev_a' },
    });
    await device.createMission({
      draft: {
        title: 'Daily plan',
        objective: 'Keep my week on track',
        schedule: { kind: 'interval', everyMs: hour, anchor: start },
        tools: { list_tasks: 'auto', create_task: 'propose' },
      },
      actor: { kind: 'user', deviceId: 'dev_a' },
    });
    const response = await relay.call('/v1/sync/push', {
      body: { deviceId: 'dev_a', changes: store.recorded },
    });
    expect(response.status).toBe(200);
  }

  it('keeps one VAPID key and the user’s subscriptions, refusing a malformed one', async () => {
    const first = await pushState();
    expect(Buffer.from(first.publicKey, 'base64url')).toHaveLength(65);
    expect(first.subscriptions).toBe(0);
    expect((await pushState()).publicKey).toBe(first.publicKey);
    const bad = await relay.call('/v1/me/push', {
      method: 'PUT',
      body: { endpoint: 'https://push.example/1', keys: { p256dh: 'short', auth: 'x' } },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('keys.p256dh');
    const browser = browserKeys();
    const endpoint = 'https://push.example/subscription/1';
    expect(
      (await pushState({ method: 'PUT', body: { endpoint, keys: browser.keys } })).subscriptions,
    ).toBe(1);
    expect((await pushState({ method: 'DELETE', body: { endpoint } })).subscriptions).toBe(0);
  });

  it('pushes the notice encrypted to the subscription, signed with its VAPID key', async () => {
    const browser = browserKeys();
    const { publicKey } = await pushState({
      method: 'PUT',
      body: { endpoint: pushService.url, keys: browser.keys },
    });
    await missionDueInAnHour();
    relay.now.value = start + hour + 1_000;
    expect((await runner.tick()).planned).toHaveLength(1);
    await notifier.idle();

    expect(pushService.received).toHaveLength(1);
    const [request] = pushService.received;
    expect(request?.headers['content-encoding']).toBe('aes128gcm');
    expect(request?.headers['ttl']).toBe(String(24 * 3600));
    const claims = verifiedVapidClaims(String(request?.headers['authorization']), publicKey);
    expect(claims).toMatchObject({
      aud: new URL(pushService.url).origin,
      sub: 'mailto:relay@baton.invalid',
    });
    expect(JSON.parse(decryptPush(request!.raw, browser))).toEqual({
      title: '1 proposal waits in Baton',
      body: '“Daily plan” planned 1 proposal while your devices were away.',
      url: '/inbox',
    });
  });

  it('forgets a subscription the push service no longer knows', async () => {
    await pushState({
      method: 'PUT',
      body: { endpoint: pushService.url, keys: browserKeys().keys },
    });
    pushService.answerWith([410]);
    await missionDueInAnHour();
    relay.now.value = start + hour + 1_000;
    await runner.tick();
    await notifier.idle();
    expect(pushService.received).toHaveLength(1);
    expect((await pushState()).subscriptions).toBe(0);
  });
});
