import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { jsonParam, type Database } from './database.ts';
import { jsonbParameter, openPglite, textParameter } from './pglite-database.ts';

/** Text a person may write, with what JSON has to escape. */
const awkward = {
  title: 'Café 😀 ～ naïve “quotes” \\ back\\slash "double" \n new line \t tab',
  notes: 'ÅÄÖ 日本語 🇸🇪 \u2028 \u00ad',
  nested: { list: [1, 2.5, -0, null, true, 'x'], empty: {}, deep: { a: { b: { c: ['d'] } } } },
  long: 'x'.repeat(10_000),
};

describeOnEachDatabase('jsonb parameters', (kind) => {
  it('store and read back every character and shape unchanged', async () => {
    const db = await createTestDatabase(kind);
    try {
      const [echoed] = await db.query<{ value: unknown }>('select $1::jsonb as value', [
        jsonParam(awkward),
      ]);
      expect(echoed?.value).toEqual(JSON.parse(JSON.stringify(awkward)));
      // A batch of 1,000, as a push sends it, element by element through the same statement
      // shape the log and rows use.
      const batch = Array.from({ length: 1_000 }, (_, index) => ({ index, ...awkward, long: '' }));
      const rows = await db.query<{ n: string; value: unknown }>(
        `select given.n::text as n, given.value from jsonb_array_elements($1::jsonb)
           with ordinality as given (value, n) order by given.n`,
        [jsonParam(batch)],
      );
      expect(rows).toHaveLength(1_000);
      expect(rows[999]?.value).toEqual(JSON.parse(JSON.stringify(batch[999])));
      expect(rows.every((row, index) => (row.value as { index: number }).index === index)).toBe(
        true,
      );
    } finally {
      await db.close();
    }
  });

  it('refuse malformed JSON with PostgreSQL’s own error, and the database answers on', async () => {
    const db = await createTestDatabase(kind);
    try {
      await expect(db.query('select $1::jsonb as value', ['{"title": '])).rejects.toThrow(
        /invalid input syntax for type json/,
      );
      const [still] = await db.query<{ ok: number }>('select 1 as ok');
      expect(still?.ok).toBe(1);
    } finally {
      await db.close();
    }
  });
});

describe('jsonbParameter (PGlite’s binary form of jsonb)', () => {
  it('is the format version 1 followed by the JSON text as UTF-8', () => {
    const bytes = jsonbParameter('{"a":"é😀"}');
    expect(bytes[0]).toBe(1);
    expect(Buffer.from(bytes.subarray(1)).toString('utf8')).toBe('{"a":"é😀"}');
  });

  it('makes JSON of a value that is not text, as PGlite’s own serializer does', () => {
    expect(Buffer.from(jsonbParameter({ a: [1] }).subarray(1)).toString('utf8')).toBe('{"a":[1]}');
  });
});

describe('textParameter (large text sent to PGlite as its UTF-8 bytes)', () => {
  it('stores long and short text, whatever its characters, as it was given', async () => {
    const db = await createTestDatabase('pglite');
    try {
      await db.query('create temporary table notes (body text)');
      const long = 'é😀 a note, '.repeat(2_000);
      for (const body of [long, 'é😀', ''])
        await db.query('insert into notes (body) values ($1)', [body]);
      const stored = await db.query<{ body: string; characters: number }>(
        'select body, length(body) as characters from notes',
      );
      expect(stored).toEqual([
        { body: long, characters: [...long].length },
        { body: 'é😀', characters: 2 },
        { body: '', characters: 0 },
      ]);
      expect(textParameter(long)).toBeInstanceOf(Uint8Array);
    } finally {
      await db.close();
    }
  });
});

