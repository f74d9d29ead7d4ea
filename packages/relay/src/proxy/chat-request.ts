/**
 * What the proxy checks and changes in a chat request before forwarding it. Checked: a JSON
 * object with at least one message that has a role, and well-typed `model`, `stream`, `n`,
 * `max_tokens`, `max_completion_tokens` and `stream_options` when present. Changed: `model`
 * defaults to the relay's and must be one it offers; `n` is lowered to 1; token caps are lowered
 * to the relay's maximum; a streamed call asks for `usage` in its last chunk, so its tokens
 * count. Every other field passes through as sent for the endpoint to judge.
 */
import { EngineError, invalidFromZod } from '@baton/engine';
import { z } from 'zod';

const positiveWhole = (what: string) =>
  z.number(`must be a number of ${what}`).int(`must be a whole number of ${what}`).min(1);

export const ProxyChatRequestSchema = z.looseObject({
  model: z.string('must be a model name').optional(),
  messages: z
    .array(z.looseObject({ role: z.string().min(1) }), 'must be an array of messages')
    .min(1, 'must hold at least one message'),
  stream: z.boolean('must be true or false').optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  n: positiveWhole('choices').nullable().optional(),
  max_tokens: positiveWhole('tokens').nullable().optional(),
  max_completion_tokens: positiveWhole('tokens').nullable().optional(),
});

export type ProxyChatRequest = z.infer<typeof ProxyChatRequestSchema>;

export interface ChatRequestRules {
  /** The model used when the request names none (or ''). */
  defaultModel: string;
  /** Every model a request may name, the default included. */
  allowedModels: readonly string[];
  /** Largest `max_tokens` / `max_completion_tokens` forwarded. */
  maxTokens: number;
}

/** Parses a request body and applies the rules; throws an `invalid` EngineError naming the field. */
export function prepareChatRequest(value: unknown, rules: ChatRequestRules): ProxyChatRequest {
  const parsed = ProxyChatRequestSchema.safeParse(value);
  if (!parsed.success) throw invalidFromZod(parsed.error);
  const body = parsed.data;
  if (!body.model) body.model = rules.defaultModel;
  else if (!rules.allowedModels.includes(body.model)) {
    const named = body.model.length > 80 ? `${body.model.slice(0, 80)}…` : body.model;
    throw new EngineError(
      'invalid',
      `This relay does not offer the model "${named}". Name one of: ${rules.allowedModels.join(', ')} (or none for ${rules.defaultModel}).`,
      { field: 'model' },
    );
  }
  if (typeof body.n === 'number' && body.n > 1) body.n = 1;
  for (const field of ['max_tokens', 'max_completion_tokens'] as const) {
    const asked = body[field];
    if (typeof asked === 'number' && asked > rules.maxTokens) body[field] = rules.maxTokens;
  }
  if (body.stream) body.stream_options = { ...body.stream_options, include_usage: true };
  return body;
}
