import { z } from 'zod';
import { HlcStampSchema } from '../sync/hlc.ts';
import { ActorSchema } from './actor.ts';
import { StepSchema, type Step } from './iteration.ts';

export const ProposalStatusSchema = z.enum([
  'pending',
  'approved',
  'rejected',
  'executed',
  'failed',
  'superseded',
  'stale',
]);
export type ProposalStatus = z.infer<typeof ProposalStatusSchema>;

/**
 * A decision on a proposal, written whole and once (the first decision wins on every replica).
 * `step` is the step that was decided: two plans of one slot share proposal ids, so the row's
 * own tool/params may later show the winning plan's step while the decision was made on the
 * other. Optional only for rows written before it existed; `decide` always writes it. Read a
 * decided proposal through `decidedStep`.
 */
export const DecisionSchema = z.object({
  verdict: z.enum(['approved', 'rejected']),
  by: ActorSchema,
  /** HLC stamp of the decision. */
  at: HlcStampSchema,
  step: StepSchema.optional(),
  editedParams: z.record(z.string(), z.unknown()).optional(),
  feedback: z.string().max(4_000).optional(),
});
export type Decision = z.infer<typeof DecisionSchema>;

/**
 * One change a write step made, with what it replaced, so an iteration can be reverted, and
 * what it wrote, so a replica whose own execution of the step lost to this one can show this
 * one's result (see runner/compensate.ts).
 */
export const EffectSchema = z.object({
  table: z.enum(['tasks', 'notes', 'goals']),
  rowId: z.string(),
  /** Field values before the step; `_deleted: true` when the step created the row. */
  before: z.record(z.string(), z.unknown()),
  /** Field values the step wrote. Optional only for rows written before it existed. */
  after: z.record(z.string(), z.unknown()).optional(),
});
export type Effect = z.infer<typeof EffectSchema>;

/** The fields of a proposal row. id = iterationId + '#' + stepIndex. */
export const ProposalSchema = z.object({
  missionId: z.string().min(1),
  iterationId: z.string().min(1),
  stepIndex: z.number().int().nonnegative(),
  tool: z.string().min(1),
  params: z.record(z.string(), z.unknown()),
  rationale: z.string().default(''),
  status: ProposalStatusSchema,
  decision: DecisionSchema.nullable().default(null),
  result: z.object({ table: z.string(), rowId: z.string() }).nullable().default(null),
  effects: z.array(EffectSchema).default([]),
  error: z.string().nullable().default(null),
});
export type Proposal = z.infer<typeof ProposalSchema> & { id: string };

/**
 * The step a proposal stands for: the one that was decided when it has a decision that records
 * it, else the step on the row. Every view and every revert of a decided proposal uses this, so
 * it shows what was really approved or rejected even when another plan won the proposal's id.
 */
export function decidedStep(
  proposal: Pick<Proposal, 'tool' | 'params' | 'rationale' | 'decision'>,
): Step {
  return (
    proposal.decision?.step ?? {
      tool: proposal.tool,
      params: proposal.params,
      rationale: proposal.rationale,
    }
  );
}
