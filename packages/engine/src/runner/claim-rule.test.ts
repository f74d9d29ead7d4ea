import { describe, expect, it } from 'vitest';
import { MissionSchema } from '../model/mission.ts';
import type { RowOf } from '../model/read-row.ts';
import { formatHlc } from '../sync/hlc.ts';
import type { StoredRow } from '../sync/merge.ts';
import type { StoreReader } from '../ports.ts';
import { decideClaim, decideClaimFromStore, type Lease } from './claim-rule.ts';

const now = Date.UTC(2026, 10, 30, 12, 0, 0);
const ttlMs = 300_000;
const stamp = (wallMs: number) => formatHlc({ wallMs, counter: 0, nodeId: 'dev_a' });

const mission = {
  id: 'm1',
  createdAt: now - 86_400_000,
  updatedAt: now - 86_400_000,
  createdBy: { kind: 'user', deviceId: 'dev_a' },
  updatedBy: { kind: 'user', deviceId: 'dev_a' },
  ...MissionSchema.parse({
    title: 'Daily',
    objective: 'Plan',
    schedule: { kind: 'interval', everyMs: 3_600_000, anchor: 0 },
    budget: { maxRunsPerDay: 2, maxTokensPerDay: 200_000 },
  }),
} as RowOf<'missions'>;

function iteration(id: string, fields: Record<string, unknown>): StoredRow {
  const all = {
    missionId: 'm1',
    slot: new Date(now - 600_000).toISOString(),
    trigger: 'schedule',
    runner: { kind: 'device', deviceId: 'dev_a' },
    plannedAt: stamp(now - 500_000),
    ...fields,
  };
  return {
    table: 'iterations',
    id,
    fields: all,
    stamps: Object.fromEntries(Object.keys(all).map((name) => [name, all.plannedAt as string])),
  };
}

/** The mission row with a budget of `maxTokensPerDay` (ten runs a day). */
function missionWithTokens(maxTokensPerDay: number): StoredRow {
  const budgeted = { ...mission, budget: { maxRunsPerDay: 10, maxTokensPerDay } };
  return { table: 'missions', id: 'm1', fields: { ...budgeted }, stamps: {} };
}

/** What an iteration row records of its attempts' model calls. */
const usage = (tokens: number, rounds: number) => ({
  promptTokens: tokens,
  completionTokens: 0,
  model: 'x',
  latencyMs: 1,
  rounds,
});

/** A store holding `rows` beside the mission row, as the claims owner reads it. */
function readerOf(missionRow: StoredRow, rows: readonly StoredRow[]): StoreReader {
  const all = [missionRow, ...rows];
  const find = (table: string, id: string) =>
    all.find((row) => row.table === table && row.id === id);
  return {
    get: async (table, id) => find(table, id),
    getMany: async (keys) => keys.map((key) => find(key.table, key.id)),
    list: async (table) => rows.filter((row) => row.table === table),
  };
}

