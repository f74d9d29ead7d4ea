import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { jsonParam } from './database.ts';
import { jsonbParameter, openPglite } from './pglite-database.ts';

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
