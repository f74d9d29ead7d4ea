import { z } from 'zod';

/** The person's own data that missions work on. */
export const TaskSchema = z.object({
  title: z.string().trim().min(1, 'title is required').max(500),
  notes: z.string().max(20_000).default(''),
  /** ISO date (YYYY-MM-DD) or null. */
  due: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'due must be YYYY-MM-DD')
    .nullable()
    .default(null),
  priority: z.enum(['low', 'normal', 'high']).default('normal'),
  done: z.boolean().default(false),
});
export type Task = z.infer<typeof TaskSchema> & { id: string };

export const NoteSchema = z.object({
  title: z.string().trim().min(1, 'title is required').max(500),
  body: z.string().max(100_000).default(''),
});
export type Note = z.infer<typeof NoteSchema> & { id: string };

export const GoalSchema = z.object({
  title: z.string().trim().min(1, 'title is required').max(500),
  target: z.string().max(2_000).default(''),
  /** 0..100 percent. */
  progress: z.number().min(0).max(100).default(0),
});
export type Goal = z.infer<typeof GoalSchema> & { id: string };
