import { z } from 'zod';

/**
 * The parameters an approved step runs with: the step's own, with the person's edits over them.
 * JSON has no `undefined`, so an edit of `null` on a parameter the tool takes no null for, but
 * may leave out, removes it (an optional field cleared in the Inbox form: the step no longer sets
 * it). Where null is a value of the parameter (a nullable one, such as "no due date"), it stays.
 */
export function applyEditedParams(options: {
  params: Record<string, unknown>;
  edited: Record<string, unknown> | undefined;
  schema: z.ZodType | undefined;
}): Record<string, unknown> {
  const merged = { ...options.params, ...(options.edited ?? {}) };
  const shape = options.schema instanceof z.ZodObject ? options.schema.shape : undefined;
  for (const [name, value] of Object.entries(options.edited ?? {})) {
    const field = shape?.[name] as z.ZodType | undefined;
    if (value !== null || !field) continue;
    if (!field.safeParse(null).success && field.safeParse(undefined).success) delete merged[name];
  }
  return merged;
}
