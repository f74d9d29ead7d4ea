import { describe, expect, it } from 'vitest';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { jsonParam } from './database.ts';
import { jsonbParameter } from './pglite-database.ts';

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
