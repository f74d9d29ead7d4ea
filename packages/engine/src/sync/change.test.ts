import { describe, expect, it } from 'vitest';
import { ChangeSchema } from './change.ts';

const change = {
  id: '01JD0000000000000000000000',
  table: 'tasks',
  rowId: 't1',
  fields: { title: 'Buy milk' },
  hlc: '001795545100000-000003-dev_7f3a',
  actor: { kind: 'user', deviceId: 'dev_7f3a' },
  deviceId: 'dev_7f3a',
};

describe('ChangeSchema', () => {
  it('accepts a change of a known table', () => {
    expect(ChangeSchema.safeParse(change).success).toBe(true);
  });

  it.each(['users', '__proto__', 'Tasks', '', 'constructor', 'toString', 'hasOwnProperty'])(
    'refuses the unknown table %j by naming the table, and checks none of its fields',
    (table) => {
      const result = ChangeSchema.safeParse({
        ...change,
        table,
        fields: { title: 'Buy milk', status: 'planned' },
      });
      expect(result.success).toBe(false);
      expect(result.error?.issues.map((issue) => issue.path)).toEqual([['table']]);
      expect(result.error?.issues[0]?.message).toBe('unknown table');
    },
  );

  it('still names an unknown field of a known table', () => {
    const result = ChangeSchema.safeParse({ ...change, fields: { colour: 'red' } });
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['fields', 'colour']]);
  });

  it.each([[[]], [null], ['title'], [5], [[{ title: 'x' }]]])(
    'refuses fields %j that are not an object of fields, naming `fields`',
    (fields) => {
      const result = ChangeSchema.safeParse({ ...change, fields });
      expect(result.error?.issues.map((issue) => [issue.path, issue.message])).toEqual([
        [['fields'], 'must be an object of fields'],
      ]);
    },
  );

  it('refuses a change with no fields', () => {
    const result = ChangeSchema.safeParse({ ...change, fields: {} });
    expect(result.error?.issues.map((issue) => [issue.path, issue.message])).toEqual([
      [['fields'], 'no fields'],
    ]);
  });

  it('keeps the fields it was given, each checked with its table’s schema', () => {
    const result = ChangeSchema.safeParse({
      ...change,
      fields: { title: 'Buy milk', done: 'yes' },
    });
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['fields', 'done']]);
    const parsed = ChangeSchema.parse({ ...change, fields: { title: 'Buy milk', done: true } });
    expect(parsed.fields).toEqual({ title: 'Buy milk', done: true });
  });
});
