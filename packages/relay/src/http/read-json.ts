import { EngineError } from '@baton/engine';
import type { Context } from 'hono';

/**
 * Reads a JSON request body of at most `maxBytes` (413 `too_large` beyond, checked on the
 * declared length first and on the bytes read); malformed JSON is a 400 `invalid`.
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
  const body = await context.req.arrayBuffer();
  if (body.byteLength > options.maxBytes) throw tooLarge();
  try {
    return { value: JSON.parse(new TextDecoder().decode(body)), bytes: body.byteLength };
  } catch {
    throw new EngineError('invalid', 'The request body is not valid JSON.');
  }
}
