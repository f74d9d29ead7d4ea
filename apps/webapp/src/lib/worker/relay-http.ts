import type { z } from 'zod';
import {
  EngineError,
  ErrorBodySchema,
  engineErrorKinds,
  invalidFromZod,
  type EngineErrorKind,
} from '@baton/engine';

/** Where the relay is and how to authenticate; read on every call so settings apply at once. */
export interface RelayTarget {
  url: string;
  token: string | undefined;
}

export type RelayTargetSource = () => RelayTarget;

const statusKinds: Record<number, EngineErrorKind> = {
  400: 'invalid',
  401: 'unauthorized',
  404: 'not_found',
  409: 'conflict',
  413: 'too_large',
  // The relay sheds load past its limits: try again after a while, as when it is down.
  429: 'unavailable',
  503: 'unavailable',
};

/** Joins the relay base URL and an API path (`/v1/...`). */
export function relayUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

/**
 * Calls the relay's JSON API. Resolves with the parsed body and status for 2xx and for the
 * statuses listed in `accept`; otherwise rejects with an EngineError (network failure:
 * `unavailable`).
 */
export async function relayFetch(
  target: RelayTarget,
  path: string,
  init: { method?: string; body?: unknown; accept?: number[]; signal?: AbortSignal } = {},
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(relayUrl(target.url, path), {
      method: init.method ?? 'GET',
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      ...(init.signal ? { signal: init.signal } : {}),
    });
  } catch (error) {
    throw new EngineError('unavailable', `relay unreachable: ${(error as Error).message}`);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return relayAnswer(response.status, body, init.accept);
}

/**
 * A relay answer, however it came (an HTTP response, or a live `pushed` message): the status
 * and body for 2xx and for the statuses in `accept`; otherwise an EngineError is thrown, of the
 * relay's own kind when it is one we know.
 */
export function relayAnswer(
  status: number,
  body: unknown,
  accept?: number[],
): { status: number; body: unknown } {
  if ((status >= 200 && status < 300) || accept?.includes(status)) return { status, body };
  const parsed = ErrorBodySchema.safeParse(body);
  const error = parsed.success ? parsed.data.error : undefined;
  const statusKind = statusKinds[status] ?? (status >= 500 ? 'unavailable' : 'internal');
  // The relay's own kind when it is one we know (e.g. `clock` for a refused stamp).
  const kind = (engineErrorKinds as readonly string[]).includes(error?.kind ?? '')
    ? (error!.kind as EngineErrorKind)
    : statusKind;
  throw new EngineError(
    kind,
    error?.message ?? `relay answered ${status}`,
    error?.field ? { field: error.field } : undefined,
  );
}

/**
 * Checks a relay answer with the protocol schema it must match. A mismatch throws an `internal`
 * EngineError that names the request and the first bad field, so nothing of it is used.
 */
export function parseRelayAnswer<S extends z.ZodType>(
  schema: S,
  body: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const detail = invalidFromZod(parsed.error).message;
  throw new EngineError(
    'internal',
    `The relay sent ${what} this app cannot use (${detail}). Is it the same version as this app?`,
  );
}
