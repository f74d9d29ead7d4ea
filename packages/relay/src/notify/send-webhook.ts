/**
 * One webhook delivery: POSTs the request, retrying a network error, a timeout, 408, 429 and
 * 5xx answers after each of `retryDelaysMs` in turn (so at most `retryDelaysMs.length + 1`
 * attempts); any other answer ends it. Redirects are not followed (a 3xx is a failure), so a
 * webhook cannot bounce the relay's request to another address.
 */

export interface DeliveryOutcome {
  ok: boolean;
  /** The last attempt's HTTP status; null when none came. */
  status: number | null;
  error: string | null;
  attempts: number;
}

export const defaultRetryDelaysMs: readonly number[] = [2_000, 10_000];

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/** Why fetch failed, in words (undici hides the reason in `cause`). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).name === 'TimeoutError') return 'no answer in time';
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

export async function sendWebhook(options: {
  url: string;
  headers: Record<string, string>;
  body: string | Uint8Array<ArrayBuffer>;
  retryDelaysMs?: readonly number[];
  /** Per attempt. */
  timeoutMs?: number;
  signal: AbortSignal;
  fetch?: typeof fetch;
}): Promise<DeliveryOutcome> {
  const delays = options.retryDelaysMs ?? defaultRetryDelaysMs;
  const post = options.fetch ?? fetch;
  let outcome: DeliveryOutcome = { ok: false, status: null, error: 'not sent', attempts: 0 };
  for (let attempt = 1; attempt <= delays.length + 1; attempt += 1) {
    if (options.signal.aborted) break;
    let again: boolean;
    try {
      const response = await post(options.url, {
        method: 'POST',
        headers: { 'user-agent': 'Baton relay', ...options.headers },
        body: options.body,
        redirect: 'manual',
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs ?? 10_000)]),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.ok) return { ok: true, status: response.status, error: null, attempts: attempt };
      outcome = {
        ok: false,
        status: response.status,
        error: `the webhook answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
        attempts: attempt,
      };
      again = retryable(response.status);
    } catch (error) {
      outcome = {
        ok: false,
        status: null,
        error: `could not reach the webhook: ${networkReason(error)}`.slice(0, 500),
        attempts: attempt,
      };
      again = true;
    }
    const delay = delays[attempt - 1];
    if (!again || delay === undefined) break;
    await sleep(delay, options.signal);
  }
  return outcome;
}
