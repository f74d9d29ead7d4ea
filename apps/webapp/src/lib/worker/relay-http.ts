import { EngineError, type EngineErrorKind } from '@baton/engine';

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
  if (response.ok || init.accept?.includes(response.status))
    return { status: response.status, body };
  const error = (body as { error?: { kind?: string; message?: string; field?: string } } | null)
    ?.error;
  const kind =
    statusKinds[response.status] ?? (response.status >= 500 ? 'unavailable' : 'internal');
  throw new EngineError(
    kind,
    error?.message ?? `relay answered ${response.status}`,
    error?.field ? { field: error.field } : undefined,
  );
}
