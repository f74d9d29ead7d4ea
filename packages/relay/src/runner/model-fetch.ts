/**
 * The `fetch` the relay's model client sends its calls with: undici's request API behind the
 * WHATWG `fetch` signature the `openai` SDK takes. Node's own `fetch` (undici's fetch) builds
 * request objects, header guards and web streams for every call; the relay makes hundreds of
 * calls a tick, and through this one a call costs its thread about half the CPU (docs/benchmarks.md).
 * Connections are kept alive and shared by every call of the process; redirects are followed
 * as `fetch` follows them. A body is read whole (the model's answers are not streamed).
 */
import { Agent, interceptors, request, type Dispatcher } from 'undici';

/** Statuses whose response has no body (the Response constructor refuses one). */
const bodiless = new Set([101, 204, 205, 304]);

let shared: typeof globalThis.fetch | undefined;

/** The process's one model fetch (its connections serve every model client of the process). */
export function modelFetch(): typeof globalThis.fetch {
  return (shared ??= createModelFetch());
}

export function createModelFetch(): typeof globalThis.fetch {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000 }).compose(
    interceptors.redirect({ maxRedirections: 5 }),
  );
  return async (input, init) => {
    if (input instanceof Request)
      throw new TypeError('the model fetch takes a URL and options, not a Request');
    const body = init?.body;
    if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))
      throw new TypeError('the model fetch sends a string or bytes as the body');
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
    const response = await request(String(input), {
      method: (init?.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      body: body ?? null,
      signal: init?.signal ?? undefined,
      dispatcher,
    });
    const bytes = bodiless.has(response.statusCode)
      ? (await response.body.dump(), null)
      : await response.body.bytes();
    const answerHeaders = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (Array.isArray(value)) for (const each of value) answerHeaders.append(name, each);
      else if (value !== undefined) answerHeaders.set(name, value);
    }
    return new Response(bytes as Uint8Array<ArrayBuffer> | null, {
      status: response.statusCode,
      headers: answerHeaders,
    });
  };
}
