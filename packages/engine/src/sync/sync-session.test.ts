import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import type { Transport } from '../ports.ts';
import type { Change } from './change.ts';
import { maxPushBytes } from './protocol.ts';
import { pushOutbox, syncRound, type Outbox, type OutboxEntry } from './sync-session.ts';

function change(n: number): Change {
  return {
    id: `01J0000000000000000000000${n}`,
    table: 'tasks',
    rowId: `t${n}`,
    fields: { title: `Task ${n}` },
    hlc: `001700000000000-00000${n}-dev_a`,
    actor: { kind: 'user', deviceId: 'dev_a' },
    deviceId: 'dev_a',
  };
}

/** An outbox in memory, and a relay that refuses what `refuse` says, by its position. */
function setup(refuse: (changes: Change[]) => EngineError | undefined) {
  let entries: OutboxEntry[] = [1, 2, 3, 4].map((n) => ({ seq: n, change: change(n) }));
  const refused: { id: string; reason: string }[] = [];
  const received: string[] = [];
  let pulls = 0;
  const outbox: Outbox = {
    read: async (limit) => entries.slice(0, limit),
    drop: async (throughSeq) => {
      entries = entries.filter((entry) => entry.seq > throughSeq);
    },
    refuse: async (entry, reason) => {
      entries = entries.filter((other) => other.seq !== entry.seq);
      refused.push({ id: entry.change.id, reason });
    },
  };
  const transport: Transport = {
    async push({ changes }) {
      const problem = refuse(changes);
      if (problem) throw problem;
      received.push(...changes.map((item) => item.rowId));
      return { accepted: changes.length, duplicates: 0, cursor: String(received.length) };
    },
    async pull() {
      pulls += 1;
      return { changes: [], cursor: '0', more: false };
    },
  };
  const round = () =>
    syncRound({
      transport,
      outbox,
      cursor: { get: async () => undefined, set: async () => undefined },
      deviceId: 'dev_a',
      apply: async () => ({ applied: 0, refused: [] }),
    });
  return { round, refused, received, remaining: () => entries, pulls: () => pulls };
}

describe('a sync round', () => {
  it('moves a change the relay refuses as invalid aside, with the reason, and pushes the rest (bug: the outbox stalled)', async () => {
    const { round, refused, received, remaining } = setup((changes) => {
      const index = changes.findIndex((item) => item.rowId === 't2');
      return index < 0
        ? undefined
        : new EngineError('invalid', `changes.${index}.fields.title: too long`, {
            field: `changes.${index}.fields.title`,
          });
    });
    const report = await round();
    expect(received).toEqual(['t1', 't3', 't4']);
    expect(refused).toEqual([{ id: change(2).id, reason: 'changes.1.fields.title: too long' }]);
    expect(report.refusedByRelay).toEqual(refused);
    expect(remaining()).toEqual([]);
  });

  it('pushes what comes before a stamp ahead of the relay’s clock and keeps the rest for later', async () => {
    let relayCaughtUp = false;
    const { round, received, remaining, refused } = setup((changes) => {
      const index = changes.findIndex((item) => item.rowId === 't3');
      return index < 0 || relayCaughtUp
        ? undefined
        : new EngineError('clock', `changes.${index}.hlc: stamped 38 minutes ahead.`, {
            field: `changes.${index}.hlc`,
          });
    });
    // Said as the device's person reads it in the sync status: changes wait, and why.
    await expect(round()).rejects.toMatchObject({
      kind: 'clock',
      field: 'changes.2.hlc',
      message: 'A change waits to sync: stamped 38 minutes ahead.',
    });
    expect(received).toEqual(['t1', 't2']);
    expect(remaining().map((entry) => entry.change.rowId)).toEqual(['t3', 't4']);
    relayCaughtUp = true;
    await round();
    expect(received).toEqual(['t1', 't2', 't3', 't4']);
    expect(refused).toEqual([]);
  });

  it('pulls even when the push fails, then reports the push’s failure', async () => {
    const { round, pulls } = setup(() => new EngineError('unauthorized', 'bad token'));
    await expect(round()).rejects.toMatchObject({ kind: 'unauthorized' });
    expect(pulls()).toBe(1);
  });

  it('pushes in the same round what applying the pull wrote (bug: it waited for another round)', async () => {
    let entries: OutboxEntry[] = [];
    const received: string[] = [];
    let pulled = false;
    const outbox: Outbox = {
      read: async (limit) => entries.slice(0, limit),
      drop: async (throughSeq) => {
        entries = entries.filter((entry) => entry.seq > throughSeq);
      },
      refuse: async () => undefined,
    };
    const transport: Transport = {
      async push({ changes }) {
        received.push(...changes.map((item) => item.rowId));
        return { accepted: changes.length, duplicates: 0, cursor: '1' };
      },
      async pull() {
        const changes = pulled ? [] : [change(1)];
        pulled = true;
        return { changes, cursor: '1', more: false };
      },
    };
    await syncRound({
      transport,
      outbox,
      cursor: { get: async () => undefined, set: async () => undefined },
      deviceId: 'dev_a',
      // Applying it supersedes a step here: a change of this replica, recorded in the outbox.
      apply: async () => {
        entries.push({ seq: 1, change: change(2) });
        return { applied: 1, refused: [] };
      },
    });
    expect(received).toEqual(['t2']);
    expect(entries).toEqual([]);
  });

  it('pushes large changes in batches that each fit in one push body', async () => {
    // Four changes of about 1.6 MB of UTF-8 each: at most two fit in one 5 MB push.
    const entries: OutboxEntry[] = [1, 2, 3, 4].map((n) => ({
      seq: n,
      change: { ...change(n), fields: { title: `Task ${n}`, notes: 'é'.repeat(800_000) } },
    }));
    const pushes: number[] = [];
    const result = await pushOutbox({
      deviceId: 'dev_a',
      transport: {
        async push(request) {
          const bytes = new TextEncoder().encode(JSON.stringify(request)).length;
          if (bytes > maxPushBytes) throw new EngineError('too_large', 'larger than 5 MB');
          pushes.push(request.changes.length);
          return { accepted: request.changes.length, duplicates: 0, cursor: '1' };
        },
        pull: async () => ({ changes: [], cursor: '0', more: false }),
      },
      outbox: {
        read: async (limit) => entries.slice(0, limit),
        drop: async (throughSeq) => {
          while (entries[0] && entries[0].seq <= throughSeq) entries.shift();
        },
        refuse: async () => undefined,
      },
    });
    expect(result.pushed).toBe(4);
    expect(pushes).toEqual([2, 2]);
  });
});

