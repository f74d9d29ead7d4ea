import type { z } from 'zod';
import { GoalSchema, NoteSchema, TaskSchema } from './domain.ts';
import { IterationSchema } from './iteration.ts';
import { MissionSchema } from './mission.ts';
import { ProposalSchema } from './proposal.ts';

/** Every synced table with the schema of its fields. */
export const tableSchemas = {
  missions: MissionSchema,
  iterations: IterationSchema,
  proposals: ProposalSchema,
  tasks: TaskSchema,
  notes: NoteSchema,
  goals: GoalSchema,
} as const;

export type TableName = keyof typeof tableSchemas;
export const tableNames = Object.keys(tableSchemas) as TableName[];
export const domainTables = ['tasks', 'notes', 'goals'] as const;
export type DomainTable = (typeof domainTables)[number];

/** Whether `value` names a synced table; safe for any string (`__proto__`, `toString`, ''). */
export function isTableName(value: string): value is TableName {
  return Object.hasOwn(tableSchemas, value);
}

/**
 * The zod schema of one field, or undefined when there is no such table or the table has no such
 * field. Safe for any strings: a table or field name that is an `Object.prototype` member is
 * simply unknown.
 */
export function fieldSchema(table: string, field: string): z.ZodType | undefined {
  if (!isTableName(table)) return undefined;
  const shape = tableSchemas[table].shape as Record<string, z.ZodType>;
  return Object.hasOwn(shape, field) ? shape[field] : undefined;
}
