import { EngineError } from '@baton/engine';
import type { Context } from 'hono';

/**
 * Reads a JSON request body of at most `maxBytes` (413 `too_large` beyond): refused on the
 * declared length before reading, and otherwise read as a stream that is cancelled as soon as it
 * passes the limit, so a body sent without a length (chunked) never costs more than the limit in
 * memory. Malformed JSON (or text that is not UTF-8) is a 400 `invalid`.
 */
export async function readJson(
  context: Context,
  options: { maxBytes: number },
): Promise<{ value: unknown; bytes: number }> {
  const tooLarge = () =>
    new EngineError(
      'too_large',
      `The request body is larger than ${options.maxBytes} bytes; send fewer changes at a time.`,
    );
  const declared = Number(context.req.header('content-length') ?? NaN);
  if (declared > options.maxBytes) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const stream = context.req.raw.body;
  if (stream) {
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > options.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const body = new Uint8Array(bytes);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    return { value: JSON.parse(text), bytes };
  } catch {
    throw new EngineError('invalid', 'The request body is not valid JSON.');
  }
}
