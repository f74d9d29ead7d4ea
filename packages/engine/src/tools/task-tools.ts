import { z } from 'zod';
import { TaskSchema } from '../model/domain.ts';
import type { RowOf } from '../model/read-row.ts';
import { createdRowId, defineReadTool, defineWriteTool } from './tool.ts';

/** The compact view of a task the model sees. */
function compactTask(task: RowOf<'tasks'>) {
  return {
    id: task.id,
    title: task.title,
    due: task.due,
    priority: task.priority,
    done: task.done,
    ...(task.notes ? { notes: task.notes.slice(0, 300) } : {}),
  };
}

export const listTasks = defineReadTool({
  name: 'list_tasks',
  table: 'tasks',
  description: "List the person's tasks. filter: open (not done, default), done, or all.",
  params: z.object({
    filter: z.enum(['open', 'done', 'all']).default('open'),
    limit: z.number().int().min(1).max(200).default(50),
  }),
  async execute(params, context) {
    const tasks = await context.list('tasks');
    return tasks
      .filter((task) => params.filter === 'all' || task.done === (params.filter === 'done'))
      .slice(0, params.limit)
      .map(compactTask);
  },
});

export const searchTasks = defineReadTool({
  name: 'search_tasks',
  table: 'tasks',
  description: 'Find tasks whose title or notes contain the query (case-insensitive).',
  params: z.object({ query: z.string().min(1).max(200) }),
  async execute(params, context) {
    const needle = params.query.toLowerCase();
    const tasks = await context.list('tasks');
    return tasks
      .filter((task) => `${task.title}\n${task.notes}`.toLowerCase().includes(needle))
      .slice(0, 50)
      .map(compactTask);
  },
});

export const getTask = defineReadTool({
  name: 'get_task',
  table: 'tasks',
  description: 'Read one task by id.',
  params: z.object({ taskId: z.string().min(1) }),
  async execute(params, context) {
    const task = await context.get('tasks', params.taskId);
    return task ? compactTask(task) : { error: `no task with id ${params.taskId}` };
  },
});

export const createTask = defineWriteTool({
  name: 'create_task',
  table: 'tasks',
  description: 'Create a new task for the person.',
  params: TaskSchema.pick({ title: true, notes: true, due: true, priority: true }).partial({
    notes: true,
    due: true,
    priority: true,
  }),
  async execute(params, context) {
    const rowId = createdRowId(context.proposalId, 'tasks');
    const fields = TaskSchema.parse({ ...params, done: false });
    return {
      kind: 'edits',
      edits: [{ table: 'tasks', rowId, fields }],
      result: { table: 'tasks', rowId },
    };
  },
});

const TaskPatchSchema = z.object({
  taskId: z.string().min(1),
  title: TaskSchema.shape.title.optional(),
  notes: z.string().max(20_000).optional(),
  due: TaskSchema.shape.due.optional(),
  priority: z.enum(['low', 'normal', 'high']).optional(),
});

export const updateTask = defineWriteTool({
  name: 'update_task',
  table: 'tasks',
  description: 'Change the title, notes, due date or priority of an existing task.',
  params: TaskPatchSchema,
  async execute({ taskId, ...patch }, context) {
    const task = await context.get('tasks', taskId);
    if (!task) return { kind: 'stale', reason: `the task ${taskId} no longer exists` };
    const fields = Object.fromEntries(
      Object.entries(patch).filter(
        ([name, value]) => value !== undefined && task[name as keyof typeof task] !== value,
      ),
    );
    if (Object.keys(fields).length === 0)
      return { kind: 'stale', reason: 'the task already has these values' };
    return {
      kind: 'edits',
      edits: [{ table: 'tasks', rowId: taskId, fields }],
      result: { table: 'tasks', rowId: taskId },
    };
  },
});

export const completeTask = defineWriteTool({
  name: 'complete_task',
  table: 'tasks',
  description: 'Mark a task as done.',
  params: z.object({ taskId: z.string().min(1) }),
  async execute({ taskId }, context) {
    const task = await context.get('tasks', taskId);
    if (!task) return { kind: 'stale', reason: `the task ${taskId} no longer exists` };
    if (task.done) return { kind: 'stale', reason: `"${task.title}" is already done` };
    return {
      kind: 'edits',
      edits: [{ table: 'tasks', rowId: taskId, fields: { done: true } }],
      result: { table: 'tasks', rowId: taskId },
    };
  },
});