describe('the claim rule', () => {
  it('grants a free slot, refuses another holder’s live lease, and lets the holder renew', () => {
    const first = decideClaim({ current: undefined, holder: 'dev_a.h1', ttlMs, now });
    expect(first).toEqual({
      granted: true,
      lease: { holder: 'dev_a.h1', expiresAt: now + ttlMs, grants: 1, grantedAt: now },
    });
    const lease = { holder: 'dev_a.h1', expiresAt: now + ttlMs };
    // A reloaded tab is a new host: the old host's lease holds.
    expect(decideClaim({ current: lease, holder: 'dev_a.h2', ttlMs, now })).toMatchObject({
      granted: false,
      refusal: 'held',
    });
    expect(decideClaim({ current: lease, holder: 'dev_a.h1', ttlMs, now: now + 1 })).toMatchObject({
      granted: true,
    });
  });

  it('refuses an iteration that already holds a plan, even once its lease expired (bug: a returning device planned again)', () => {
    const planned = iteration('m1@x', { status: 'planned', plan: { summary: '', steps: [] } });
    const expired = { holder: 'relay_1.p1', expiresAt: now - 1 };
    expect(
      decideClaim({ current: expired, holder: 'dev_a.h1', ttlMs, now, iteration: planned }),
    ).toMatchObject({
      granted: false,
      refusal: 'planned',
      reason: 'the iteration is already planned',
    });
  });

  it('lets a failed iteration be claimed only when the retry rule calls for it, and its holder renew', () => {
    const failed = iteration('m1@x', {
      status: 'failed',
      error: { code: 'unavailable', message: '503' },
      attempts: 1,
      slot: new Date(now - 120_000).toISOString(),
      plannedAt: stamp(now - 10_000),
    });
    const context = { mission: { row: mission, iterations: [failed], otherLeases: 0 } };
    const early = decideClaim({
      current: undefined,
      holder: 'h',
      ttlMs,
      now,
      iteration: failed,
      ...context,
    });
    expect(early).toMatchObject({ granted: false, refusal: 'planned' });
    const due = decideClaim({
      current: undefined,
      holder: 'h',
      ttlMs,
      now: now + 60_000,
      iteration: failed,
      ...context,
    });
    expect(due).toMatchObject({ granted: true });
    const renewal = decideClaim({
      current: { holder: 'h', expiresAt: now + ttlMs },
      holder: 'h',
      ttlMs,
      now,
      iteration: failed,
      ...context,
    });
    expect(renewal).toMatchObject({ granted: true });
  });

  it('grants a person’s retry of a failed iteration, a permanent failure included, never of a planned one', () => {
    const failed = iteration('m1@x', {
      status: 'failed',
      error: { code: 'model', message: '400 bad request' },
      attempts: 1,
    });
    const context = { mission: { row: mission, iterations: [failed], otherLeases: 0 } };
    const claim = (row: StoredRow, retry: boolean) =>
      decideClaim({
        current: undefined,
        holder: 'h',
        ttlMs,
        now,
        iteration: row,
        retry,
        ...context,
      });
    expect(claim(failed, false)).toMatchObject({ granted: false, refusal: 'planned' });
    expect(claim(failed, true)).toMatchObject({ granted: true });
    const planned = iteration('m1@x', { status: 'planned', plan: { summary: '', steps: [] } });
    expect(claim(planned, true)).toMatchObject({ granted: false, refusal: 'planned' });
  });

  it('counts the live leases on a mission’s other slots against its budget (bug: two runners both took the last run)', () => {
    const done = iteration('m1@a', {
      status: 'planned',
      plan: { summary: '', steps: [] },
      usage: { promptTokens: 10, completionTokens: 10, model: 'x', latencyMs: 1, rounds: 1 },
    });
    const oneLeft = { row: mission, iterations: [done], otherLeases: 0 };
    expect(
      decideClaim({ current: undefined, holder: 'h', ttlMs, now, mission: oneLeft }),
    ).toMatchObject({
      granted: true,
    });
    const taken = { row: mission, iterations: [done], otherLeases: 1 };
    expect(
      decideClaim({ current: undefined, holder: 'h', ttlMs, now, mission: taken }),
    ).toMatchObject({
      granted: false,
      refusal: 'budget',
    });
    // A renewal continues a run already counted.
    expect(
      decideClaim({
        current: { holder: 'h', expiresAt: now + 1 },
        holder: 'h',
        ttlMs,
        now,
        mission: taken,
      }),
    ).toMatchObject({ granted: true });
  });

  it('charges the rounds granted to a runner cut off after its claim, and the tokens of the failed attempt a retry follows (found by the simulator, seeds 4061 and 13593)', async () => {
    const missionRow = missionWithTokens(1_000);
    // One run today: 200 tokens in one round.
    const done = iteration('m1@a', {
      status: 'planned',
      plan: { summary: '', steps: [] },
      usage: usage(200, 1),
    });
    const decide = (rows: StoredRow[], lease: Lease | undefined) =>
      decideClaimFromStore({
        reader: readerOf(missionRow, rows),
        iterationId: 'm1@b',
        holder: 'relay_1',
        ttlMs,
        now,
        current: lease,
        missionLeases: lease ? [{ iterationId: 'm1@b', lease }] : [],
      });
    expect(await decide([done], undefined)).toMatchObject({ granted: true });
    // A device held the slot for four rounds and was cut off: nothing it spent reached the
    // relay, but four rounds of about 200 tokens each may have been.
    const cutOff = { holder: 'dev_a.h1', expiresAt: now - 1, grants: 4 };
    expect(await decide([done], cutOff)).toMatchObject({ granted: false, refusal: 'budget' });
    // Its failed row arrived: the rounds it records are no longer unknown, its tokens are spent.
    const failed = iteration('m1@b', {
      status: 'failed',
      error: { code: 'unavailable', message: 'down' },
      usage: usage(700, 4),
      plannedAt: stamp(now - 120_000),
    });
    const retry = await decide([done, failed], cutOff);
    expect(retry).toMatchObject({ granted: false, refusal: 'budget' });
    expect(retry.granted ? '' : retry.reason).toMatch(/^900 tokens used/);
    // The grants carry over to the new holder.
    const cheap = iteration('m1@b', { ...failed.fields, usage: usage(100, 4) });
    expect(await decide([done, cheap], cutOff)).toMatchObject({
      granted: true,
      lease: { holder: 'relay_1', grants: 5 },
    });
  });
  it('charges a retry in flight on another slot as a run, whatever rounds its row recorded without a claim (found by the simulator, seed 598484)', async () => {
    const missionRow = missionWithTokens(900);
    // One run today of 240 tokens; two slots failed while the relay was out of reach (four
    // rounds each, made without a claim, no tokens).
    const rows = [
      iteration('m1@a', {
        status: 'planned',
        plan: { summary: '', steps: [] },
        usage: usage(240, 2),
      }),
      ...['m1@b', 'm1@c'].map((id) =>
        iteration(id, {
          status: 'failed',
          error: { code: 'unavailable', message: 'down' },
          usage: usage(0, 4),
        }),
      ),
    ];
    const reader = readerOf(missionRow, rows);
    // Back online, the device retries m1@b under a claim: its lease notes the four rounds its
    // row holds that no claim paid for.
    const retryLease = await decideClaimFromStore({
      reader,
      iterationId: 'm1@b',
      holder: 'dev_b.h1',
      ttlMs,
      now,
      current: undefined,
      missionLeases: [],
    });
    expect(retryLease).toMatchObject({ granted: true, lease: { grants: 1, unclaimedRounds: 4 } });
    const retrying = retryLease.granted ? retryLease.lease : undefined;
    const decide = (leased: Array<{ iterationId: string; lease: Lease | undefined }>) =>
      decideClaimFromStore({
        reader,
        iterationId: 'm1@d',
        holder: 'dev_a.h1',
        ttlMs,
        now: now + 1,
        current: undefined,
        missionLeases: leased.flatMap(({ iterationId, lease }) =>
          lease ? [{ iterationId, lease }] : [],
        ),
      });
    // One retry in flight: 240 + 240 used, a run takes about 240: 720 fits in 900.
    expect(await decide([{ iterationId: 'm1@b', lease: retrying }])).toMatchObject({
      granted: true,
    });
    // Two: 720 used, and one more would pass the budget. (Without the note, the four rounds
    // their rows record looked like the rounds granted, and the claim was granted at 240 used.)
    const refused = await decide([
      { iterationId: 'm1@b', lease: retrying },
      { iterationId: 'm1@c', lease: retrying },
    ]);
    expect(refused).toMatchObject({ granted: false, refusal: 'budget' });
    expect(refused.granted ? '' : refused.reason).toMatch(/^720 tokens used/);
    // A failed attempt that is over (its row records each round it was granted) is no run in
    // flight while its lease lives: the next run is not made to wait for it.
    const over = { holder: 'dev_b.h1', expiresAt: now + 200_000, grants: 4 };
    expect(
      await decide([
        { iterationId: 'm1@b', lease: over },
        { iterationId: 'm1@c', lease: over },
      ]),
    ).toMatchObject({ granted: true });
  });
  it('charges the rounds it granted on a slot whose winning row records only rounds made without a claim (found by the simulator, seed 821449)', async () => {
    // One run today took one round of 120 tokens: a run is expected to cost 120.
    const done = iteration('m1@a', {
      status: 'planned',
      plan: { summary: '', steps: [] },
      usage: usage(120, 1),
    });
    // The relay planned m1@b under its claims for two rounds (billed 240) and failed. A device
    // cut off from the relay failed the same slot twice meanwhile, without a claim and without
    // tokens (its model was out of reach too); its row won the merge, and says its two rounds
    // were unclaimed.
    const relayLease: Lease = { holder: 'relay_1', expiresAt: now - 60_000, grants: 2 };
    const offline = (unclaimedRounds?: number) =>
      iteration('m1@b', {
        status: 'failed',
        error: { code: 'unavailable', message: 'the model endpoint is unreachable' },
        attempts: 2,
        usage: { ...usage(0, 2), ...(unclaimedRounds === undefined ? {} : { unclaimedRounds }) },
      });
    const decide = (slotB: StoredRow) =>
      decideClaimFromStore({
        reader: readerOf(missionWithTokens(400), [done, slotB]),
        iterationId: 'm1@c',
        holder: 'relay_1',
        ttlMs,
        now,
        current: undefined,
        missionLeases: [{ iterationId: 'm1@b', lease: relayLease }],
      });
    // The relay's two rounds are charged at 120 each: 360 used, and another run passes 400.
    const refused = await decide(offline(2));
    expect(refused).toMatchObject({ granted: false, refusal: 'budget' });
    expect(refused.granted ? '' : refused.reason).toMatch(/^360 tokens used/);
    // A row that does not say (an older version's) is read as before: its rounds look like the
    // rounds granted, and only 120 is counted.
    expect(await decide(offline(undefined))).toMatchObject({ granted: true });
  });
  it('judges each further round of a run against the budget, counting the rounds granted to the runs in flight (found by the simulator)', async () => {
    // One run today took one round of 120 tokens: a run is expected to cost 120.
    const reader = readerOf(missionWithTokens(1_000), [
      iteration('m1@a', {
        status: 'planned',
        plan: { summary: '', steps: [] },
        usage: usage(120, 1),
      }),
    ]);
    // The claims owner's leases, as the relay keeps them: a granted claim is stored.
    const leases = new Map<string, Lease>();
    const claim = async (iterationId: string, holder: string) => {
      const decision = await decideClaimFromStore({
        reader,
        iterationId,
        holder,
        ttlMs,
        now: now + 1,
        current: leases.get(iterationId),
        missionLeases: [...leases].map(([id, lease]) => ({ iterationId: id, lease })),
      });
      if (decision.granted) leases.set(iterationId, decision.lease);
      return decision;
    };
    // Five runners start a run each: the fifth counts 120 used and four in flight at 120, and
    // one more run fits in 1,000.
    const slots = ['m1@b', 'm1@c', 'm1@d', 'm1@e', 'm1@f'];
    for (const [index, slot] of slots.entries())
      expect(await claim(slot, `dev_${index}.h1`)).toMatchObject({ granted: true });
    // Each run wants a second round (its model asked for a tool). Every round granted is one
    // the budget counts at 120: 120 + 5 × 120 + 2 more rounds is 960; a third would be 1,080.
    // (The relay judges one user's claims one after another.)
    const second: boolean[] = [];
    for (const [index, slot] of slots.entries())
      second.push((await claim(slot, `dev_${index}.h1`)).granted);
    expect(second).toEqual([true, true, false, false, false]);
    const refused = await claim('m1@d', 'dev_2.h1');
    expect(refused).toMatchObject({ granted: false, refusal: 'budget' });
    expect(refused.granted ? '' : refused.reason).toMatch(
      /^960 tokens used .*this run's rounds so far included, and another round takes about 120/,
    );
    // The rounds granted in all stay within the budget: 8 rounds of 120 and the first run.
    const granted = [...leases.values()].reduce((sum, lease) => sum + (lease.grants ?? 0), 0);
    expect(120 + granted * 120).toBeLessThanOrEqual(1_000);
    // A new run now counts the runs in flight by their rounds, and is refused.
    expect(await claim('m1@g', 'dev_5.h1')).toMatchObject({ granted: false, refusal: 'budget' });
  });
});
