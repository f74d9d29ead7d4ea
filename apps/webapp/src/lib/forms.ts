import type { EngineErrorData } from '@baton/engine';
import type { Result } from './worker/engine-api.ts';

/** Errors by field path ('' for the form as a whole). */
export type FieldErrors = Record<string, string>;

/** The first message per path of a zod error, keyed by the dotted path. */
export function zodFieldErrors(error: {
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>;
}): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const path = issue.path.map(String).join('.');
    errors[path] ??= issue.message;
  }
  return errors;
}

/** An error from the worker as field errors; unknown fields go to ''. */
export function resultFieldErrors(error: EngineErrorData, known: readonly string[]): FieldErrors {
  const field = error.field?.replace(/^(draft|patch|fields)\./, '') ?? '';
  const match = known.find((name) => field === name || field.startsWith(`${name}.`));
  return { [match ?? '']: error.message };
}

export function failed<T>(result: Result<T>): result is { ok: false; error: EngineErrorData } {
  return !result.ok;
}
