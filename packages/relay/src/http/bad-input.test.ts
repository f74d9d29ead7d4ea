/**
 * Input that once made the relay answer 500 (nothing written, but a 500 says the relay broke),
 * or that it read whole before refusing: each is now a 400 naming the field (or a 413 read no
 * further than the limit), and nothing is written.
 */
import { maxPushBytes } from '@baton/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { loggedChanges } from '../testing/logged-changes.ts';
import { createChangeFactory, createTestRelay, type TestRelay } from '../testing/test-relay.ts';

interface ErrorBody {
  error: { kind: string; message: string; field?: string };
}

describeOnEachDatabase('bad input', (kind) => {
  let relay: TestRelay;
  beforeEach(async () => {
    relay = await createTestRelay({ kind });
  });
  afterEach(() => relay.close());

  const refused = async (response: Response | Promise<Response>) => {
    const answer = await response;
    return { status: answer.status, body: (await answer.json()) as ErrorBody };
  };
  const changeCount = async () => (await loggedChanges(relay.db)).length;

  it('refuses U+0000 and lone surrogates in any string with 400 naming the field', async () => {
    const change = createChangeFactory({ wallMs: relay.now.value });
    const push = (changes: unknown[]) =>
      refused(relay.call('/v1/sync/push', { body: { deviceId: 'dev_a', changes } }));
    for (const [made, field] of [
      [change('task\u0000one'), 'changes.0.rowId'],
      [change('t1', { title: 'a\u0000b' }), 'changes.0.fields.title'],
      [change('t1', { title: 'half \ud800 a pair' }), 'changes.0.fields.title'],
      [change('t1', { title: 'low \udc00 alone' }), 'changes.0.fields.title'],
    ] as const) {
      const answer = await push([made]);
      expect(answer.status, field).toBe(400);
      expect(answer.body.error).toMatchObject({ kind: 'invalid', field });
    }
    // A well-formed pair (an emoji) is fine.
    expect((await push([change('t1', { title: 'ok \ud83d\ude00' })])).status).toBe(200);

    const claim = await refused(
      relay.call('/v1/claims', {
        body: { iterationId: 'm_1@2026\u0000', holder: 'dev_a', ttlMs: 60_000 },
      }),
    );
    expect(claim).toMatchObject({ status: 400, body: { error: { field: 'iterationId' } } });
    const release = await refused(relay.call('/v1/claims/a%00b', { method: 'DELETE' }));
    expect(release).toMatchObject({ status: 400, body: { error: { field: 'iterationId' } } });
    const holder = await refused(relay.call('/v1/claims/a?holder=%00', { method: 'DELETE' }));
    expect(holder).toMatchObject({ status: 400, body: { error: { field: 'holder' } } });
    expect(await changeCount()).toBe(1);
  });

  it('refuses values nested deeper than 32 levels (4,100 once overflowed the stack), naming where', async () => {
    // Written as text: the test's own JSON.stringify would overflow on it, as the relay's did.
    const params = `${'{"a":'.repeat(5_000)}{"leaf":true}${'}'.repeat(5_000)}`;
    const stamp = `${String(relay.now.value).padStart(15, '0')}-000000-dev_a`;
    const answer = await refused(
      relay.call('/v1/sync/push', {
        body: `{"deviceId":"dev_a","changes":[{"id":"01J00000000000000000000001","table":"proposals","rowId":"m_1@2026-11-25T07:30:00.000Z#0","fields":{"tool":"create_task","params":${params}},"hlc":"${stamp}","actor":{"kind":"user","deviceId":"dev_a"},"deviceId":"dev_a"}]}`,
      }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/nested deeper than 32 levels/);
    expect(answer.body.error.field).toMatch(/^changes\.0\.fields\.params(\.a)+$/);
    expect(await changeCount()).toBe(0);
  });

  it('refuses a cursor past the largest 64-bit integer with 400, not a database error', async () => {
    const answer = await refused(relay.call('/v1/sync/pull?since=9223372036854775808'));
    expect(answer).toMatchObject({ status: 400, body: { error: { field: 'since' } } });
    expect((await relay.call('/v1/sync/pull?since=9223372036854775807')).status).toBe(200);
  });

  it('refuses a raw "__proto__" field key instead of dropping it in silence', async () => {
    const stamp = `${String(relay.now.value).padStart(15, '0')}-000000-dev_a`;
    const body = `{"deviceId":"dev_a","changes":[{"id":"01J00000000000000000000001","table":"tasks","rowId":"t1","fields":{"title":"x","__proto__":{"polluted":true}},"hlc":"${stamp}","actor":{"kind":"user","deviceId":"dev_a"},"deviceId":"dev_a"}]}`;
    const answer = await refused(relay.call('/v1/sync/push', { body }));
    expect(answer).toMatchObject({
      status: 400,
      body: { error: { field: 'changes.0.fields.__proto__' } },
    });
    expect(await changeCount()).toBe(0);
  });

  it('refuses a change whose deviceId is not the pushing device', async () => {
    const fromPhone = createChangeFactory({ deviceId: 'dev_phone', wallMs: relay.now.value });
    const answer = await refused(
      relay.call('/v1/sync/push', { body: { deviceId: 'dev_a', changes: [fromPhone('t1')] } }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ field: 'changes.0.deviceId' });
    expect(answer.body.error.message).toMatch(/pushing device's id \(dev_a\)/);
    expect(await changeCount()).toBe(0);
  });

  it('stops reading a body sent without a length at the limit (413), however long it would go on', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    const offered = 500 * 1024 * 1024;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= offered) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const answer = await relay.app.request('/v1/sync/push', {
      method: 'POST',
      headers: {
        authorization: 'Bearer alice-token-0123456789abcdef',
        'content-type': 'application/json',
      },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(answer.status).toBe(413);
    expect(((await answer.json()) as ErrorBody).error.kind).toBe('too_large');
    // Read up to the limit and a little past (what the stream had queued), never the 500 MB.
    expect(pulled).toBeGreaterThan(maxPushBytes);
    expect(pulled).toBeLessThan(maxPushBytes + 1024 * 1024);
  });
});
