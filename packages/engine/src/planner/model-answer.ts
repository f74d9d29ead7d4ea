import { z } from 'zod';
import type { ChatResponse } from '../ports.ts';

const ToolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function').default('function'),
  function: z.object({
    name: z.string().min(1, 'a tool call names no tool'),
    /** JSON text; some servers omit it for a call without arguments. */
    arguments: z.string().default(''),
  }),
});

const TokenCountSchema = z.number().int().nonnegative().catch(0);

/** The tokens an answer says it used (zero where it says nothing readable). */
const UsageOfAnswerSchema = z
  .object({ promptTokens: TokenCountSchema, completionTokens: TokenCountSchema })
  .nullish()
  .catch(null)
  .transform((usage) => usage ?? { promptTokens: 0, completionTokens: 0 });

/**
 * A model's answer as the LanguageModel port returns it, validated where it enters the engine.
 * Missing optional parts read as empty (no content, no tool calls, zero tokens): a server that
 * omits an empty tool-call list answered plainly. Anything else that does not fit makes the
 * answer unusable, an expected outcome the planner records as a failed iteration.
 */
export const ChatResponseSchema = z.object({
  message: z.object(
    {
      content: z
        .string()
        .nullish()
        .transform((content) => content ?? null),
      tool_calls: z
        .array(ToolCallSchema)
        .nullish()
        .transform((calls) => calls ?? []),
    },
    {
      error: (issue) =>
        issue.input === null || issue.input === undefined
          ? 'the model answered without a message'
          : undefined,
    },
  ),
  usage: UsageOfAnswerSchema,
  model: z
    .string()
    .nullish()
    .transform((model) => model ?? ''),
  raw: z.unknown(),
});

/** An answer that fits: it has a message. */
export type ReadAnswer = z.output<typeof ChatResponseSchema>;

export type ModelAnswer =
  | { ok: true; answer: ReadAnswer }
  | {
      ok: false;
      message: string;
      raw: unknown;
      /** The tokens the answer says it used: an unusable answer is paid for all the same. */
      usage: { promptTokens: number; completionTokens: number };
    };

/** Reads what `LanguageModel.complete` resolved with; never throws. */
export function readModelAnswer(value: unknown): ModelAnswer {
  const parsed = ChatResponseSchema.safeParse(value);
  if (parsed.success) return { ok: true, answer: parsed.data satisfies ChatResponse };
  const issue = parsed.error.issues[0];
  const path = issue?.path.join('.') ?? '';
  const raw = value && typeof value === 'object' && 'raw' in value ? value.raw : value;
  const usage = UsageOfAnswerSchema.parse(
    value && typeof value === 'object' && 'usage' in value ? value.usage : undefined,
  );
  return {
    ok: false,
    message: `The model's answer could not be read (${path ? `${path}: ` : ''}${issue?.message ?? 'invalid'}).`,
    raw,
    usage,
  };
}
