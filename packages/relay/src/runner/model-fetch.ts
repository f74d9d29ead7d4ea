/**
 * The `fetch` the relay's model client sends its calls with: undici's request API behind the
 * WHATWG `fetch` signature the `openai` SDK takes. Node's own `fetch` (undici's fetch) builds
 * request objects, header guards and web streams for every call; the relay makes hundreds of
 * calls a tick, and through this one a call costs its thread about half the CPU (docs/benchmarks.md).
 * Connections are kept alive and shared by every call of the process; redirects are followed
 * as `fetch` follows them. A body is read whole (the model's answers are not streamed) and
 * handed over as it is read (`ReadAnswer`).
 */
import { Agent, interceptors, request, type Dispatcher } from 'undici';

/** Statuses whose response has no body (the Response constructor refuses one). */
const bodiless = new Set([101, 204, 205, 304]);

let shared: typeof globalThis.fetch | undefined;

const decoder = new TextDecoder();

/**
 * An answer whose body was read whole: `text()`, `json()`, `arrayBuffer()` and `bytes()` answer
 * from the bytes read, and a stream over them is made only when `body` is asked for. A
 * `Response` made with the bytes as its body wraps them in a web stream that the SDK's `json()`
 * then reads back chunk by chunk. Without it, the model client's CPU per call (through the SDK,
 * 32 at once, to the scripted model in a process of its own, five rounds of 3,000 calls) was
 * 0.50 ms at the median; with it, 0.38 ms.
 */
class ReadAnswer extends Response {
  readonly #bytes: Uint8Array<ArrayBuffer>;
  #stream: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #used = false;

  constructor(bytes: Uint8Array<ArrayBuffer>, init: ResponseInit) {
    super(null, init);
    this.#bytes = bytes;
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return (this.#stream ??= new Blob([this.#bytes]).stream());
  }

  override get bodyUsed(): boolean {
    return this.#used || (this.#stream?.locked ?? false);
  }

  /** A copy of the bytes, once; through the stream once someone has asked for it. */
  async #read(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#stream) return new Response(this.#stream).bytes();
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    return this.#bytes.slice();
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#read();
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.#read()).buffer;
  }

  override async text(): Promise<string> {
    if (this.#stream) return decoder.decode(await this.#read());
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    return decoder.decode(this.#bytes);
  }

  override async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  override clone(): ReadAnswer {
    if (this.#used) throw new TypeError('Response.clone: Body has already been consumed.');
    return new ReadAnswer(this.#bytes, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
  }
}

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
    // The SDK sends a Headers; anything else is read through one.
    const given = init?.headers instanceof Headers ? init.headers : new Headers(init?.headers);
    given.forEach((value, name) => (headers[name] = value));
    const response = await request(String(input), {
      method: (init?.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      body: body ?? null,
      signal: init?.signal ?? undefined,
      dispatcher,
    });
    const answerHeaders = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (Array.isArray(value)) for (const each of value) answerHeaders.append(name, each);
      else if (value !== undefined) answerHeaders.set(name, value);
    }
    const answerInit = { status: response.statusCode, headers: answerHeaders };
    if (bodiless.has(response.statusCode)) {
      await response.body.dump();
      return new Response(null, answerInit);
    }
    return new ReadAnswer((await response.body.bytes()) as Uint8Array<ArrayBuffer>, answerInit);
  };
}
