/**
 * What every value that crosses a boundary (a push, a claim, a live message, a local write) must
 * be before it is stored: JSON whose strings (values and keys) hold no U+0000 and no lone
 * surrogate (PostgreSQL's text and jsonb refuse both), nested at most `maxJsonDepth` levels (so
 * storing and reading it back cannot run out of stack), and with no `__proto__` key (a parser
 * that builds objects would drop it in silence).
 */
import { z } from 'zod';

export const maxJsonDepth = 32;

export interface JsonProblem {
  path: (string | number)[];
  message: string;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function stringProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the character U+0000';
  if (loneSurrogate.test(text)) return 'must be valid Unicode (it has a lone surrogate)';
  return undefined;
}

/**
 * The first problem of `value` (depth-first, iteratively, so a value nested thousands of levels
 * deep is refused rather than overflowing the stack), or undefined when it may be stored.
 */
export function jsonValueProblem(
  value: unknown,
  options: { maxDepth?: number } = {},
): JsonProblem | undefined {
  const maxDepth = options.maxDepth ?? maxJsonDepth;
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      const problem = stringProblem(current);
      if (problem) return { path, message: problem };
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (path.length >= maxDepth)
      return { path, message: `is nested deeper than ${maxDepth} levels` };
    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index -= 1)
        stack.push({ value: current[index], path: [...path, index] });
      continue;
    }
    const keys = Object.keys(current);
    for (let index = keys.length - 1; index >= 0; index -= 1) {
      const key = keys[index]!;
      if (key === '__proto__') return { path: [...path, key], message: 'is not an allowed key' };
      const problem = stringProblem(key);
      if (problem) return { path: [...path, key], message: `key ${problem}` };
      stack.push({ value: (current as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return undefined;
}

/** A zod schema of any value that passes `jsonValueProblem`. */
export const StorableJsonSchema = z.unknown().superRefine((value, context) => {
  const problem = jsonValueProblem(value);
  if (problem) context.addIssue({ code: 'custom', path: problem.path, message: problem.message });
});

/** `schema`, for a value that must first pass `jsonValueProblem` (checked on the raw input). */
export function storable<Schema extends z.ZodType>(schema: Schema) {
  return StorableJsonSchema.pipe(schema);
}
