/**
 * List prices of a few hosted models, in US dollars per million tokens, to estimate what runs
 * cost. Only an estimate: providers change prices, discount cached input and bill in their own
 * ways, and a local model (Ollama, LM Studio) costs no tokens at all. A model not in this table
 * has an unknown price, shown as such, never guessed.
 */
export interface ModelPrice {
  /** US dollars per million prompt (input) tokens. */
  input: number;
  /** US dollars per million completion (output) tokens. */
  output: number;
}

/** OpenAI's list prices for standard requests as published in 2025, by model family. */
export const pricesAsOf = '2025';
const prices: ReadonlyArray<readonly [family: string, price: ModelPrice]> = [
  ['gpt-5-nano', { input: 0.05, output: 0.4 }],
  ['gpt-5-mini', { input: 0.25, output: 2 }],
  ['gpt-5', { input: 1.25, output: 10 }],
  ['gpt-4.1-nano', { input: 0.1, output: 0.4 }],
  ['gpt-4.1-mini', { input: 0.4, output: 1.6 }],
  ['gpt-4.1', { input: 2, output: 8 }],
  ['gpt-4o-mini', { input: 0.15, output: 0.6 }],
  ['gpt-4o', { input: 2.5, output: 10 }],
  ['o4-mini', { input: 1.1, output: 4.4 }],
  ['o3', { input: 2, output: 8 }],
];

/**
 * The price of a model name, or undefined when it is not known. A dated or provider-prefixed
 * name counts as its family ("openai/gpt-4o-mini-2024-07-18" is gpt-4o-mini); the longest
 * family that matches wins, so gpt-4o-mini is never priced as gpt-4o.
 */
export function priceOf(model: string): ModelPrice | undefined {
  const name = model.trim().toLowerCase().split('/').at(-1) ?? '';
  let best: readonly [string, ModelPrice] | undefined;
  for (const entry of prices) {
    const [family] = entry;
    const matches = name === family || name.startsWith(`${family}-`);
    if (matches && (!best || family.length > best[0].length)) best = entry;
  }
  return best?.[1];
}

/** US dollars for some tokens of a model, or undefined when its price is unknown. */
export function costOf(
  model: string,
  tokens: { promptTokens: number; completionTokens: number },
): number | undefined {
  const price = priceOf(model);
  if (!price) return undefined;
  return (tokens.promptTokens * price.input + tokens.completionTokens * price.output) / 1_000_000;
}
