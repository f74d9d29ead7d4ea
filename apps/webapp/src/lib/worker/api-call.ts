import type { z } from 'zod';
import { inputSchemas, type Result } from './engine-api.ts';
import { errorData } from './error-data.ts';

type InputName = keyof typeof inputSchemas;
type InputOf<K extends InputName> = z.output<(typeof inputSchemas)[K]>;

export interface ApiCall {
  /** Validates `input` with `inputSchemas[name]`, runs `fn`, and turns any failure into data. */
  <K extends InputName, T>(
    name: K,
    input: unknown,
    fn: (value: InputOf<K>) => Promise<T>,
  ): Promise<Result<T>>;
}

/** Runs `fn` (a method without input) and turns any failure into data. */
export async function safely<T>(fn: () => T | Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: errorData(error) };
  }
}

/**
 * The wrapper every EngineApi method with input goes through: the input is checked with the
 * method's schema before anything runs, and `after` (push soon, announce the status) runs
 * whatever the outcome.
 */
export function createApiCall(options: { after: () => void }): ApiCall {
  return async (name, input, fn) => {
    const parsed = inputSchemas[name].safeParse(input);
    if (!parsed.success) return { ok: false, error: errorData(parsed.error) };
    try {
      return await safely(() => fn(parsed.data as never));
    } finally {
      options.after();
    }
  };
}