describe('PGlite on disk', () => {
  it('starts a new file of its write-ahead log without writing 16 MB of zeros first', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-wal-'));
    const db = await openPglite({ dataDir });
    try {
      await db.query('create table notes (body text)');
      const segment = async () => {
        const [row] = await db.query<{ name: string }>(
          'select pg_walfile_name(pg_current_wal_lsn()) as name',
        );
        return join(dataDir, 'pg_wal', row?.name ?? '');
      };
      const before = await segment();
      // The log moves to a new file, which the next commit writes into.
      await db.query('select pg_switch_wal()');
      await db.query("insert into notes (body) values ('after the switch')");
      const after = await segment();
      expect(after).not.toBe(before);
      const file = statSync(after);
      expect(file.size).toBe(16 * 1024 * 1024);
      // Only the blocks written so far are taken on disk (zero-filled, all 16 MB were).
      expect(file.blocks * 512).toBeLessThan(1024 * 1024);
      const [row] = await db.query<{ body: string }>('select body from notes');
      expect(row?.body).toBe('after the switch');
    } finally {
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('PGlite checkpoints (pglite-checkpoints.ts)', () => {
  const redo = async (db: Database) =>
    (
      await db.query<{ lsn: string }>('select redo_lsn::text as lsn from pg_control_checkpoint()')
    )[0]?.lsn;
  const movedSince = async (db: Database, lsn: string | undefined) =>
    (
      await db.query<{ moved: number }>(
        'select pg_wal_lsn_diff(redo_lsn, $1::pg_lsn)::float8 as moved from pg_control_checkpoint()',
        [lsn ?? '0/0'],
      )
    )[0]?.moved ?? 0;

  it('makes one once the log has grown by `everyBytes`, and the log behind it is short again', async () => {
    const db = await openPglite({
      dataDir: undefined,
      checkpoints: { everyBytes: 2 * 1024 * 1024, everyMs: 3_600_000, checkMs: 20 },
    });
    try {
      await db.query('create table notes (body text)');
      const before = await redo(db);
      // About 4 MB of log, with nothing in between for a check to run.
      await db.query(
        "insert into notes (body) select repeat('x', 200) from generate_series(1, 15000)",
      );
      await vi.waitFor(async () => expect(await movedSince(db, before)).toBeGreaterThan(0), {
        timeout: 10_000,
        interval: 20,
      });
      const [behind] = await db.query<{ bytes: number }>(
        'select pg_wal_lsn_diff(pg_current_wal_lsn(), redo_lsn)::float8 as bytes from pg_control_checkpoint()',
      );
      expect(behind?.bytes).toBeLessThan(2 * 1024 * 1024);
      const [count] = await db.query<{ n: number }>('select count(*)::int as n from notes');
      expect(count?.n).toBe(15_000);
    } finally {
      await db.close();
    }
  });

  it('makes one after `everyMs` when anything was written, and none while nothing is', async () => {
    const db = await openPglite({
      dataDir: undefined,
      checkpoints: { everyBytes: 1024 ** 3, everyMs: 100, checkMs: 20 },
    });
    try {
      await db.query('create table notes (body text)');
      const before = await redo(db);
      await db.query("insert into notes (body) values ('one note')");
      await vi.waitFor(async () => expect(await movedSince(db, before)).toBeGreaterThan(0), {
        timeout: 10_000,
        interval: 20,
      });
      // Nothing written from here: checks run every 20 ms, and the next checkpoint would be due
      // by time after 100 ms.
      const quiet = await redo(db);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(await redo(db)).toBe(quiet);
    } finally {
      await db.close();
    }
  });
});

describe('PGlite vacuum (pglite-vacuum.ts)', () => {
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const tableBytes = async (db: Database) =>
    (await db.query<{ bytes: number }>("select pg_total_relation_size('notes')::int as bytes"))[0]
      ?.bytes ?? 0;
  const counts = async (db: Database) =>
    (
      await db.query<{ vacuums: number }>(
        `select vacuum_count::int as vacuums from pg_stat_user_tables where relname = 'notes'`,
      )
    )[0];

  it('takes back the space of updated rows, so a table updated again and again stays its size', async () => {
    const db = await openPglite({ dataDir: undefined, vacuums: { checkMs: 20 } });
    try {
      await db.query('create table notes (id int primary key, body text)');
      await db.query(
        "insert into notes (id, body) select n, repeat('a', 200) from generate_series(1, 2000) as n",
      );
      await db.query("update notes set body = repeat('b', 200)");
      const once = await tableBytes(db);
      // 40 more versions of every row, with turns in between as a running relay has them; the
      // counts the check reads are sent at once rather than within a second.
      for (let round = 0; round < 40; round += 1) {
        await db.query('update notes set body = $1', [`${round} ${'c'.repeat(200)}`]);
        await db.query('select pg_stat_force_next_flush()');
        await pause(40);
      }
      // Without vacuum the old versions stay: the table grows by its own size each round.
      expect(await tableBytes(db)).toBeLessThan(4 * once);
      const [kept] = await db.query<{ n: number; last: number }>(
        'select count(*)::int as n, (count(*) filter (where body = $1))::int as last from notes',
        [`39 ${'c'.repeat(200)}`],
      );
      expect(kept).toEqual({ n: 2000, last: 2000 });
    } finally {
      await db.close();
    }
  });

  it('takes back the space rows left dead before the database was opened again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-vacuum-'));
    try {
      // A run that never vacuumed: 5,000 rows and 10 old versions of each.
      let db = await openPglite({ dataDir, vacuums: { checkMs: 3_600_000 } });
      await db.query('create table notes (id int primary key, body text)');
      await db.query(
        "insert into notes (id, body) select n, repeat('a', 200) from generate_series(1, 5000) as n",
      );
      for (let round = 0; round < 10; round += 1)
        await db.query('update notes set body = $1', [`${round} ${'b'.repeat(200)}`]);
      await db.close();
      // PGlite opens with its counts at zero: nothing says those versions are dead.
      db = await openPglite({ dataDir, vacuums: { checkMs: 20 } });
      try {
        await vi.waitFor(async () => expect((await counts(db))?.vacuums).toBeGreaterThan(0), {
          timeout: 10_000,
          interval: 20,
        });
        // One more version of every row (1.2 MB) goes where the dead ones were.
        const vacuumed = await tableBytes(db);
        await db.query('update notes set body = $1', [`last ${'c'.repeat(200)}`]);
        expect(await tableBytes(db)).toBe(vacuumed);
      } finally {
        await db.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('leaves a table alone while nothing changes in it', async () => {
    const db = await openPglite({ dataDir: undefined, vacuums: { checkMs: 20 } });
    try {
      await db.query('create table notes (id int primary key, body text)');
      await db.query(
        "insert into notes (id, body) select n, 'x' from generate_series(1, 1000) as n",
      );
      await db.query("update notes set body = 'y'");
      await db.query('select pg_stat_force_next_flush()');
      await vi.waitFor(async () => expect((await counts(db))?.vacuums).toBeGreaterThan(0), {
        timeout: 10_000,
        interval: 20,
      });
      const settled = await counts(db);
      await pause(400);
      expect(await counts(db)).toEqual(settled);
    } finally {
      await db.close();
    }
  });
});
