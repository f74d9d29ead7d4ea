/**
 * Reads the tokens an answer used from the endpoint's own `usage` (OpenAI's shape:
 * `total_tokens`, else `prompt_tokens + completion_tokens`), in a JSON answer or in the chunks of
 * a streamed one, without changing a byte of what the user receives.
 */

/** Tokens of a `usage` object; 0 when there is none or it is not numbers. */
export function tokensOfUsage(usage: unknown): number {
  if (typeof usage !== 'object' || usage === null) return 0;
  const { total_tokens, prompt_tokens, completion_tokens } = usage as Record<string, unknown>;
  if (typeof total_tokens === 'number' && Number.isFinite(total_tokens))
    return Math.max(0, total_tokens);
  const part = (value: unknown) =>
    typeof value === 'number' && Number.isFinite(value) ? value : 0;
  return Math.max(0, part(prompt_tokens) + part(completion_tokens));
}

/** Tokens of a JSON answer's `usage`; 0 when the text is not JSON or has none. */
export function tokensOfAnswer(text: string): number {
  try {
    return tokensOfUsage((JSON.parse(text) as { usage?: unknown } | null)?.usage);
  } catch {
    return 0;
  }
}

/**
 * Passes a server-sent-event stream through unchanged and calls `onEnd(tokens)` once when it
 * ends, fails or the reader cancels it, with the `usage` of the last chunk that carried one
 * (0 if none did).
 */
export function countStreamedUsage(
  body: ReadableStream<Uint8Array>,
  onEnd: (tokens: number) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  let tokens = 0;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd(tokens);
  };
  const readLines = (text: string) => {
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      // Only a chunk that mentions usage is worth parsing; the rest are deltas.
      if (!line.startsWith('data:') || !line.includes('"usage"')) continue;
      try {
        const chunk = JSON.parse(line.slice(5)) as { usage?: unknown } | null;
        const counted = tokensOfUsage(chunk?.usage);
        if (counted > 0) tokens = counted;
      } catch {
        // Not JSON (`[DONE]` or a broken line): nothing to count.
      }
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          readLines(`${decoder.decode()}\n`);
          end();
          controller.close();
          return;
        }
        readLines(decoder.decode(value, { stream: true }));
        controller.enqueue(value);
      } catch (error) {
        end();
        controller.error(error);
      }
    },
    async cancel(reason) {
      end();
      await reader.cancel(reason);
    },
  });
}
