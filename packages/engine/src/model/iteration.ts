import { z } from 'zod';
import { HlcStampSchema } from '../sync/hlc.ts';
import { NodeIdSchema } from './actor.ts';

export const RunnerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('device'), deviceId: NodeIdSchema }),
  z.object({ kind: z.literal('relay'), instanceId: NodeIdSchema }),
]);
export type Runner = z.infer<typeof RunnerSchema>;

export const StepSchema = z.object({
  tool: z.string().min(1),
  params: z.record(z.string(), z.unknown()),
  rationale: z.string().max(2_000).default(''),
});
export type Step = z.infer<typeof StepSchema>;

export const DroppedStepSchema = z.object({
  tool: z.string(),
  params: z.unknown(),
  reason: z.string(),
});
export type DroppedStep = z.infer<typeof DroppedStepSchema>;

export const PlanSchema = z.object({
  summary: z.string().max(8_000),
  steps: z.array(StepSchema).max(100),
  dropped: z.array(DroppedStepSchema).default([]),
});
export type Plan = z.infer<typeof PlanSchema>;

export const UsageSchema = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  model: z.string(),
  latencyMs: z.number().nonnegative(),
  /**
   * Model calls made, answered or not. Like the tokens, a retry's usage counts the attempts
   * before it (runner/tick.ts).
   */
  rounds: z.number().int().nonnegative(),
  /**
   * Of `rounds`, those made without a lease from the claims' owner (the relay was out of reach,
   * or there is none): the owner charges the rounds it granted on the slot beyond the claimed
   * rounds a row records (runner/claim-rule.ts). Absent for none, and in rows by older versions.
   */
  unclaimedRounds: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof UsageSchema>;

export const ErrorInfoSchema = z.object({ code: z.string(), message: z.string() });
export type ErrorInfo = z.infer<typeof ErrorInfoSchema>;

/** The most characters of prompt text an iteration keeps whole (docs/decisions/0010). */
export const maxStoredPromptChars = 48_000;

/**
 * The opening prompt of a planning run, kept whole so a replay sends the same words: the
 * system and user messages as built, and the names of the tools the model was offered. Kept
 * only while its text is at most `maxStoredPromptChars`; a longer prompt is not stored and a
 * replay rebuilds it from the data (docs/decisions/0011-replay-keeps-the-prompt-whole.md).
 */
export const StoredPromptSchema = z.object({
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'user']),
        content: z.string().max(maxStoredPromptChars),
      }),
    )
    .min(1)
    .max(4),
  tools: z.array(z.string().min(1).max(100)).max(100),
});
export type StoredPrompt = z.infer<typeof StoredPromptSchema>;

/** What is needed to replay a planning run. */
export const ReplaySchema = z.object({
  promptHash: z.string(),
  responses: z.array(z.unknown()),
  /** Null when the run kept no prompt (too long, no model, or written by an older version). */
  prompt: StoredPromptSchema.nullable().default(null),
});
export type Replay = z.infer<typeof ReplaySchema>;

/** One row a revert could not put back entirely: the fields it left, and why. */
export const RevertKeptSchema = z.object({
  table: z.enum(['tasks', 'notes', 'goals']),
  rowId: z.string(),
  fields: z.array(z.string()).max(50),
  reason: z.string().max(500),
});
export type RevertKept = z.infer<typeof RevertKeptSchema>;

export const IterationStatusSchema = z.enum(['planned', 'failed', 'skipped']);

/**
 * The fields of an iteration row. id = missionId + '@' + slot ISO. The planning group (status,
 * runner, plan, plannedAt, usage, error, replay, attempts) is written whole, once per runner
 * and attempt; replicas keep the same winner (see sync/merge-rules.ts). `planning` is a
 * host-local progress state, not a row.
 */
export const IterationSchema = z.object({
  missionId: z.string().min(1),
  slot: z.string().datetime(),
  trigger: z.enum(['schedule', 'manual']),
  runner: RunnerSchema,
  status: IterationStatusSchema,
  plan: PlanSchema.nullable().default(null),
  plannedAt: HlcStampSchema,
  usage: UsageSchema.nullable().default(null),
  error: ErrorInfoSchema.nullable().default(null),
  replay: ReplaySchema.nullable().default(null),
  /**
   * Which attempt at the slot wrote the planning group: 1, or more when a transient failure
   * was retried (schedule/retry.ts). Rows written before retries existed read as 1.
   */
  attempts: z.number().int().min(1).max(1_000).default(1),
  feedback: z.string().max(4_000).nullable().default(null),
  revertedAt: HlcStampSchema.nullable().default(null),
  /**
   * What a revert left as it was, and why: fields (or rows) changed since the step, which the
   * revert does not overwrite. Written with `revertedAt`; shown on the run.
   */
  revertKept: z.array(RevertKeptSchema).max(200).nullable().default(null),
});
export type Iteration = z.infer<typeof IterationSchema> & { id: string };
