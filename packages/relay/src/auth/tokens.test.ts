import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Database } from '../db/database.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { findUserByToken, lastUsedEveryMs, listTokens, replaceTokenSecret } from './tokens.ts';
import { createUser } from './users.ts';

describeOnEachDatabase('tokens', (kind) => {
  let db: Database;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(() => db.close());

  it('stores only a hash of the secret', async () => {
    const { token } = await createUser({ db, name: 'ada' });
    const rows = await db.query<Record<string, unknown>>('select * from tokens');
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('records the last use at most once a minute', async () => {
    const { token, tokenId } = await createUser({ db, name: 'ada', now: 1_000 });
    const lastUsed = async () =>
      (await listTokens({ db })).find((info) => info.id === tokenId)?.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    const start = 10_000_000;
    expect(await findUserByToken({ db, token, now: start })).toMatchObject({ tokenId });
    expect(await lastUsed()).toBe(start);
    await findUserByToken({ db, token, now: start + lastUsedEveryMs - 1 });
    expect(await lastUsed()).toBe(start);
    await findUserByToken({ db, token, now: start + lastUsedEveryMs });
    expect(await lastUsed()).toBe(start + lastUsedEveryMs);
  });

  it('refuses the old secret after a rotation and accepts the new one', async () => {
    const { token, tokenId, user } = await createUser({ db, name: 'ada' });
    const rotated = await replaceTokenSecret({ db, tokenId });
    expect(await findUserByToken({ db, token })).toBeUndefined();
    expect(await findUserByToken({ db, token: rotated!.token })).toMatchObject({ user, tokenId });
  });
});
