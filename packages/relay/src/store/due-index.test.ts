import {
  createEngine,
  type EngineErrorKind,
  type MissionDraft,
  type StoredRow,
} from '@baton/engine';
import {
  createFixedClock,
  createMemoryStore,
  createScriptedModel,
  createSequentialIds,
} from '@baton/engine/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../db/database.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { takeDueLock } from '../db/migrate.ts';
import { sessionsWaitingOnLocks, startTogether, waitUntil } from '../testing/postgres-race.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { listDue, nextDueSlot, releaseDue, takeDue, type DueEntry } from './due-index.ts';
import { createSqlStore } from './sql-store.ts';

const created = Date.UTC(2026, 10, 25, 7, 5);
const hour = 3_600_000;
const anchor = Date.UTC(2026, 10, 25, 7, 0);
const everyHour = { kind: 'interval', everyMs: hour, anchor } as const;

/** A mission as a device's engine stores it, created at `created`. */
async function missionRow(draft: Partial<MissionDraft> = {}): Promise<StoredRow> {
  const store = createMemoryStore();
  const engine = createEngine({
    store,
    clock: createFixedClock(created),
    ids: createSequentialIds('D'),
    nodeId: 'dev_a',
    runner: { kind: 'device', deviceId: 'dev_a' },
  });
  const id = await engine.createMission({
    draft: { title: 'Daily', objective: 'Plan', schedule: everyHour, ...draft },
    actor: { kind: 'user', deviceId: 'dev_a' },
  });
  return (await store.get('missions', id))!;
}

/**
 * A mission and its first slot (`anchor + hour`), which a device tried to plan a second after
 * it and failed with an error of `kind` (`unavailable` is transient): the rows as it stores them.
 */
async function failedSlotRows(kind: EngineErrorKind): Promise<StoredRow[]> {
  const store = createMemoryStore();
  const clock = createFixedClock(created);
  const engine = createEngine({
    store,
    clock,
    ids: createSequentialIds('D'),
    model: createScriptedModel(() => ({ error: 'the model failed', errorKind: kind })),
    nodeId: 'dev_a',
    runner: { kind: 'device', deviceId: 'dev_a' },
  });
  await engine.createMission({
    draft: { title: 'Daily', objective: 'Plan', schedule: everyHour },
    actor: { kind: 'user', deviceId: 'dev_a' },
  });
  clock.set(anchor + hour + 1_000);
  if ((await engine.tick()).failed.length !== 1) throw new Error('the slot did not fail');
  return [...(await store.list('missions')), ...(await store.list('iterations'))];
}

describe('nextDueSlot', () => {
  it('is the retry of the newest slot when it failed transiently, else the slot after it', async () => {
    const due = async (kind: EngineErrorKind) => {
      const [mission, iteration] = await failedSlotRows(kind);
      return nextDueSlot({
        mission: mission!,
        lastScheduledSlotMs: anchor + hour,
        lastScheduled: iteration,
      }).nextSlotAt;
    };
    // Failed a second after the slot; retried a minute after the failure.
    expect(await due('unavailable')).toBe(anchor + hour + 1_000 + 60_000);
    expect(await due('model')).toBe(anchor + 2 * hour);
  });

  it('is the first slot after the mission was created', async () => {
    expect(nextDueSlot({ mission: await missionRow(), lastScheduledSlotMs: undefined })).toEqual({
      runOn: 'any',
      nextSlotAt: anchor + hour,
    });
  });

  it('is the first slot after the schedule was edited, not after the mission was created', async () => {
    const day = 24 * hour;
    const store = createMemoryStore();
    const clock = createFixedClock(created - 30 * day);
    const engine = createEngine({
      store,
      clock,
      ids: createSequentialIds('D'),
      nodeId: 'dev_a',
      runner: { kind: 'device', deviceId: 'dev_a' },
    });
    const actor = { kind: 'user', deviceId: 'dev_a' } as const;
    const id = await engine.createMission({
      draft: { title: 'Daily', objective: 'Plan', schedule: { ...everyHour, everyMs: day } },
      actor,
    });
    clock.set(created + 3 * hour);
    await engine.updateMission({ id, patch: { schedule: everyHour }, actor });
    const mission = (await store.get('missions', id))!;
    expect(nextDueSlot({ mission, lastScheduledSlotMs: undefined }).nextSlotAt).toBe(
      anchor + 4 * hour,
    );
  });

  it('is the slot after the newest scheduled iteration', async () => {
    const mission = await missionRow({ runOn: 'relay' });
    expect(nextDueSlot({ mission, lastScheduledSlotMs: anchor + 5 * hour })).toEqual({
      runOn: 'relay',
      nextSlotAt: anchor + 6 * hour,
    });
  });

  it('has none for a paused, device-only, manual or deleted mission', async () => {
    const none = async (draft: Partial<MissionDraft>, deleted = false) => {
      const mission = await missionRow(draft);
      if (deleted) mission.fields._deleted = true;
      return nextDueSlot({ mission, lastScheduledSlotMs: undefined }).nextSlotAt;
    };
    expect(await none({ state: 'paused' })).toBeUndefined();
    expect(await none({ runOn: 'device' })).toBeUndefined();
    expect(await none({ schedule: { kind: 'manual' } })).toBeUndefined();
    expect(await none({}, true)).toBeUndefined();
  });
});

