/**
 * The engine's one error class, discriminated by `kind`. Serialisable, so it can cross a worker
 * boundary or an HTTP response as data. The relay maps kinds to HTTP status in one place.
 */
export const engineErrorKinds = [
  'invalid', // input failed a schema: 400
  'not_found', // 404
  'conflict', // 409
  'clock', // a stamp too far ahead, or a broken clock
  'model', // the language model failed or answered unusably
  'no_model', // no model is configured
  'budget', // a mission's budget is used up
  'unauthorized', // 401
  'too_large', // 413
  'unavailable', // a dependency is unreachable, timed out or overloaded (a model's 408, 429, 5xx)
  'internal',
] as const;
export type EngineErrorKind = (typeof engineErrorKinds)[number];

export interface EngineErrorData {
  kind: EngineErrorKind;
  message: string;
  field?: string;
}

export class EngineError extends Error {
  override readonly name = 'EngineError';
  readonly kind: EngineErrorKind;
  readonly field: string | undefined;

  constructor(
    kind: EngineErrorKind,
    message: string,
    options?: { field?: string; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.field = options?.field;
  }

  toJSON(): EngineErrorData {
    return this.field === undefined
      ? { kind: this.kind, message: this.message }
      : { kind: this.kind, message: this.message, field: this.field };
  }

  static fromJSON(data: EngineErrorData): EngineError {
    return new EngineError(
      data.kind,
      data.message,
      data.field === undefined ? undefined : { field: data.field },
    );
  }
}

export function isEngineError(error: unknown, kind?: EngineErrorKind): error is EngineError {
  return error instanceof EngineError && (kind === undefined || error.kind === kind);
}

/** Turns a zod error into an `invalid` EngineError naming the first failing path. */
export function invalidFromZod(
  error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> },
  prefix = '',
): EngineError {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].filter((part) => part !== '').join('.');
  const message = issue ? `${path ? `${path}: ` : ''}${issue.message}` : 'invalid input';
  return new EngineError('invalid', message, path ? { field: path } : undefined);
}
