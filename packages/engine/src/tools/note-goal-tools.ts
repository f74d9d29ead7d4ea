import { z } from 'zod';
import { GoalSchema, NoteSchema } from '../model/domain.ts';
import { createdRowId, defineReadTool, defineWriteTool } from './tool.ts';

export const listNotes = defineReadTool({
  name: 'list_notes',
  description: "List the person's notes (titles and the start of each body).",
  params: z.object({ limit: z.number().int().min(1).max(200).default(50) }),
  async execute(params, context) {
    const notes = await context.list('notes');
    return notes
      .slice(0, params.limit)
      .map((note) => ({ id: note.id, title: note.title, excerpt: note.body.slice(0, 200) }));
  },
});

export const readNote = defineReadTool({
  name: 'read_note',
  description: 'Read one note in full by id.',
  params: z.object({ noteId: z.string().min(1) }),
  async execute(params, context) {
    const note = await context.get('notes', params.noteId);
    return note
      ? { id: note.id, title: note.title, body: note.body }
      : { error: `no note with id ${params.noteId}` };
  },
});

export const createNote = defineWriteTool({
  name: 'create_note',
  description: 'Create a new note.',
  params: NoteSchema.pick({ title: true, body: true }).partial({ body: true }),
  async execute(params, context) {
    const rowId = createdRowId(context.proposalId, 'notes');
    return {
      kind: 'edits',
      edits: [{ table: 'notes', rowId, fields: NoteSchema.parse(params) }],
      result: { table: 'notes', rowId },
    };
  },
});

export const appendNote = defineWriteTool({
  name: 'append_note',
  description: 'Append a paragraph to the end of an existing note.',
  params: z.object({ noteId: z.string().min(1), text: z.string().min(1).max(20_000) }),
  async execute(params, context) {
    const note = await context.get('notes', params.noteId);
    if (!note) return { kind: 'stale', reason: `the note ${params.noteId} no longer exists` };
    if (note.body.endsWith(params.text))
      return { kind: 'stale', reason: 'the note already ends with this text' };
    const body = note.body ? `${note.body}\n\n${params.text}` : params.text;
    return {
      kind: 'edits',
      edits: [{ table: 'notes', rowId: note.id, fields: { body } }],
      result: { table: 'notes', rowId: note.id },
    };
  },
});

export const listGoals = defineReadTool({
  name: 'list_goals',
  description: "List the person's goals with their progress (0-100).",
  params: z.object({}),
  async execute(_params, context) {
    const goals = await context.list('goals');
    return goals.map((goal) => ({
      id: goal.id,
      title: goal.title,
      target: goal.target,
      progress: goal.progress,
    }));
  },
});

export const createGoal = defineWriteTool({
  name: 'create_goal',
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
