import { afterEach, beforeEach, expect, it } from 'vitest';
import { bobToken, createTestRelay, type TestRelay } from '../testing/test-relay.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createEngine } from '@baton/engine';
import { createSequentialIds } from '@baton/engine/testing';
import { claimIteration } from '../claims/sql-claims.ts';
import { startTogether } from '../testing/postgres-race.ts';
import { openTestPostgresHandle } from '../testing/test-database.ts';

describeOnEachDatabase('claims routes', (kind) => {
  let relay: TestRelay;
  beforeEach(async () => {
    relay = await createTestRelay({ kind });
  });
  afterEach(() => relay.close());

  const iterationId = 'm_1@2026-11-25T07:30:00.000Z';
  const claim = (holder: string, options: { ttlMs?: number; token?: string } = {}) =>
    relay.call('/v1/claims', {
      body: { iterationId, holder, ttlMs: options.ttlMs ?? 60_000 },
      ...(options.token ? { token: options.token } : {}),
    });

  /** Pushes the iteration row `iterationId` with `fields` as written by `writer`. */
  async function pushIteration(
    changeId: string,
    writer: { deviceId: string; runner: object; source: string },
    fields: Record<string, unknown>,
  ): Promise<void> {
    const stamp = `${String(relay.now.value).padStart(15, '0')}-000000-${writer.deviceId}`;
    const pushed = await relay.call('/v1/sync/push', {
      body: {
        deviceId: writer.deviceId,
        changes: [
          {
            id: changeId,
            table: 'iterations',
            rowId: iterationId,
            fields: {
              missionId: 'm_1',
              slot: '2026-11-25T07:30:00.000Z',
              runner: writer.runner,
              plannedAt: stamp,
              ...fields,
            },
            hlc: stamp,
            actor: { kind: 'system', source: writer.source },
            deviceId: writer.deviceId,
          },
        ],
      },
    });
    expect(pushed.status).toBe(200);
  }
  const relayWriter = {
    deviceId: 'relay_1',
    runner: { kind: 'relay', instanceId: 'relay_1' },
    source: 'relay',
  };

  it('grants a free iteration id and refuses a second holder with 409 naming the first', async () => {
    const first = await claim('dev_a');
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      granted: true,
      holder: 'dev_a',
      expiresAt: relay.now.value + 60_000,
    });
    const second = await claim('relay_1');
    expect(second.status).toBe(409);
    expect(await second.json()).toEqual({
      granted: false,
      holder: 'dev_a',
      expiresAt: relay.now.value + 60_000,
      refusal: 'held',
      reason: 'held by dev_a',
    });
  });

  it('refuses a runner whose clock runs more than 10 minutes ahead, saying why', async () => {
    const ahead = await relay.call('/v1/claims', {
      body: { iterationId, holder: 'dev_a.h1', ttlMs: 60_000, now: relay.now.value + 11 * 60_000 },
    });
    expect(ahead.status).toBe(409);
    expect(await ahead.json()).toMatchObject({ granted: false, refusal: 'clock' });
    const fine = await relay.call('/v1/claims', {
      body: { iterationId, holder: 'dev_a.h1', ttlMs: 60_000, now: relay.now.value + 60_000 },
    });
    expect(fine.status).toBe(200);
  });

  it('refuses a claim for an iteration that already holds a plan, even after its lease expired', async () => {
    await pushIteration('01J00000000000000000000001', relayWriter, {
      trigger: 'schedule',
      status: 'planned',
      plan: { summary: 'Done.', steps: [], dropped: [] },
    });
    const late = await claim('dev_a.h1');
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({
      granted: false,
      refusal: 'planned',
      reason: 'the iteration is already planned',
    });
  });

  it('grants a person’s retry of a failed iteration (retry: true), which a plain claim is refused', async () => {
    await pushIteration('01J00000000000000000000002', relayWriter, {
      trigger: 'manual',
      status: 'failed',
      error: { code: 'model', message: '400 unknown model' },
    });
    const plain = await claim('dev_a.h1');
    expect(plain.status).toBe(409);
    expect(await plain.json()).toMatchObject({ refusal: 'planned' });
    const retry = await relay.call('/v1/claims', {
      body: { iterationId, holder: 'dev_a.h1', ttlMs: 60_000, retry: true },
    });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ granted: true, holder: 'dev_a.h1' });
  });

  it('notes on the lease the rounds a failed row recorded without a claim, and keeps the note through a new holder', async () => {
    // Four rounds made while the relay was out of reach: no claim was granted for them.
    await pushIteration(
      '01J00000000000000000000003',
      { deviceId: 'dev_b', runner: { kind: 'device', deviceId: 'dev_b' }, source: 'runner' },
      {
        trigger: 'schedule',
        status: 'failed',
        error: { code: 'unavailable', message: 'the model is out of reach' },
        usage: { promptTokens: 0, completionTokens: 0, model: 'm', latencyMs: 1, rounds: 4 },
      },
    );
    const retry = (holder: string) =>
      relay.call('/v1/claims', { body: { iterationId, holder, ttlMs: 60_000, retry: true } });
    expect((await retry('dev_b.h1')).status).toBe(200);
    await relay.call(`/v1/claims/${encodeURIComponent(iterationId)}?holder=dev_b.h1`, {
      method: 'DELETE',
    });
    expect((await retry('relay_1')).status).toBe(200);
    expect(
      await relay.db.query(
        'select holder, grants, unclaimed_rounds from claims where user_id = $1 and iteration_id = $2',
        [relay.users.alice, iterationId],
      ),
    ).toEqual([{ holder: 'relay_1', grants: 2, unclaimed_rounds: 4 }]);
  });

  it('extends the lease when the same holder claims again', async () => {
    await claim('dev_a');
    relay.now.value += 30_000;
    const again = await claim('dev_a');
    expect(again.status).toBe(200);
    expect(((await again.json()) as { expiresAt: number }).expiresAt).toBe(
      relay.now.value + 60_000,
    );
  });

  it('lets another holder take an expired lease', async () => {
    await claim('dev_a', { ttlMs: 5_000 });
    relay.now.value += 5_001;
    const taken = await claim('relay_1');
    expect(taken.status).toBe(200);
    expect(((await taken.json()) as { holder: string }).holder).toBe('relay_1');
  });

  it('frees the id on DELETE so another holder gets it', async () => {
    await claim('dev_a');
    const released = await relay.call(`/v1/claims/${encodeURIComponent(iterationId)}`, {
      method: 'DELETE',
    });
    expect(released.status).toBe(200);
    expect(await released.json()).toEqual({ released: true });
    expect((await claim('relay_1')).status).toBe(200);
  });

  it('keeps counting the claims granted on an id through a release and a new holder (the budget charges rounds no row records)', async () => {
    for (let round = 0; round < 3; round += 1) expect((await claim('dev_a')).status).toBe(200);
    await relay.call(`/v1/claims/${encodeURIComponent(iterationId)}?holder=dev_a`, {
      method: 'DELETE',
    });
    expect((await claim('relay_1')).status).toBe(200);
    const rows = await relay.db.query(
      'select holder, grants from claims where user_id = $1 and iteration_id = $2',
      [relay.users.alice, iterationId],
    );
    expect(rows).toEqual([{ holder: 'relay_1', grants: 4 }]);
    // A day after its lease ended, the row goes when the mission is next claimed.
    relay.now.value += 24 * 3_600_000 + 60_001;
    await claim('relay_2');
    expect(
      await relay.db.query('select grants from claims where user_id = $1', [relay.users.alice]),
    ).toEqual([{ grants: 1 }]);
  });

  it('keeps claims per user: the same iteration id is free for another user', async () => {
    await claim('dev_a');
    expect((await claim('dev_b', { token: bobToken })).status).toBe(200);
    const bobRelease = await relay.call(`/v1/claims/${encodeURIComponent(iterationId)}`, {
      method: 'DELETE',
      token: bobToken,
    });
    expect(await bobRelease.json()).toEqual({ released: true });
    expect((await claim('relay_1')).status).toBe(409);
  });

  it('refuses a bad claim request with 400 naming the field, and 401 without a token', async () => {
    const bad = await relay.call('/v1/claims', {
      body: { iterationId, holder: 'dev_a', ttlMs: 'soon' },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('ttlMs');
    expect(
      (
        await relay.call('/v1/claims', {
          body: { iterationId, holder: 'dev_a', ttlMs: 1000 },
          token: null,
        })
      ).status,
    ).toBe(401);
    expect((await relay.call('/v1/claims/x', { method: 'DELETE', token: null })).status).toBe(401);
  });

  it('refuses malformed JSON, an oversized body and a wrong token, writing no claim', async () => {
    const malformed = await relay.call('/v1/claims', { body: '{"iterationId": ' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { kind: string } }).error.kind).toBe('invalid');
    const oversized = await relay.call('/v1/claims', {
      body: { iterationId, holder: 'dev_a', ttlMs: 60_000, padding: 'x'.repeat(70 * 1024) },
    });
    expect(oversized.status).toBe(413);
    expect(((await oversized.json()) as { error: { kind: string } }).error.kind).toBe('too_large');
    const wrongToken = await relay.call('/v1/claims', {
      body: { iterationId, holder: 'dev_a', ttlMs: 60_000 },
      token: 'wrong-token-0123456789',
    });
    expect(wrongToken.status).toBe(401);
    const notAnObject = await relay.call('/v1/claims', { body: '[]' });
    expect(notAnObject.status).toBe(400);
    expect(await relay.db.query('select * from claims')).toEqual([]);
  });

  it("never shows one user's lease to another, nor lets them release it", async () => {
    await claim('dev_alice');
    const bobs = await claim('dev_bob', { token: bobToken });
    expect(await bobs.json()).toMatchObject({ granted: true, holder: 'dev_bob' });
    const bobReleasesAlice = await relay.call(
      `/v1/claims/${encodeURIComponent(iterationId)}?holder=dev_alice`,
      { method: 'DELETE', token: bobToken },
    );
    expect(await bobReleasesAlice.json()).toEqual({ released: false });
    const refused = await claim('relay_1');
    expect(await refused.json()).toMatchObject({ granted: false, holder: 'dev_alice' });
  });

  it("judges one user's claims sent at once in turn, each seeing the leases granted before it", async () => {
    const engine = createEngine({
      store: relay.store.forUser(relay.users.alice),
      clock: { now: () => relay.now.value },
      ids: createSequentialIds('T'),
      nodeId: 'dev_a',
      runner: { kind: 'device', deviceId: 'dev_a' },
    });
    const missionId = await engine.createMission({
      draft: {
        title: 'Hourly',
        objective: 'Plan my hour',
        schedule: { kind: 'interval', everyMs: 3_600_000, anchor: 0 },
        budget: { maxRunsPerDay: 1, maxTokensPerDay: 100_000 },
      },
      actor: { kind: 'user', deviceId: 'dev_a' },
    });
    const slot = (hour: number) => `${missionId}@2026-11-25T0${hour}:00:00.000Z`;
    const claimOf = (iteration: string, holder: string) =>
      claimIteration(relay.db, {
        userId: relay.users.alice,
        iterationId: iteration,
        holder,
        ttlMs: 60_000,
        now: relay.now.value,
      });
    // All sent before any is answered: they wait for the user's turn together.
    const [first, renewal, rival, otherSlot] = await Promise.all([
      claimOf(slot(6), 'relay_1'),
      claimOf(slot(6), 'relay_1'),
      claimOf(slot(6), 'relay_2'),
      claimOf(slot(7), 'relay_2'),
    ]);
    expect(first).toMatchObject({ granted: true, holder: 'relay_1' });
    expect(renewal).toMatchObject({ granted: true, holder: 'relay_1' });
    expect(rival).toMatchObject({ granted: false, refusal: 'held', holder: 'relay_1' });
    // One run a day: the live lease on 06:00 counts as that run.
    expect(otherSlot).toMatchObject({ granted: false, refusal: 'budget' });
    expect(
      await relay.db.query(
        'select iteration_id, holder, grants from claims where user_id = $1 order by iteration_id',
        [relay.users.alice],
      ),
    ).toEqual([{ iteration_id: slot(6), holder: 'relay_1', grants: 2 }]);
  });

  // PGlite runs one query at a time, so claims cannot race there: only PostgreSQL's separate
  // connections can show a second winner. The claims are held back until all eight wait on the
  // table, so their statements really run at the same moment.
  if (kind === 'postgres')
    it('grants exactly one of many concurrent claims on PostgreSQL, each from its own relay process', async () => {
      // One process queues a user's claims; processes (each its own pool) race in the database.
      const processes = Array.from({ length: 8 }, () => openTestPostgresHandle());
      try {
        const results = await startTogether(relay.db, {
          lock: 'lock table claims in exclusive mode',
          waiting: 8,
          contenders: () =>
            processes.map((db, index) =>
              claimIteration(db, {
                userId: relay.users.alice,
                iterationId,
                holder: `relay_${index}`,
                ttlMs: 60_000,
                now: relay.now.value,
              }),
            ),
        });
        expect(results.filter((result) => result.granted)).toHaveLength(1);
        expect(
          results.filter((result) => !result.granted && result.refusal === 'held'),
        ).toHaveLength(7);
      } finally {
        await Promise.all(processes.map((db) => db.close()));
      }
    });
});
