/**
 * The one mapping from errors to HTTP responses: `{error: {kind, message, field?}}`. Engine
 * errors keep their kind; anything else is an `internal` 500 whose details go to the log only.
 */
import { EngineError, isEngineError, type EngineErrorKind } from '@baton/engine';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export const statusOfKind: Record<EngineErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  clock: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  budget: 429,
  model: 502,
  no_model: 503,
  unavailable: 503,
  internal: 500,
};

export function errorResponse(context: Context, error: EngineError): Response {
  return context.json({ error: error.toJSON() }, statusOfKind[error.kind]);
}

/** Normalises anything thrown into an EngineError (unknown errors become `internal`). */
export function toEngineError(error: unknown): EngineError {
  if (isEngineError(error)) return error;
  return new EngineError('internal', 'Something went wrong on the relay; see its log.', {
    cause: error,
  });
}
