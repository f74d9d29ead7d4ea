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
});
