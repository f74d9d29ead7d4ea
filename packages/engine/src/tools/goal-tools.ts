import { z } from 'zod';
import { GoalSchema } from '../model/domain.ts';
import type { RowOf } from '../model/read-row.ts';
import { createdRowId, defineReadTool, defineWriteTool } from './tool.ts';

/** The compact view of a goal the model sees. */
function compactGoal(goal: RowOf<'goals'>) {
  return { id: goal.id, title: goal.title, target: goal.target, progress: goal.progress };
}

export const listGoals = defineReadTool({
  name: 'list_goals',
  table: 'goals',
  description: "List the person's goals with their progress (0-100).",
  params: z.object({}),
  async execute(_params, context) {
    const goals = await context.list('goals');
    return goals.map(compactGoal);
  },
});

export const createGoal = defineWriteTool({
  name: 'create_goal',
  table: 'goals',
  description: 'Create a new goal.',
  params: GoalSchema.pick({ title: true, target: true }).partial({ target: true }),
  async execute(params, context) {
    const rowId = createdRowId(context.proposalId, 'goals');
    return {
      kind: 'edits',
      edits: [{ table: 'goals', rowId, fields: GoalSchema.parse(params) }],
      result: { table: 'goals', rowId },
    };
  },
});

export const logGoalProgress = defineWriteTool({
  name: 'log_goal_progress',
  table: 'goals',
  description: "Set a goal's progress (0-100 percent).",
  params: z.object({ goalId: z.string().min(1), progress: z.number().min(0).max(100) }),
  async execute(params, context) {
    const goal = await context.get('goals', params.goalId);
    if (!goal) return { kind: 'stale', reason: `the goal ${params.goalId} no longer exists` };
    if (goal.progress === params.progress)
      return { kind: 'stale', reason: `the goal is already at ${params.progress}%` };
    return {
      kind: 'edits',
      edits: [{ table: 'goals', rowId: goal.id, fields: { progress: params.progress } }],
      result: { table: 'goals', rowId: goal.id },
    };
  },
});

export const getGoal = defineReadTool({
  name: 'get_goal',
  table: 'goals',
  description: 'Read one goal by id.',
  params: z.object({ goalId: z.string().min(1) }),
  async execute(params, context) {
    const goal = await context.get('goals', params.goalId);
    return goal ? compactGoal(goal) : { error: `no goal with id ${params.goalId}` };
  },
});

export const searchGoals = defineReadTool({
  name: 'search_goals',
  table: 'goals',
  description: 'Find goals whose title or target contains the query (case-insensitive).',
  params: z.object({ query: z.string().trim().min(1).max(200) }),
  async execute(params, context) {
    const needle = params.query.toLowerCase();
    const goals = await context.list('goals');
    return goals
      .filter((goal) => `${goal.title}\n${goal.target}`.toLowerCase().includes(needle))
      .slice(0, 50)
      .map(compactGoal);
  },
});

export const updateGoal = defineWriteTool({
  name: 'update_goal',
  table: 'goals',
  description: 'Change the title or the target (what done looks like) of an existing goal.',
  params: z.object({
    goalId: z.string().min(1),
    title: GoalSchema.shape.title.optional(),
    target: z.string().max(2_000).optional(),
  }),
  async execute({ goalId, ...patch }, context) {
    const goal = await context.get('goals', goalId);
    if (!goal) return { kind: 'stale', reason: `the goal ${goalId} no longer exists` };
    const fields = Object.fromEntries(
      Object.entries(patch).filter(
        ([name, value]) => value !== undefined && goal[name as keyof typeof goal] !== value,
      ),
    );
    if (Object.keys(fields).length === 0)
      return { kind: 'stale', reason: 'the goal already has these values' };
    return {
      kind: 'edits',
      edits: [{ table: 'goals', rowId: goalId, fields }],
      result: { table: 'goals', rowId: goalId },
    };
  },
});

export const completeGoal = defineWriteTool({
  name: 'complete_goal',
  table: 'goals',
  description: 'Mark a goal as reached (progress 100%).',
  params: z.object({ goalId: z.string().min(1) }),
  async execute({ goalId }, context) {
    const goal = await context.get('goals', goalId);
    if (!goal) return { kind: 'stale', reason: `the goal ${goalId} no longer exists` };
    if (goal.progress >= 100)
      return { kind: 'stale', reason: `"${goal.title}" is already reached` };
    return {
      kind: 'edits',
      edits: [{ table: 'goals', rowId: goalId, fields: { progress: 100 } }],
      result: { table: 'goals', rowId: goalId },
    };
  },
});
