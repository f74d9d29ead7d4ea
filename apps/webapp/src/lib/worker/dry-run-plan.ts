import type { PlannerResult, ReplayOutcome } from '@baton/engine';
import type { DryRunPlan, ReplayView } from './engine-api.ts';

type RunLike = Pick<PlannerResult, 'status' | 'plan' | 'error'> & {
  usage: PlannerResult['usage'] | null;
};

/** A plan as pages show it (a dry run, a replay, or a run's own), plain data only. */
export function dryRunPlanOf(run: RunLike): DryRunPlan {
  return {
    status: run.status,
    summary: run.plan?.summary ?? '',
    steps: (run.plan?.steps ?? []).map((step) => ({
      tool: step.tool,
      params: step.params,
      rationale: step.rationale,
    })),
    dropped: (run.plan?.dropped ?? []).map((step) => ({ tool: step.tool, reason: step.reason })),
    error: run.error?.message ?? null,
    usage: {
      promptTokens: run.usage?.promptTokens ?? 0,
      completionTokens: run.usage?.completionTokens ?? 0,
      model: run.usage?.model ?? '',
    },
  };
}

/** The engine's replay outcome as the page shows it: the run's plan beside the replay's. */
export function replayViewOf(outcome: ReplayOutcome): ReplayView {
  return {
    iterationId: outcome.iterationId,
    original: dryRunPlanOf(outcome.original),
    replayed: dryRunPlanOf(outcome.replayed),
    promptSource: outcome.promptSource,
    samePrompt: outcome.samePrompt,
  };
}
