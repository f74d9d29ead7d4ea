import type { Mission } from '../model/mission.ts';
import { decidedStep } from '../model/proposal.ts';
import type { RowOf } from '../model/read-row.ts';
import type { ChatMessage } from '../ports.ts';

/** A past iteration with what became of its steps, for the next prompt. */
export interface PastIteration {
  iteration: RowOf<'iterations'>;
  proposals: RowOf<'proposals'>[];
}

const systemRules = [
  "You are the planner of a standing mission in Baton, working on the person's own tasks, notes and goals.",
  'Use the read tools to look at their data when you need it. Call write tools for the changes you propose:',
  'each write call becomes one step that the person approves, edits or rejects, so propose only what serves the objective,',
  'never duplicate an open task or a step the person rejected, and learn from their feedback.',
  'When you are done, answer with a short summary (one to three sentences) of what you propose and why.',
].join(' ');

function describeOutcome(proposal: RowOf<'proposals'>): string {
  const decision = proposal.decision;
  const { params } = decidedStep(proposal);
  const feedback = decision?.feedback ? ` (feedback: "${decision.feedback}")` : '';
  if (proposal.status === 'rejected') return `rejected${feedback}`;
  if (proposal.status === 'executed' || proposal.status === 'approved') {
    const edits = Object.entries(decision?.editedParams ?? {})
      .filter(([name, value]) => JSON.stringify(params[name]) !== JSON.stringify(value))
      .map(
        ([name, value]) =>
          `changed ${name} from ${JSON.stringify(params[name])} to ${JSON.stringify(value)}`,
      );
    return `approved${edits.length ? `, ${edits.join(', ')}` : ''}${feedback}`;
  }
  if (proposal.status === 'stale' || proposal.status === 'failed')
    return `${proposal.status}${proposal.error ? `: ${proposal.error}` : ''}`;
  return proposal.status;
}

/** Past iterations as compact lines: the slot, the summary, each step and its outcome. */
export function describeHistory(history: PastIteration[]): string {
  if (history.length === 0) return 'No earlier iterations.';
  return history
    .map(({ iteration, proposals }) => {
      const head = `- ${iteration.slot}: ${iteration.status}${iteration.plan?.summary ? ` — ${iteration.plan.summary}` : ''}${iteration.feedback ? ` (the person said: "${iteration.feedback}")` : ''}`;
      const steps = proposals.map((proposal) => {
        const step = decidedStep(proposal);
        return `  - ${step.tool} ${JSON.stringify(step.params)} → ${describeOutcome(proposal)}`;
      });
      return [head, ...steps].join('\n');
    })
    .join('\n');
}

/** The opening messages of a planning run. Pure: the same inputs give the same prompt. */
export function buildPrompt(options: {
  mission: Mission;
  slotIso: string;
  nowIso: string;
  inputs: { label: string; rows: unknown[] }[];
  history: PastIteration[];
}): ChatMessage[] {
  const { mission } = options;
  const sections = [
    `Mission: ${mission.title}`,
    `Objective: ${mission.objective}`,
    mission.context ? `Standing context:\n${mission.context}` : '',
    `Now: ${options.nowIso} (time zone ${mission.timeZone}). This run is for the slot ${options.slotIso}.`,
    ...options.inputs.map(
      (input) => `${input.label} (${input.rows.length}):\n${JSON.stringify(input.rows)}`,
    ),
    `Earlier iterations and their outcomes:\n${describeHistory(options.history)}`,
  ].filter((section) => section !== '');
  return [
    { role: 'system', content: systemRules },
    { role: 'user', content: sections.join('\n\n') },
  ];
}
