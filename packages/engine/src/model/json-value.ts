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
 * The first problem of `value` (depth-first; an object's keys before its values), or undefined
 * when it may be stored. The walk goes no deeper than `maxDepth` (it refuses the value there), so
 * a value nested thousands of levels deep is refused rather than overflowing the stack. The path
 * is built only for a problem found: every change of a push passes through here, and a path per
 * node visited was a quarter of a push's check (1.0 of 4.1 ms for 1,000 changes).
 */
export function jsonValueProblem(
  value: unknown,
  options: { maxDepth?: number } = {},
): JsonProblem | undefined {
  const maxDepth = Math.min(options.maxDepth ?? maxJsonDepth, maxJsonDepthLimit);
  return problemAt(value, 0, maxDepth);
}

/** The deepest walk `jsonValueProblem` makes, whatever it is asked (the stack's bound). */
const maxJsonDepthLimit = 1_000;

function problemAt(value: unknown, depth: number, maxDepth: number): JsonProblem | undefined {
  if (typeof value === 'string') {
    const problem = stringProblem(value);
    return problem ? { path: [], message: problem } : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth >= maxDepth) return { path: [], message: `is nested deeper than ${maxDepth} levels` };
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const problem = problemAt(value[index], depth + 1, maxDepth);
      if (problem) {
        problem.path.unshift(index);
        return problem;
      }
    }
    return undefined;
  }
  const keys = Object.keys(value);
  for (const key of keys) {
    if (key === '__proto__') return { path: [key], message: 'is not an allowed key' };
    const problem = stringProblem(key);
    if (problem) return { path: [key], message: `key ${problem}` };
  }
  for (const key of keys) {
    const problem = problemAt((value as Record<string, unknown>)[key], depth + 1, maxDepth);
    if (problem) {
      problem.path.unshift(key);
      return problem;
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
