import { z } from 'zod';

/** When a mission's slots fall. Slots come from the schedule alone, never from past runs. */
export const ScheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manual') }),
  z.object({
    kind: z.literal('interval'),
    /** Milliseconds between slots; at least one minute so a typo cannot flood the model. */
    everyMs: z
      .number()
      .int()
      .min(60_000)
      .max(366 * 24 * 3_600_000),
    /** Epoch ms of one slot; every other slot is anchor + k * everyMs. */
    anchor: z.number().int().nonnegative(),
  }),
  z.object({
    kind: z.literal('cron'),
    expr: z.string().trim().min(1, 'cron expression is required').max(200),
    /** IANA time zone, e.g. Europe/Berlin. */
    tz: z.string().min(1).max(64),
  }),
  z.object({ kind: z.literal('once'), at: z.number().int().nonnegative() }),
]);
export type Schedule = z.infer<typeof ScheduleSchema>;

export const CatchUpSchema = z.object({
  /** `latest` plans only the newest missed slot, `all` plans each, `none` skips all missed. */
  mode: z.enum(['latest', 'all', 'none']).default('latest'),
  /** A slot later than this is missed rather than due. Default: 6 hours. */
  maxLateMs: z
    .number()
    .int()
    .positive()
    .default(6 * 3_600_000),
});
export type CatchUp = z.infer<typeof CatchUpSchema>;
