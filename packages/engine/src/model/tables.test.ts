import { describe, expect, it } from 'vitest';
import { fieldSchema, isTableName } from './tables.ts';

describe('table names', () => {
  it('knows the synced tables and nothing else, whatever the string', () => {
    expect(isTableName('tasks')).toBe(true);
    for (const name of ['users', 'Tasks', '', '__proto__', 'constructor', 'toString']) {
      expect(isTableName(name)).toBe(false);
    }
  });

  it('finds no field schema of an unknown table instead of throwing', () => {
    expect(fieldSchema('tasks', 'title')).toBeDefined();
    expect(fieldSchema('tasks', '__proto__')).toBeUndefined();
    for (const name of ['users', 'Tasks', '', '__proto__', 'constructor', 'toString']) {
      expect(fieldSchema(name, 'title')).toBeUndefined();
    }
  });
});
