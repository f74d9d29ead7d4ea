/**
 * `npm run relay -- replay ITERATION_ID [--model NAME] [--json]`: plans a past run again with
 * the prompt it had, on the relay's model endpoint, and prints the run's plan and the replay's
 * one after the other. Acts where the other commands act (open-admin.ts). Exit codes as
 * run-cli.ts: 0 done, 1 it could not run, 2 the command line is wrong.
 */
import { isEngineError } from '@baton/engine';
import { ReplayBodySchema, type ReplayPlan, type ReplayReport } from '../admin/replay-action.ts';
import { readConfig } from '../config.ts';
import { commandHelp } from './help.ts';
import { openAdmin } from './open-admin.ts';

function describePlan(title: string, plan: ReplayPlan): string[] {
  const tokens = plan.promptTokens + plan.completionTokens;
  const lines = [
    `${title}: ${plan.model || 'model unknown'}, ${tokens.toLocaleString('en')} tokens`,
  ];
  if (plan.status === 'failed') {
    lines.push(`  failed: ${plan.error ?? 'no reason recorded'}`);
    return lines;
  }
  if (plan.summary) lines.push(`  "${plan.summary}"`);
  if (plan.steps.length === 0) lines.push('  no steps proposed');
  plan.steps.forEach((step, index) => {
    lines.push(`  ${index + 1}. ${step.tool} ${JSON.stringify(step.params)}`);
    if (step.rationale) lines.push(`     ${step.rationale}`);
  });
  for (const dropped of plan.dropped) lines.push(`  dropped ${dropped.tool}: ${dropped.reason}`);
  return lines;
}

export function formatReplay(report: ReplayReport): string {
  const prompt =
    report.promptSource === 'stored'
      ? 'the prompt the run kept'
      : report.samePrompt
        ? 'the prompt rebuilt from the data now (the run kept none; it matches the run’s hash)'
        : 'the prompt rebuilt from the data now (the run kept none, and the data has changed since)';
  return `${[
    `Replay of ${report.iterationId} ("${report.missionTitle}", user ${report.user.name}) with ${prompt}.`,
    '',
    ...describePlan('This run', report.original),
    '',
    ...describePlan('Replay', report.replayed),
    '',
    'A dry run: nothing was written, no proposal was made.',
  ].join('\n')}\n`;
}

export async function runReplayCli(options: {
  positionals: string[];
  flags: { model: string | undefined; json: boolean; help: boolean };
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
}): Promise<number> {
  const { out, err, flags } = options;
  if (flags.help) {
    out(`${commandHelp.replay}\n`);
    return 0;
  }
  const [iterationId, ...extra] = options.positionals;
  const body = ReplayBodySchema.safeParse({
    iterationId,
    ...(flags.model === undefined ? {} : { model: flags.model }),
  });
  if (extra.length > 0 || !body.success) {
    const issue = body.success ? undefined : body.error.issues[0];
    const what = issue?.path[0] === 'model' ? '--model' : 'ITERATION_ID';
    err(`${issue ? `${what} ${issue.message}\n\n` : ''}${commandHelp.replay}\n`);
    return 2;
  }
  const config = readConfig(options.env);
  if (!config.ok) {
    for (const problem of config.problems) err(`Invalid setting ${problem}\n`);
    return 1;
  }
  const target = await openAdmin(config.config);
  if (!target.ok) {
    err(`${target.problem}\n`);
    return 1;
  }
  err(`Using ${target.description}.\n`);
  try {
    const report = await target.actions.replay(body.data);
    out(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReplay(report));
    return 0;
  } catch (error) {
    if (!isEngineError(error)) throw error;
    err(`${error.message}\n`);
    return 1;
  } finally {
    await target.close();
  }
}
