import { z } from 'zod';
import { CatchUpSchema, ScheduleSchema, TimeZoneSchema } from './schedule.ts';

export const ToolPolicySchema = z.enum(['auto', 'propose', 'deny']);
export type ToolPolicy = z.infer<typeof ToolPolicySchema>;

export const MissionInputSchema = z.object({
  table: z.enum(['tasks', 'notes', 'goals']),
  /** `open` = tasks not done; `all` = every row. */
  where: z.enum(['open', 'all']).default('all'),
  limit: z.number().int().positive().max(200).default(50),
});
export type MissionInput = z.infer<typeof MissionInputSchema>;

export const BudgetSchema = z.object({
  maxRunsPerDay: z.number().int().positive().max(10_000).default(24),
  maxTokensPerDay: z.number().int().positive().default(200_000),
});
export type Budget = z.infer<typeof BudgetSchema>;

/** The fields of a mission row (every synced row also has an id and per-field stamps). */
export const MissionSchema = z.object({
  title: z.string().trim().min(1, 'title is required').max(200),
  objective: z.string().trim().min(1, 'objective is required').max(4_000),
  context: z.string().max(20_000).default(''),
  schedule: ScheduleSchema,
  catchUp: CatchUpSchema.default({ mode: 'latest', maxLateMs: 6 * 3_600_000 }),
  state: z.enum(['active', 'paused', 'done', 'archived']).default('active'),
  /** Why the mission is paused when the engine paused it (budget), shown to the person. */
  pausedReason: z.string().max(500).nullable().default(null),
  runOn: z.enum(['any', 'device', 'relay']).default('any'),
  inputs: z.array(MissionInputSchema).max(10).default([]),
  /** Allowed tool names with their policy; a tool not listed is denied. */
  tools: z.record(z.string(), ToolPolicySchema).default({}),
  budget: BudgetSchema.default({ maxRunsPerDay: 24, maxTokensPerDay: 200_000 }),
  model: z.string().max(200).nullable().default(null),
  /** IANA zone the planner is told "now" in. */
  timeZone: TimeZoneSchema.default('UTC'),
});
export type Mission = z.infer<typeof MissionSchema> & { id: string };
export type MissionDraft = z.input<typeof MissionSchema>;