/**
 * A relay's log of one user in memory (its cursor is the log's length), as the relay answers:
 * `since` when every pushed change is new. `others` appends changes of another device.
 */
function relayLog() {
  const log: Change[] = [];
  const pulledIds: string[] = [];
  const pullsFrom: Array<string | undefined> = [];
  const transport: Transport = {
    async push({ changes }) {
      const fresh = changes.filter((item) => !log.some((logged) => logged.id === item.id));
      const since = log.length;
      log.push(...fresh);
      return {
        accepted: fresh.length,
        duplicates: changes.length - fresh.length,
        cursor: String(log.length),
        ...(fresh.length === changes.length ? { since: String(since) } : {}),
      };
    },
    async pull({ since, limit }) {
      pullsFrom.push(since);
      const from = Number(since ?? 0);
      const changes = log.slice(from, from + limit);
      pulledIds.push(...changes.map((item) => item.id));
      return { changes, cursor: String(from + changes.length), more: false };
    },
  };
  return { log, transport, pulledIds, pullsFrom };
}

function deviceWith(entries: OutboxEntry[], stored: string | undefined) {
  const cursor = { value: stored };
  const applied: string[] = [];
  return {
    cursor,
    applied,
    options: {
      outbox: {
        read: async (limit: number) => entries.slice(0, limit),
        drop: async (throughSeq: number) => {
          while (entries[0] && entries[0].seq <= throughSeq) entries.shift();
        },
        refuse: async () => undefined,
      } satisfies Outbox,
      cursor: {
        get: async () => cursor.value,
        set: async (value: string) => void (cursor.value = value),
      },
      deviceId: 'dev_a',
      apply: async (changes: unknown[]) => {
        applied.push(...(changes as Change[]).map((item) => item.id));
        return { applied: changes.length, refused: [] };
      },
    },
  };
}

describe('a sync round after its own push', () => {
  it('moves the cursor past the changes it pushed when they follow it in the log, and does not pull them back', async () => {
    const relay = relayLog();
    relay.log.push(change(1));
    const device = deviceWith(
      [2, 3].map((n) => ({ seq: n, change: change(n) })),
      '1',
    );
    const report = await syncRound({ transport: relay.transport, ...device.options });
    expect(relay.log.map((item) => item.rowId)).toEqual(['t1', 't2', 't3']);
    expect(device.cursor.value).toBe('3');
    expect(relay.pullsFrom).toEqual(['3']);
    expect(device.applied).toEqual([]);
    expect(report).toMatchObject({ pushed: 2, pulled: 0, cursor: '3' });
  });

  it('pulls its own changes with the rest when another device’s changes came before them', async () => {
    const relay = relayLog();
    relay.log.push(change(1));
    const device = deviceWith([{ seq: 3, change: change(3) }], '1');
    // Another device's change reaches the log after this device's cursor, before its push.
    relay.log.push(change(2));
    await syncRound({ transport: relay.transport, ...device.options });
    expect(relay.pullsFrom).toEqual(['1']);
    expect(device.applied).toEqual([change(2).id, change(3).id]);
    expect(device.cursor.value).toBe('3');
  });

  it('pulls them when the relay had seen one of them (no `since` in its answer)', async () => {
    const relay = relayLog();
    relay.log.push(change(1), change(2));
    // Its cursor is before change 2, which an earlier push whose answer was lost appended.
    const device = deviceWith(
      [2, 3].map((n) => ({ seq: n, change: change(n) })),
      '1',
    );
    await syncRound({ transport: relay.transport, ...device.options });
    expect(relay.pullsFrom).toEqual(['1']);
    expect(device.applied).toEqual([change(2).id, change(3).id]);
    expect(device.cursor.value).toBe('3');
  });
});
