import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRelayClaims } from './relay-claims.ts';
import { json } from '../testing/fixtures.ts';

const request = { iterationId: 'm1@2026-12-04T09:00:00.000Z', holder: 'dev_a', ttlMs: 60_000 };

function claimsAt(url: string, token: string | undefined) {
  const unclaimed: string[] = [];
  const claims = createRelayClaims({
    target: () => ({ url, token }),
    now: () => 1_000,
    holder: 'dev_a',
    onUnclaimed: (reason) => unclaimed.push(reason),
  });
  return { claims, unclaimed };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('relay claims', () => {
  it('plans without a claim, and says so, when the relay is out of reach or the device is signed out', async () => {
    // Nothing listens on port 1: the connection is refused.
    const away = claimsAt('http://127.0.0.1:1/', 'secret-token');
    expect(await away.claims.claim(request)).toEqual({
      granted: true,
      holder: 'dev_a',
      expiresAt: 61_000,
      unclaimed: true,
    });
    expect(away.unclaimed).toHaveLength(1);
    const signedOut = claimsAt('http://relay.test/', undefined);
    expect(await signedOut.claims.claim(request)).toMatchObject({ granted: true, unclaimed: true });
  });

  it('takes the relay’s grant as a claim, whatever else its answer says', async () => {
    vi.stubGlobal('fetch', async () =>
      json(200, { granted: true, holder: 'dev_a', expiresAt: 90_000, unclaimed: true }),
    );
    const { claims, unclaimed } = claimsAt('http://relay.test/', 'secret-token');
    expect(await claims.claim(request)).toEqual({
      granted: true,
      holder: 'dev_a',
      expiresAt: 90_000,
    });
    expect(unclaimed).toEqual([]);
  });
});
