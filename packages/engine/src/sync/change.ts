import { z } from 'zod';
import { ActorSchema, NodeIdSchema } from '../model/actor.ts';
import { storable } from '../model/json-value.ts';
import { fieldSchema, isTableName, type TableName } from '../model/tables.ts';
import { isHlcStamp } from './hlc.ts';
import { writeOnceGroupsOf } from './merge-rules.ts';

const ulidPattern = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A plain object, as JSON gives one (not an array, not null). */
function isFieldObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * One synced change: some fields of one row, stamped with one HLC. `id` (a ULID) is the
 * idempotency key. A delete is the field `_deleted: true`. Every field is validated with its
 * table's schema; an unknown table or field is refused, and so is anything that could not be
 * stored (`storable`: U+0000, a lone surrogate, nesting deeper than 32, a `__proto__` key).
 */
const ChangeObjectSchema = z
  .object({
    id: z.string().regex(ulidPattern, 'must be a ULID'),
    table: z.string().refine(isTableName, 'unknown table'),
    rowId: z.string().min(1).max(300),
    // An object of at least one field, taken as it is: each field is checked below with its
    // table's schema, and `storable` has checked the keys. (`z.record` copied every change's
    // fields and checked each key and value with a schema of its own, a seventh of the check
    // of a 1,000-change push.)
    fields: z
      .custom<Record<string, unknown>>(isFieldObject, 'must be an object of fields')
      .refine((fields) => Object.keys(fields).length > 0, 'no fields'),
    hlc: z.string().refine(isHlcStamp, 'must be an HLC stamp <15 digits>-<6 digits>-<node id>'),
    actor: ActorSchema,
    deviceId: NodeIdSchema,
  })
  .superRefine((change, context) => {
    // An unknown table is already refused by the `table` check; its fields mean nothing.
    if (!isTableName(change.table)) return;
    const table = change.table;
    for (const [name, value] of Object.entries(change.fields)) {
      if (name === '_deleted') {
        if (value !== true)
          context.addIssue({
            code: 'custom',
            path: ['fields', name],
            message: '_deleted must be true',
          });
        continue;
      }
      const schema = fieldSchema(table, name);
      if (!schema) {
        context.addIssue({
          code: 'custom',
          path: ['fields', name],
          message: `unknown field of ${table}`,
        });
        continue;
      }
      const result = schema.safeParse(value);
      if (!result.success) {
        const issue = result.error.issues[0];
        context.addIssue({
          code: 'custom',
          path: ['fields', name, ...(issue?.path ?? [])] as PropertyKey[],
          message: issue?.message ?? 'invalid',
        });
      }
    }
    for (const group of writeOnceGroupsOf(table)) {
      if (!Object.keys(change.fields).some((name) => group.fields.includes(name))) continue;
      for (const required of group.required) {
        if (!(required in change.fields)) {
          context.addIssue({
            code: 'custom',
            path: ['fields', required],
            message: `a write to ${group.name} must include ${required}`,
          });
        }
      }
    }
  });

export const ChangeSchema = storable(ChangeObjectSchema);

export type Change = Omit<z.infer<typeof ChangeObjectSchema>, 'table'> & { table: TableName };

export const ChangeListSchema = z
  .array(ChangeSchema)
  .max(1_000, 'at most 1,000 changes per request');

/** Parses a change, throwing a zod error naming the failing path. */
export function parseChange(value: unknown): Change {
  return ChangeSchema.parse(value) as Change;
}
