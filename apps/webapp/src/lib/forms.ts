import { tick } from 'svelte';
import type { EngineErrorData } from '@baton/engine';
import type { Result } from './worker/engine-api.ts';

/** Errors by field name ('' for the form as a whole). */
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

/** An error from the worker keyed by its schema path (without the input's own prefix). */
export function pathErrors(error: EngineErrorData): FieldErrors {
  return { [error.field?.replace(/^(draft|patch|fields)\./, '') ?? '']: error.message };
}

export function failed<T>(result: Result<T>): result is { ok: false; error: EngineErrorData } {
  return !result.ok;
}

/**
 * The messages still true after an edit: those of `shown` whose field `current` (the form checked
 * again) still finds wrong, with today's message. An error clears as soon as its field is valid;
 * a field never shows a new error before the next submit.
 */
export function stillWrong(shown: FieldErrors, current: FieldErrors): FieldErrors {
  return Object.fromEntries(
    Object.keys(shown)
      .filter((name) => current[name] !== undefined)
      .map((name) => [name, current[name]!]),
  );
}

/** The id of the message element under a field: `<prefix>-<name>-error`. */
export function errorId(prefix: string, name: string): string {
  return `${prefix}-${name}-error`;
}

/**
 * The ARIA attributes that tie a field to its message (spread them on the input): invalid while
 * it has an error, described by its hint (when given) and its error message.
 */
export function fieldAria(
  errors: FieldErrors,
  prefix: string,
  name: string,
  hintId?: string,
): { 'aria-invalid': 'true' | undefined; 'aria-describedby': string | undefined } {
  const ids = [hintId, errors[name] ? errorId(prefix, name) : undefined].filter(Boolean);
  return {
    'aria-invalid': errors[name] ? 'true' : undefined,
    'aria-describedby': ids.length > 0 ? ids.join(' ') : undefined,
  };
}

/**
 * After the errors render, moves focus to the first invalid field of `form` (or, when no field
 * is marked, to its first alert), so keyboard and screen reader users land on the problem.
 */
export async function focusFirstError(form: HTMLElement | null | undefined): Promise<void> {
  await tick();
  const target =
    form?.querySelector<HTMLElement>('[aria-invalid="true"]') ??
    form?.querySelector<HTMLElement>('[role="alert"]');
  if (target && target.tabIndex < 0 && !target.matches('input, select, textarea, button'))
    target.tabIndex = -1;
  target?.focus();
}

/** The message of anything thrown across the worker boundary. */
export function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) return String(error.message);
  return String(error);
}
