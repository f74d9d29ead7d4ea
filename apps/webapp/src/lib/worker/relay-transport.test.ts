import { isEngineError } from '@baton/engine';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRelayTransport } from './relay-transport.ts';
import { taskChange as change, json } from '../testing/fixtures.ts';

const transport = createRelayTransport({
  target: () => ({ url: 'http://relay.test/', token: 'secret-token' }),
});

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('the call should have failed'),
    (error: unknown) => error,
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('relay transport', () => {
  it('pushes the device id and changes with the token and returns the answer', async () => {
    const fetch = vi.fn(async (_url: string, _init: RequestInit) =>
      json(200, { accepted: 1, duplicates: 1, cursor: '7' }),
    );
    vi.stubGlobal('fetch', fetch);
    const answer = await transport.push({ deviceId: 'dev_a', changes: [change(1), change(2)] });
    expect(answer).toEqual({ accepted: 1, duplicates: 1, cursor: '7' });
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('http://relay.test/v1/sync/push');
    expect(init.method).toBe('POST');
    expect(new Headers(init.headers).get('authorization')).toBe('Bearer secret-token');
    expect(JSON.parse(String(init.body))).toEqual({
      deviceId: 'dev_a',
      changes: [change(1), change(2)],
    });
  });

  it('pulls from the beginning without a cursor and after it with one', async () => {
    const urls: string[] = [];
    vi.stubGlobal('fetch', async (url: string) => {
      urls.push(url);
      return json(200, { changes: [change(1)], cursor: '4', more: true });
    });
    const page = await transport.pull({ since: undefined, limit: 50 });
    await transport.pull({ since: '4', limit: 50 });
    expect(page).toEqual({ changes: [change(1)], cursor: '4', more: true });
    expect(urls).toEqual([
      'http://relay.test/v1/sync/pull?limit=50',
      'http://relay.test/v1/sync/pull?limit=50&since=4',
    ]);
  });

  it('passes on a pulled change it cannot read, for the engine to refuse when applying', async () => {
    const unreadable = { ...change(1), hlc: 'yesterday' };
    vi.stubGlobal('fetch', async () =>
      json(200, { changes: [unreadable], cursor: '1', more: false }),
    );
    expect((await transport.pull({ since: undefined, limit: 10 })).changes).toEqual([unreadable]);
  });

  it('names the refused field of a 400, so the change it points at can be set aside', async () => {
    vi.stubGlobal('fetch', async () =>
      json(400, {
        error: { kind: 'invalid', message: 'must be an HLC stamp', field: 'changes.3.hlc' },
      }),
    );
    const error = await refusal(transport.push({ deviceId: 'dev_a', changes: [change(1)] }));
    expect(isEngineError(error, 'invalid')).toBe(true);
    expect(error).toMatchObject({ message: 'must be an HLC stamp', field: 'changes.3.hlc' });
  });

  it('keeps the kind the relay gives a refusal (a stamp too far ahead is `clock`)', async () => {
    vi.stubGlobal('fetch', async () =>
      json(400, { error: { kind: 'clock', message: 'too far ahead', field: 'changes.0.hlc' } }),
    );
    const error = await refusal(transport.push({ deviceId: 'dev_a', changes: [change(1)] }));
    expect(isEngineError(error, 'clock')).toBe(true);
    expect(error).toMatchObject({ field: 'changes.0.hlc' });
  });

  it('fails as unreachable without a network and as unauthorized on a refused token', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    expect(
      isEngineError(await refusal(transport.pull({ since: undefined, limit: 1 })), 'unavailable'),
    ).toBe(true);
    vi.stubGlobal('fetch', async () =>
      json(401, { error: { kind: 'unauthorized', message: 'bad token' } }),
    );
    expect(
      isEngineError(await refusal(transport.pull({ since: undefined, limit: 1 })), 'unauthorized'),
    ).toBe(true);
  });

  it('fails, naming the bad field, on an answer that does not fit the protocol', async () => {
    vi.stubGlobal('fetch', async () => json(200, { changes: [], cursor: 9, more: 'no' }));
    const error = await refusal(transport.pull({ since: undefined, limit: 1 }));
    expect(isEngineError(error, 'internal')).toBe(true);
    expect((error as Error).message).toMatch(/pull page this app cannot use \(cursor: /);
  });
});