describeOnEachDatabase('the due index', (kind) => {
  let db: Database;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(() => db.close());

  /** Due rows for user `u_<n>`, mission `m_<n>`, due `dueMs` (`runOn` any unless given). */
  async function addDue(
    entries: Array<{ user: string; mission: string; at: number; runOn?: string }>,
  ) {
    for (const entry of entries) {
      await db.query(
        'insert into due (user_id, mission_id, run_on, next_slot_at) values ($1, $2, $3, $4::bigint)',
        [entry.user, entry.mission, entry.runOn ?? 'any', entry.at],
      );
    }
  }
  const now = anchor + 10 * hour;
  const take = (
    holder: string,
    options: { at?: number; covered?: string[]; limit?: number } = {},
  ) =>
    takeDue(db, {
      now: options.at ?? now,
      limit: options.limit ?? 100,
      holder,
      leaseMs: 60_000,
      coveredUserIds: options.covered ?? [],
      graceMs: 30 * 60_000,
    });
  const missionsOf = (entries: Array<{ missionId: string }>) =>
    entries.map((entry) => entry.missionId);

  it('follows missions written through the store: a new mission is due at its first slot', async () => {
    const store = createSqlStore({ db }).forUser('u_1');
    const mission = await missionRow();
    await store.transaction(async (writer) => writer.put([mission]));
    expect(await listDue(db, { now: anchor + hour, limit: 10 })).toEqual([
      { userId: 'u_1', missionId: mission.id, runOn: 'any', nextSlotAt: anchor + hour },
    ]);
    expect(await listDue(db, { now: anchor + hour - 1, limit: 10 })).toEqual([]);
  });

  it("keeps each mission due when a user's writes commit together and one of them fails alone", async () => {
    const store = createSqlStore({ db }).forUser('u_1');
    const mission = await missionRow();
    const [a, b, c] = ['m_a', 'm_b', 'm_c'].map((id) => ({ ...mission, id }));
    // Asked for at once, they wait together and commit in one group (user-writes.ts), whose
    // end recomputes the due entries of every mission its writes touched.
    const settled = await Promise.allSettled([
      store.transaction((writer) => writer.put([a!])),
      store.transaction(async (writer) => {
        await writer.put([b!]);
        throw new Error('refused');
      }),
      store.transaction((writer) => writer.put([c!])),
    ]);
    expect(settled.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(missionsOf(await listDue(db, { now: anchor + hour, limit: 10 })).sort()).toEqual([
      'm_a',
      'm_c',
    ]);
  });

  it('makes a slot that failed transiently due again at its retry, and a permanent failure not', async () => {
    const store = createSqlStore({ db });
    for (const kind of ['unavailable', 'model'] as const) {
      const rows = await failedSlotRows(kind);
      await store.forUser(`u_${kind}`).transaction(async (writer) => writer.put(rows));
    }
    const due = await listDue(db, { now: anchor + 10 * hour, limit: 10 });
    expect(due.map(({ userId, nextSlotAt }) => ({ userId, nextSlotAt }))).toEqual([
      { userId: 'u_unavailable', nextSlotAt: anchor + hour + 1_000 + 60_000 },
      { userId: 'u_model', nextSlotAt: anchor + 2 * hour },
    ]);
  });

  it('lists entries due by now, oldest first, at most limit', async () => {
    await addDue([
      { user: 'u_1', mission: 'm_late', at: now - 2 * hour },
      { user: 'u_2', mission: 'm_later', at: now - hour },
      { user: 'u_1', mission: 'm_future', at: now + hour },
      { user: 'u_3', mission: 'm_oldest', at: now - 3 * hour },
    ]);
    expect(missionsOf(await listDue(db, { now, limit: 10 }))).toEqual([
      'm_oldest',
      'm_late',
      'm_later',
    ]);
    expect(missionsOf(await listDue(db, { now, limit: 2 }))).toEqual(['m_oldest', 'm_late']);
  });

  it('leases taken entries to one holder until released or expired', async () => {
    await addDue([
      { user: 'u_1', mission: 'm_1', at: now - hour },
      { user: 'u_2', mission: 'm_2', at: now - hour },
    ]);
    expect(missionsOf(await take('relay_a-1', { limit: 1 }))).toEqual(['m_1']);
    expect(missionsOf(await take('relay_b-1'))).toEqual(['m_2']);
    // Nobody takes a leased entry again, not even its holder, until it is given back.
    expect(await take('relay_a-1')).toEqual([]);
    // Giving back gives back only what the holder took.
    await releaseDue(db, { holder: 'relay_c-1', now });
    expect(await take('relay_c-1')).toEqual([]);
    await releaseDue(db, { holder: 'relay_a-1', now });
    expect(missionsOf(await take('relay_c-1'))).toEqual(['m_1']);
    // A holder that died: its lease expires and another takes the entry.
    expect(missionsOf(await take('relay_d-1', { at: now + 60_001 })).sort()).toEqual([
      'm_1',
      'm_2',
    ]);
  });

  it("leaves a covered user's entries alone unless they run on the relay or are overdue", async () => {
    await addDue([
      { user: 'u_1', mission: 'm_any', at: now - 60_000 },
      { user: 'u_1', mission: 'm_relay', at: now - 60_000, runOn: 'relay' },
      { user: 'u_1', mission: 'm_stuck', at: now - hour },
      { user: 'u_2', mission: 'm_other', at: now - 60_000 },
    ]);
    expect(missionsOf(await take('relay_a-1', { covered: ['u_1'] })).sort()).toEqual([
      'm_other',
      'm_relay',
      'm_stuck',
    ]);
  });

  // PGlite runs one query at a time, so two takes cannot overlap there: only PostgreSQL's
  // separate connections test the lock takes hold. The takes are held back until all four wait
  // on it, so they really start at the same moment.
  if (kind === 'postgres')
    it('splits the entries between instances taking at the same moment on PostgreSQL, none twice', async () => {
      await addDue(
        Array.from({ length: 40 }, (_, index) => ({
          user: `u_${index % 4}`,
          mission: `m_${index}`,
          at: now - index * 1_000,
        })),
      );
      const taken = await startTogether(db, {
        lock: `select pg_advisory_xact_lock(${takeDueLock})`,
        waiting: 4,
        contenders: () =>
          ['relay_a-1', 'relay_b-1', 'relay_c-1', 'relay_d-1'].map((holder) =>
            take(holder, { limit: 20 }),
          ),
      });
      expect(taken.filter((entries) => entries.length > 0).length).toBeGreaterThan(1);
      const all = taken.flatMap(missionsOf);
      expect(all).toHaveLength(40);
      expect(new Set(all).size).toBe(40);
    });

  it('honours a lease an earlier version wrote into the row until it ends', async () => {
    await addDue([
      { user: 'u_1', mission: 'm_1', at: now - hour },
      { user: 'u_2', mission: 'm_2', at: now - hour },
    ]);
    await db.query(
      "update due set taken_by = 'relay_old-1', taken_until = $1::bigint where mission_id = 'm_1'",
      [now + 30_000],
    );
    expect(missionsOf(await take('relay_a-1'))).toEqual(['m_2']);
    expect(missionsOf(await take('relay_b-1', { at: now + 30_001 }))).toEqual(['m_1']);
  });

  // A take that began while another held the lock must see the lease that one wrote when it
  // committed: its pick looks once the lock is its own, not when its call began.
  if (kind === 'postgres')
    it('leaves out what the take before it leased, though that lease committed after the call began', async () => {
      await addDue([
        { user: 'u_1', mission: 'm_1', at: now - 2 * hour },
        { user: 'u_2', mission: 'm_2', at: now - hour },
      ]);
      let waiting: Promise<DueEntry[]> | undefined;
      await db.transaction(async (other) => {
        await other.query(`select pg_advisory_xact_lock(${takeDueLock})`);
        await other.query(
          "insert into due_leases (holder, until, user_ids, mission_ids) values ('relay_b-1', $1::bigint, '{u_1}', '{m_1}')",
          [now + 60_000],
        );
        waiting = take('relay_a-1');
        await waitUntil(async () => (await sessionsWaitingOnLocks(other)) >= 1, {
          message: 'the take waiting on the lock',
        });
      });
      expect(missionsOf(await waiting!)).toEqual(['m_2']);
      // Each entry is held by one instance: nobody takes either until a lease ends.
      expect(await take('relay_c-1')).toEqual([]);
      expect(missionsOf(await take('relay_c-1', { at: now + 60_001 }))).toEqual(['m_1', 'm_2']);
    });

  it('keeps no lease after its holder gives its entries back or the lease ends', async () => {
    await addDue(
      Array.from({ length: 6 }, (_, index) => ({
        user: `u_${index}`,
        mission: `m_${index}`,
        at: now - hour - index * 1_000,
      })),
    );
    expect(await take('relay_a-1', { limit: 2 })).toHaveLength(2);
    expect(await take('relay_dead-1', { limit: 2 })).toHaveLength(2);
    await releaseDue(db, { holder: 'relay_a-1', now });
    // The dead holder's entries stay taken until its lease ends.
    expect(missionsOf(await take('relay_b-1')).sort()).toEqual(['m_0', 'm_1', 'm_4', 'm_5']);
    await releaseDue(db, { holder: 'relay_b-1', now: now + 60_001 });
    expect(await db.query('select holder from due_leases')).toEqual([]);
    expect(await take('relay_c-1', { at: now + 60_001 })).toHaveLength(6);
  });
});
