/**
 * What a user is told when the relay's model endpoint answers an error: the relay's error shape
 * `{error: {kind, message}}` with the endpoint's status and a short reason, never the endpoint's
 * body (it may echo the relay's key, or say more about the endpoint than a user should see).
 * The body goes to the relay's log instead, redacted.
 */
import type { EngineErrorKind } from '@baton/engine';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export interface ProxyErrorAnswer {
  status: ContentfulStatusCode;
  kind: EngineErrorKind;
  message: string;
  /** Seconds, for a `Retry-After` header. */
  retryAfterSeconds?: number;
}

/** A token the endpoint gives as its error `code` or `type` (`context_length_exceeded`), kept as
 * the short reason when it is plainly an identifier and not one of the relay's secrets. */
function errorCodeOf(body: string, redact: (text: string) => string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const error = (parsed as { error?: { code?: unknown; type?: unknown } } | null)?.error;
  for (const candidate of [error?.code, error?.type]) {
    if (typeof candidate !== 'string' || !/^[a-z][a-z0-9_.-]{0,63}$/i.test(candidate)) continue;
    if (redact(candidate) === candidate) return candidate;
  }
  return undefined;
}

/** Seconds from a `Retry-After` header that holds a plain number of seconds; else undefined. */
export function retryAfterOf(header: string | null): number | undefined {
  if (header === null || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim());
}

/**
 * Maps an endpoint's error answer to the user's. The status is kept, except 401, 403 and 407,
 * which become 502: they mean the relay's credentials were refused, and passing them on would
 * tell the client its own relay token is wrong.
 */
export function mapUpstreamError(options: {
  status: number;
  body: string;
  retryAfter: string | null;
  redact: (text: string) => string;
}): ProxyErrorAnswer {
  const { status } = options;
  const code = errorCodeOf(options.body, options.redact);
  const reason = code === undefined ? `${status}` : `${status} ${code}`;
  if (status === 401 || status === 403 || status === 407) {
    return {
      status: 502,
      kind: 'model',
      message: `The relay's model endpoint refused the relay's credentials (${reason}); the relay's operator should check OPENAI_API_KEY.`,
    };
  }
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterSeconds = retryAfterOf(options.retryAfter);
    return {
      status: status >= 400 && status <= 599 ? (status as ContentfulStatusCode) : 502,
      kind: 'unavailable',
      message: `The relay's model endpoint could not answer now (${reason}); try again later.`,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    };
  }
  return {
    status: status >= 400 && status <= 499 ? (status as ContentfulStatusCode) : 502,
    kind: 'model',
    message: `The relay's model endpoint refused the request (${reason}).`,
  };
}
