import type { Change } from '@baton/engine';
import { afterEach, beforeEach, expect, it, onTestFinished } from 'vitest';
import { migrate } from '../db/migrate.ts';
import { knownIdsSql, pullRangeSql } from '../store/change-log.ts';
import { rowsByKeysQuery } from '../store/rows-table.ts';
import { pushChanges } from '../store/push-changes.ts';
import { openTestPostgresHandle } from '../testing/test-database.ts';
import {
  bobToken,
  createChangeFactory,
  createTestRelay,
  type TestRelay,
} from '../testing/test-relay.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { loggedChanges } from '../testing/logged-changes.ts';
import { sessionsWaitingOnLocks, waitUntil } from '../testing/postgres-race.ts';

interface PullBody {
  changes: Change[];
  cursor: string;
  more: boolean;
}

interface PushBody {
  accepted: number;
  duplicates: number;
  cursor: string;
  since?: string;
}

describeOnEachDatabase('sync routes', (kind) => {
  let relay: TestRelay;
  let change: ReturnType<typeof createChangeFactory>;
  beforeEach(async () => {
    relay = await createTestRelay({ kind });
    change = createChangeFactory({ wallMs: relay.now.value });
  });
  afterEach(() => relay.close());

  // The pushing device is the one that made the changes (the relay refuses any other).
  const push = (changes: unknown[], token?: string) =>
    relay.call('/v1/sync/push', {
      body: {
        deviceId: (changes[0] as { deviceId?: string } | undefined)?.deviceId ?? 'dev_a',
        changes,
      },
      ...(token ? { token } : {}),
    });
  const pull = async (query = '', token?: string): Promise<PullBody> => {
    const response = await relay.call(`/v1/sync/pull${query}`, token ? { token } : {});
    expect(response.status).toBe(200);
    return (await response.json()) as PullBody;
  };

  it('returns pushed changes on pull, in order, and merges them into rows', async () => {
    const first = change('t1', { title: 'Buy milk', done: false });
    const second = change('t1', { done: true });
    const response = await push([first, second]);
    expect(response.status).toBe(200);
    const pushed = (await response.json()) as {
      accepted: number;
      duplicates: number;
      cursor: string;
    };
    expect(pushed).toMatchObject({ accepted: 2, duplicates: 0 });

    const page = await pull();
    expect(page.changes).toEqual([first, second]);
    expect(page.more).toBe(false);
    expect(page.cursor).toBe(pushed.cursor);
    expect(await pull(`?since=${page.cursor}`)).toEqual({
      changes: [],
      cursor: page.cursor,
      more: false,
    });

    const rows = await relay.db.query<{ fields: Record<string, unknown> }>(
      "select fields from rows where table_name = 'tasks' and row_id = 't1'",
    );
    expect(rows[0]?.fields).toMatchObject({ title: 'Buy milk', done: true });
  });

  it('counts a change pushed twice as a duplicate and keeps one copy', async () => {
    const one = change('t1');
    await push([one]);
    const again = await push([one, change('t2')]);
    expect(await again.json()).toMatchObject({ accepted: 1, duplicates: 1 });
    expect((await pull()).changes.map((item) => item.rowId)).toEqual(['t1', 't2']);
  });

  it('answers the cursor just before a push’s changes when all are new, so that its device need not pull them back', async () => {
    const first = (await (await push([change('t1')])).json()) as PushBody;
    const t3 = change('t3');
    const second = (await (await push([change('t2'), t3])).json()) as PushBody;
    expect(second).toEqual({
      accepted: 2,
      duplicates: 0,
      cursor: second.cursor,
      since: first.cursor,
    });
    // From `since` the log holds exactly the push's changes, up to its cursor.
    const page = await pull(`?since=${second.since}`);
    expect(page.changes.map((item) => item.rowId)).toEqual(['t2', 't3']);
    expect(page.cursor).toBe(second.cursor);
    // With a change the relay had already, which ones were appended is not said.
    const again = (await (await push([change('t4'), t3])).json()) as PushBody;
    expect(again).toEqual({ accepted: 1, duplicates: 1, cursor: again.cursor });
  });

  it('answers pushes sent at once, some repeating logged changes, each with its own count, numbering the log without gaps', async () => {
    const logged = [change('t1'), change('t2')];
    await push(logged);
    // Sent together, they wait for each other and commit as one group of savepoints.
    const fresh = [change('t3'), change('t4'), change('t5')];
    const answers = await Promise.all([
      push([fresh[0]!]),
      push([logged[0]!, fresh[1]!]),
      push([logged[1]!]),
      push([fresh[2]!, logged[0]!]),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    const counts = await Promise.all(
      answers.map(async (answer) => {
        const { accepted, duplicates } = (await answer.json()) as Record<string, number>;
        return [accepted, duplicates];
      }),
    );
    expect(counts).toEqual([
      [1, 0],
      [1, 1],
      [0, 1],
      [1, 1],
    ]);
    const numbers = await loggedChanges(relay.db, relay.users.alice);
    // The pushes may reach the user's queue in any order; each change is logged once, numbered
    // without gaps, and pulled once.
    expect(numbers.map((row) => Number(row.user_seq))).toEqual([1, 2, 3, 4, 5]);
    expect(numbers.map((row) => row.row_id).sort()).toEqual(['t1', 't2', 't3', 't4', 't5']);
    expect((await pull()).changes.map((item) => item.rowId)).toEqual(
      numbers.map((row) => row.row_id),
    );
  });

  it('answers a push that repeats some of 3,000 logged changes with its counts, logging each change once, found by their key', async () => {
    const logged = Array.from({ length: 3_000 }, (_, index) => change(`t${index}`));
    for (let page = 0; page < 3; page += 1)
      expect((await push(logged.slice(page * 1_000, (page + 1) * 1_000))).status).toBe(200);
    // Half of it sent again (every sixth logged change), half new.
    const fresh = Array.from({ length: 500 }, (_, index) => change(`n${index}`));
    const again = logged.filter((_, index) => index % 6 === 0);
    const mixed = again.flatMap((each, index) => [each, fresh[index]!]);
    const answer = await push(mixed);
    expect(await answer.json()).toEqual({ accepted: 500, duplicates: 500, cursor: 'u3500' });
    const numbers = await loggedChanges(relay.db, relay.users.alice);
    expect(numbers.map((row) => Number(row.user_seq))).toEqual(
      Array.from({ length: 3_500 }, (_, index) => index + 1),
    );
    expect(numbers.map((row) => row.id)).toEqual([...logged, ...fresh].map((each) => each.id));
    expect((await pull('?since=u3000&limit=1000')).changes).toEqual(fresh);
    // The logged ones are found by one probe of the key per id, not by reading the user's ids.
    // PGlite never gathers statistics; PostgreSQL's autovacuum does (here `analyze`), and then
    // one user holds the whole table, which made `id = any(...)` a scan of it.
    for (const when of ['before analyze', 'after analyze']) {
      if (when === 'after analyze') await relay.db.query('analyze change_ids');
      const text = (
        await relay.db.query<{ 'QUERY PLAN': string }>(`explain ${knownIdsSql}`, [
          relay.users.alice,
          mixed.map((each) => each.id),
        ])
      )
        .map((line) => line['QUERY PLAN'])
        .join('\n');
      expect(text, when).toMatch(/Index Only Scan using change_ids_pkey on change_ids/);
      expect(text, when).not.toMatch(/(Seq Scan|Bitmap Heap Scan) on change_ids/);
    }
  });

  it('merges a push of new and already stored rows, several changes to one row among them, as the engine merges them', async () => {
    const before = Array.from({ length: 300 }, (_, index) =>
      change(`t${index}`, { title: `Task ${index}`, done: false }),
    );
    expect((await push(before)).status).toBe(200);
    // Every other stored row changed, 300 new ones, and three changes to one of the new rows.
    const edits = before
      .filter((_, index) => index % 2 === 0)
      .map((each) => change(each.rowId, { done: true }));
    const created = Array.from({ length: 300 }, (_, index) =>
      change(`n${index}`, { title: `New ${index}` }),
    );
    const again = [change('n7', { title: 'Renamed' }), change('n7', { done: true })];
    const answer = await push([...edits, ...created, ...again]);
    expect(await answer.json()).toEqual({
      accepted: 452,
      duplicates: 0,
      cursor: 'u752',
      since: 'u300',
    });
    const rows = new Map(
      (
        await relay.db.query<{ row_id: string; fields: Record<string, unknown> }>(
          'select row_id, fields from rows',
        )
      ).map((row) => [row.row_id, row.fields]),
    );
    expect(rows.size).toBe(600);
    expect(rows.get('t0')).toMatchObject({ title: 'Task 0', done: true });
    expect(rows.get('t1')).toMatchObject({ title: 'Task 1', done: false });
    expect(rows.get('n0')).toMatchObject({ title: 'New 0' });
    expect(rows.get('n7')).toMatchObject({ title: 'Renamed', done: true });
    expect((await pull('?since=u300&limit=1000')).changes).toEqual([
      ...edits,
      ...created,
      ...again,
    ]);
  });

  it("puts a large push's rows without reading them, and merges into a row stored before wherever it comes in the push", async () => {
    // A device whose clock is behind: its change to a stored row is older than the stored title.
    const behind = createChangeFactory({
      wallMs: relay.now.value - 60_000,
      deviceId: 'dev_b',
      idPrefix: 'B',
    });
    for (const [round, at] of [
      [0, 'first'],
      [1, 'middle'],
      [2, 'last'],
    ] as const) {
      expect((await push([change(`s${round}`, { title: 'Stored' })])).status).toBe(200);
      const created = Array.from({ length: 150 }, (_, index) =>
        behind(`r${round}_${index}`, { title: `New ${index}` }),
      );
      const edit = behind(`s${round}`, { title: 'Older title', done: true });
      const position = at === 'first' ? 0 : at === 'middle' ? 75 : 150;
      const pushed = [...created.slice(0, position), edit, ...created.slice(position)];
      const answer = await push(pushed);
      expect(answer.status, at).toBe(200);
      const cursorBefore = 1 + round * 152;
      expect(await answer.json(), at).toEqual({
        accepted: 151,
        duplicates: 0,
        cursor: `u${cursorBefore + 151}`,
        since: `u${cursorBefore}`,
      });
      const rows = new Map(
        (
          await relay.db.query<{ row_id: string; fields: Record<string, unknown> }>(
            'select row_id, fields from rows where row_id like $1 or row_id = $2',
            [`r${round}_%`, `s${round}`],
          )
        ).map((row) => [row.row_id, row.fields]),
      );
      expect(rows.size, at).toBe(151);
      // The stored title is newer than the push's; its other field is taken.
      expect(rows.get(`s${round}`), at).toMatchObject({ title: 'Stored', done: true });
      expect(rows.get(`r${round}_149`), at).toMatchObject({ title: 'New 149' });
      expect((await pull(`?since=u${cursorBefore}&limit=1000`)).changes, at).toEqual(pushed);
    }
  });

  it("keeps a page's text compressed (lz4 on a PostgreSQL that has it), and reads it back as pushed", async () => {
    const pushed = Array.from({ length: 1_000 }, (_, index) =>
      change(`t${index}`, { title: `Task ${index}`, notes: 'Some notes about the task' }),
    );
    expect((await push(pushed)).status).toBe(200);
    const [page] = await relay.db.query<{ method: string; stored: number; text: number }>(
      `select pg_column_compression(body) as method, pg_column_size(body) as stored,
              octet_length(body) as text from change_pages`,
    );
    const [lz4] = await relay.db.query<{ offered: boolean }>(
      `select exists (select 1 from pg_settings
         where name = 'default_toast_compression' and 'lz4' = any (enumvals)) as offered`,
    );
    // PGlite is built without lz4; the PostgreSQL the tests start (Debian's) has it.
    expect(page?.method).toBe(kind === 'postgres' && lz4?.offered ? 'lz4' : 'pglz');
    expect(Number(page?.stored)).toBeLessThan(Number(page?.text) / 4);
    expect((await pull('?limit=1000')).changes).toEqual(pushed);
  });

  it("reads the rows a push merges into by their key, not by reading the user's rows", async () => {
    for (let page = 0; page < 3; page += 1) {
      const response = await push(
        Array.from({ length: 1_000 }, (_, index) => change(`t${page * 1_000 + index}`)),
      );
      expect(response.status).toBe(200);
    }
    const ids = Array.from({ length: 1_000 }, (_, index) => `t${index * 2}`);
    // Nothing analyzes PGlite's tables; PostgreSQL's autovacuum does, some time after they grow.
    for (const when of kind === 'pglite'
      ? ['before analyze']
      : ['before analyze', 'after analyze']) {
      if (when === 'after analyze') await relay.db.query('analyze rows');
      const query = rowsByKeysQuery(
        kind,
        relay.users.alice,
        ids.map((id) => ({ table: 'tasks' as const, id })),
      );
      const text = (
        await relay.db.query<{ 'QUERY PLAN': string }>(`explain ${query.text}`, query.params)
      )
        .map((line) => line['QUERY PLAN'])
        .join('\n');
      // Every id is looked up in the primary key; none of the user's other rows is read.
      expect(text, when).toMatch(/Index Cond: .*row_id = /);
      expect(text, when).not.toMatch(/Seq Scan on rows|Filter:/);
    }
  });

  it('pages through the log with the cursor, each change exactly once', async () => {
    const changes = Array.from({ length: 25 }, (_, index) => change(`t${index}`));
    await push(changes.slice(0, 10));
    await push(changes.slice(10));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages += 1) {
      const page = await pull(`?limit=7${cursor ? `&since=${cursor}` : ''}`);
      seen.push(...page.changes.map((item) => item.id));
      cursor = page.cursor;
      if (!page.more) break;
    }
    expect(seen).toEqual(changes.map((item) => item.id));
  });

  it('reads a pull page from the pages of the log holding its range, not every later one', async () => {
    // 3,000 changes in 30 pushes: 30 pages of the log.
    for (let page = 0; page < 30; page += 1) {
      const response = await push(
        Array.from({ length: 100 }, (_, index) => change(`t${page * 100 + index}`)),
      );
      expect(response.status).toBe(200);
    }
    // The first pull page of 100 (and one more, to say whether more follow) is in two pages.
    const text = (
      await relay.db.query<{ 'QUERY PLAN': string }>(`explain analyze ${pullRangeSql}`, [
        relay.users.alice,
        '0',
        101,
      ])
    )
      .map((line) => line['QUERY PLAN'])
      .join('\n');
    const counts = [...text.matchAll(/actual time=[\d.]+\.\.[\d.]+ rows=([\d.]+)/g)].map((match) =>
      Number(match[1]),
    );
    expect(counts.length).toBeGreaterThan(0);
    expect(Math.max(...counts)).toBeLessThanOrEqual(2);
    // Pages past the range are read only as far as a page can reach back into it (1,000
    // changes): 11 of the 30 here, not all.
    const removed = [...text.matchAll(/Rows Removed by Filter: (\d+)/g)].map((match) =>
      Number(match[1]),
    );
    expect(Math.max(0, ...removed)).toBeLessThanOrEqual(9);
    const page = await pull('?limit=100');
    expect(page.changes.map((item) => item.rowId)).toEqual(
      Array.from({ length: 100 }, (_, index) => `t${index}`),
    );
    expect(page.more).toBe(true);
    expect(page.cursor).toBe('u100');
  });

  it("pages through a log whose numbers have a gap, each change once, 'more' until the last", async () => {
    const changes = Array.from({ length: 25 }, (_, index) => change(`t${index}`));
    await push(changes.slice(0, 10));
    await push(changes.slice(10));
    // The log numbers without gaps; one made by hand (say a log restored from elsewhere) must
    // not cut a page short or end the pull early.
    await relay.db.query(
      `update change_pages set first_seq = first_seq + 100, last_seq = last_seq + 100
        where user_id = $1 and first_seq > 10`,
      [relay.users.alice],
    );
    const seen: string[] = [];
    const more: boolean[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages += 1) {
      const page = await pull(`?limit=7${cursor ? `&since=${cursor}` : ''}`);
      seen.push(...page.changes.map((item) => item.id));
      more.push(page.more);
      cursor = page.cursor;
      if (!page.more) break;
    }
    expect(seen).toEqual(changes.map((item) => item.id));
    expect(more).toEqual([true, true, true, false]);
    expect(cursor).toBe('u125');
  });

  it('refuses a bad change with 400 naming the field, and writes nothing', async () => {
    const good = change('t1');
    const bad = { ...change('t2'), hlc: 'yesterday' };
    const response = await push([good, bad]);
    expect(response.status).toBe(400);
    const body = (await response.json()) as {
      error: { kind: string; field: string; message: string };
    };
    expect(body.error).toMatchObject({ kind: 'invalid', field: 'changes.1.hlc' });
    expect((await pull()).changes).toEqual([]);
  });

  it('refuses an unknown field of a table with its path', async () => {
    const response = await push([change('t1', { colour: 'red' })]);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { field: string } }).error.field).toBe(
      'changes.0.fields.colour',
    );
  });

  it.each(['users', '__proto__', 'Tasks', ''])(
    'refuses a change of the unknown table %j with 400 naming the table, and writes nothing',
    async (table) => {
      const response = await push([{ ...change('t1'), table }, change('t2')]);
      expect(response.status).toBe(400);
      expect(
        ((await response.json()) as { error: { kind: string; field: string } }).error,
      ).toMatchObject({ kind: 'invalid', field: 'changes.0.table' });
      expect(await loggedChanges(relay.db)).toEqual([]);
      expect(await relay.db.query('select * from rows')).toEqual([]);
    },
  );

  it('refuses malformed JSON and a missing deviceId with 400', async () => {
    const malformed = await relay.call('/v1/sync/push', { body: '{"changes": [' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({
      error: { kind: 'invalid', message: 'The request body is not valid JSON.' },
    });
    const missing = await relay.call('/v1/sync/push', { body: { changes: [] } });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { field: string } }).error.field).toBe('deviceId');
  });

  it('refuses a stamp more than 10 minutes ahead of the relay clock', async () => {
    const ahead = createChangeFactory({ wallMs: relay.now.value + 11 * 60_000, idPrefix: 'B' })(
      't1',
    );
    const response = await push([ahead]);
    expect(response.status).toBe(400);
    expect(
      ((await response.json()) as { error: { kind: string; field: string } }).error,
    ).toMatchObject({
      kind: 'clock',
      field: 'changes.0.hlc',
    });
  });

  it('answers 413 for more than 1,000 changes or more than 5 MB, writing nothing', async () => {
    const many = Array.from({ length: 1_001 }, (_, index) => change(`t${index}`));
    const tooMany = await push(many);
    expect(tooMany.status).toBe(413);
    expect(((await tooMany.json()) as { error: { kind: string } }).error.kind).toBe('too_large');
    const huge = await push([change('t1', { title: 'x', notes: 'y'.repeat(5 * 1024 * 1024) })]);
    expect(huge.status).toBe(413);
    expect((await pull()).changes).toEqual([]);
  });

  it('answers 400 naming the field for a cursor it never issued or a limit out of range', async () => {
    for (const [query, field] of [
      ['since=abc', 'since'],
      ['since=-1', 'since'],
      ['limit=5000', 'limit'],
      ['limit=0', 'limit'],
      ['limit=ten', 'limit'],
    ] as const) {
      const response = await relay.call(`/v1/sync/pull?${query}`);
      expect(response.status, query).toBe(400);
      expect(
        ((await response.json()) as { error: { kind: string; field: string } }).error,
      ).toMatchObject({ kind: 'invalid', field });
    }
  });

  it('answers 401 without a token or with a wrong one', async () => {
    const none = await relay.call('/v1/sync/pull', { token: null });
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { kind: string } }).error.kind).toBe('unauthorized');
    expect((await relay.call('/v1/sync/pull', { token: 'wrong-token-0123456789' })).status).toBe(
      401,
    );
    expect((await push([change('t1')], 'wrong-token-0123456789')).status).toBe(401);
    expect(await loggedChanges(relay.db)).toEqual([]);
    expect(await relay.db.query('select * from rows')).toEqual([]);
  });

  it("refuses a push past the user's storage quota with 413 saying which limit, storing none of it", async () => {
    await relay.close();
    relay = await createTestRelay({ kind, config: { userMaxChanges: 3 } });
    const first = createChangeFactory({ wallMs: relay.now.value });
    expect((await push([first('t1'), first('t2')])).status).toBe(200);
    const over = await push([first('t3'), first('t4')]);
    expect(over.status).toBe(413);
    const body = (await over.json()) as { error: { kind: string; message: string } };
    expect(body.error.kind).toBe('too_large');
    expect(body.error.message).toMatch(/limit is 3 \(USER_MAX_CHANGES\)/);
    expect((await pull()).changes.map((change) => change.rowId)).toEqual(['t1', 't2']);
    // Nothing of the refused push is kept: not its rows, not its ids (it may be sent again).
    expect(
      (await relay.db.query<{ row_id: string }>('select row_id from rows order by row_id')).map(
        (row) => row.row_id,
      ),
    ).toEqual(['t1', 't2']);
    expect(await relay.db.query('select id from change_ids')).toHaveLength(2);
    // Bob's quota is his own.
    const bob = createChangeFactory({ wallMs: relay.now.value, deviceId: 'dev_b', idPrefix: 'B' });
    expect((await push([bob('b1'), bob('b2'), bob('b3')], bobToken)).status).toBe(200);
    // Within the quota, Alice goes on.
    expect((await push([first('t3')])).status).toBe(200);
  });

  it("counts each new change's JSON size, beyond ASCII in UTF-8 bytes, toward the user's quota", async () => {
    // The first push starts the user's count from the log (in PostgreSQL's own JSON text);
    // after it, each push adds its new changes' JSON as sent.
    expect((await push([change('t0')])).status).toBe(200);
    const usage = async () =>
      (
        await relay.db.query<{ changes: string; bytes: string }>(
          'select changes::text as changes, bytes::text as bytes from user_usage',
        )
      )[0];
    const before = await usage();
    const pushed = [
      change('t1', { title: 'Café 😀 “quoted”' }),
      change('t2', { title: 'plain', done: true }),
      change('t3', { title: '日本語のタスク' }),
    ];
    expect((await push(pushed)).status).toBe(200);
    // The same changes again add nothing; a new one adds its own size.
    expect((await push(pushed)).status).toBe(200);
    const later = change('t4', { title: 'ÅÄÖ' });
    expect((await push([later])).status).toBe(200);
    const after = await usage();
    const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
    expect(Number(after?.changes) - Number(before?.changes)).toBe(4);
    expect(Number(after?.bytes) - Number(before?.bytes)).toBe(
      [...pushed, later].reduce((sum, each) => sum + size(each), 0),
    );
  });

  it("gives each user a cursor of their own: another user's pushes never move it", async () => {
    const bob = createChangeFactory({ wallMs: relay.now.value, deviceId: 'dev_b', idPrefix: 'B' });
    const first = (await (await push([bob('b1')], bobToken)).json()) as { cursor: string };
    expect(first.cursor).toBe('u1');
    for (let batch = 0; batch < 5; batch += 1)
      await push(Array.from({ length: 10 }, (_, index) => change(`a${batch}-${index}`)));
    expect((await pull('', bobToken)).cursor).toBe('u1');
    const second = (await (await push([bob('b2')], bobToken)).json()) as { cursor: string };
    expect(second.cursor).toBe('u2');
    expect((await pull()).cursor).toBe('u50');
  });

  it('moves the log of an earlier relay into pages at migration, numbered per user, and reads its cursors', async () => {
    const bob = createChangeFactory({ wallMs: relay.now.value, deviceId: 'dev_b', idPrefix: 'B' });
    const a = [change('a1'), change('a2'), change('a3')];
    const b = [bob('b1'), bob('b2')];
    // The log as a relay kept it before pages and before per-user numbers: one row per change,
    // numbered by one sequence shared by every user.
    await relay.db.query('alter table changes alter column user_seq drop not null');
    const shared = new Map<string, string>();
    for (const [userId, each] of [
      [relay.users.alice, a[0]!],
      [relay.users.bob, b[0]!],
      [relay.users.alice, a[1]!],
      [relay.users.bob, b[1]!],
      [relay.users.alice, a[2]!],
    ] as const) {
      const [row] = await relay.db.query<{ seq: string }>(
        `insert into changes (user_id, id, table_name, row_id, hlc, body, committed_at)
         values ($1, $2, $3, $4, $5, $6::jsonb, 1) returning seq::text as seq`,
        [userId, each.id, each.table, each.rowId, each.hlc, JSON.stringify(each)],
      );
      shared.set(each.id, row!.seq);
    }
    await migrate(relay.db);
    expect(await relay.db.query('select 1 from changes')).toEqual([]);
    const alices = await loggedChanges(relay.db, relay.users.alice);
    expect(alices.map((row) => [row.user_seq, row.body])).toEqual([
      ['1', a[0]],
      ['2', a[1]],
      ['3', a[2]],
    ]);
    expect((await loggedChanges(relay.db, relay.users.bob)).map((row) => row.id)).toEqual(
      b.map((each) => each.id),
    );
    // A device that pulled before the upgrade holds the shared sequence's number of a2.
    const page = await pull(`?since=${shared.get(a[1]!.id)}`);
    expect(page.changes).toEqual([a[2]]);
    expect(page.cursor).toBe('u3');
    expect((await pull('?since=u1')).changes).toEqual([a[1], a[2]]);
    // The moved changes are known by their ids, and new ones follow them.
    const later = change('a4');
    expect(await (await push([a[0]!, later])).json()).toEqual({
      accepted: 1,
      duplicates: 1,
      cursor: 'u4',
    });
    expect((await pull('?since=u3')).changes).toEqual([later]);
    expect((await pull('', bobToken)).changes).toEqual(b);
  });

  it("keeps each user's log and rows to that user", async () => {
    await push([change('t1', { title: "Alice's" })]);
    const bobChange = createChangeFactory({
      wallMs: relay.now.value,
      deviceId: 'dev_b',
      idPrefix: 'C',
    })('t1', { title: "Bob's" });
    expect((await push([bobChange], bobToken)).status).toBe(200);
    expect((await pull('', bobToken)).changes).toEqual([bobChange]);
    expect((await pull()).changes.map((item) => item.fields.title)).toEqual(["Alice's"]);
    const rows = await relay.db.query<{ user_id: string; fields: { title: string } }>(
      "select user_id, fields from rows where row_id = 't1' order by user_id",
    );
    expect(Object.fromEntries(rows.map((row) => [row.user_id, row.fields.title]))).toEqual({
      [relay.users.alice]: "Alice's",
      [relay.users.bob]: "Bob's",
    });
  });

  // PGlite runs one transaction at a time, so pushes cannot commit out of order there: only
  // PostgreSQL's separate connections test that the cursor never skips a late commit.
  if (kind === 'postgres')
    it('returns every change exactly once while pushes run concurrently with pulls on PostgreSQL', async () => {
      const batches = Array.from({ length: 8 }, (_, batch) =>
        Array.from({ length: 20 }, (_, index) => change(`b${batch}-${index}`)),
      );
      const seen: string[] = [];
      let cursor = '0';
      const pushing = Promise.all(batches.map((batch) => push(batch)));
      let done = false;
      void pushing.then(() => (done = true));
      while (!done) {
        const page = await pull(`?since=${cursor}&limit=13`);
        seen.push(...page.changes.map((item) => item.id));
        cursor = page.cursor;
      }
      for (;;) {
        const page = await pull(`?since=${cursor}&limit=13`);
        seen.push(...page.changes.map((item) => item.id));
        cursor = page.cursor;
        if (!page.more) break;
      }
      expect(seen).toHaveLength(160);
      expect(new Set(seen).size).toBe(160);
    });

  // The race above, made certain: push A stalls after taking its place in the log (a row it
  // writes is locked), push B starts after it. Were B to commit first, a pull in between would
  // move the cursor past A's change for good.
  if (kind === 'postgres')
    it('never lets a pull skip a push that commits late on PostgreSQL', async () => {
      const otherProcess = openTestPostgresHandle();
      onTestFinished(() => otherProcess.close());
      const first = change('t_a', { title: 'first' });
      await push([first]);
      const late = change('t_a', { title: 'late' });
      const next = change('t_b', { title: 'next' });
      const seen: string[] = [];
      let cursor = '0';
      const pullAll = async () => {
        for (;;) {
          const page = await pull(`?since=${cursor}`);
          seen.push(...page.changes.map((item) => item.id));
          cursor = page.cursor;
          if (!page.more) return;
        }
      };
      const pushes: Array<Promise<Response>> = [];
      await relay.db.transaction(async (blocker) => {
        await blocker.query("select 1 from rows where row_id = 't_a' for update");
        pushes.push(push([late]));
        await waitUntil(async () => (await sessionsWaitingOnLocks(blocker)) >= 1, {
          message: 'the first push waits on the locked row',
        });
        // The next push comes from another relay process (one process queues a user's pushes,
        // so only another one can commit out of order in the database).
        let nextDone = false;
        pushes.push(
          pushChanges({
            db: otherProcess,
            userId: relay.users.alice,
            changes: [next],
            now: relay.now.value,
          })
            .then(() => new Response(null, { status: 200 }))
            .finally(() => (nextDone = true)),
        );
        await waitUntil(async () => nextDone || (await sessionsWaitingOnLocks(blocker)) >= 2, {
          message: 'the second push is done or waits too',
        });
        await pullAll();
      });
      expect((await Promise.all(pushes)).map((response) => response.status)).toEqual([200, 200]);
      await pullAll();
      expect(seen).toEqual([first.id, late.id, next.id]);
    });
});
