import { describe, expect, it } from 'vitest';
import { countStreamedUsage, tokensOfAnswer } from './count-usage.ts';

const encoder = new TextEncoder();

function streamOf(pieces: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(encoder.encode(piece));
      controller.close();
    },
  });
}

describe('counting tokens from usage', () => {
  it('reads total_tokens, else prompt plus completion, from a JSON answer', () => {
    expect(
      tokensOfAnswer('{"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":9}}'),
    ).toBe(9);
    expect(tokensOfAnswer('{"usage":{"prompt_tokens":3,"completion_tokens":4}}')).toBe(7);
    expect(tokensOfAnswer('{"choices":[]}')).toBe(0);
    expect(tokensOfAnswer('not json')).toBe(0);
  });

  it('passes a stream through byte for byte and counts the usage chunk even when split across reads', async () => {
    const usageChunk =
      'data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":5,"total_tokens":16}}\n\n';
    const pieces = [
      'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n',
      usageChunk.slice(0, 30),
      usageChunk.slice(30),
      'data: [DONE]\n\n',
    ];
    let counted: number | undefined;
    const text = await new Response(
      countStreamedUsage(streamOf(pieces), (tokens) => (counted = tokens)),
    ).text();
    expect(text).toBe(pieces.join(''));
    expect(counted).toBe(16);
  });

  it('ends the count when the reader cancels the stream', async () => {
    let counted: number | undefined;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(encoder.encode('data: {"choices":[]}\n\n'));
      },
    });
    const reader = countStreamedUsage(endless, (tokens) => (counted = tokens)).getReader();
    await reader.read();
    await reader.cancel();
    expect(counted).toBe(0);
  });
});
