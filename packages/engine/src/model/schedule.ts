import { z } from 'zod';
import { cronProblem, isTimeZone } from '../schedule/zones.ts';

/** An IANA time zone name this runtime knows, e.g. `Europe/Berlin`. */
export const TimeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(isTimeZone, { error: (issue) => `unknown time zone: ${String(issue.input)}` });

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
  z
    .object({
      kind: z.literal('cron'),
      expr: z.string().trim().min(1, 'cron expression is required').max(200),
      /** IANA time zone, e.g. Europe/Berlin. */
      tz: TimeZoneSchema,
    })
    // A bad expression is refused where it enters (a form, a synced change), not at every tick.
    .superRefine((schedule, context) => {
      if (!isTimeZone(schedule.tz)) return;
      const problem = cronProblem(schedule.expr, schedule.tz);
      if (problem)
        context.addIssue({
          code: 'custom',
          path: ['expr'],
          message: `invalid cron expression "${schedule.expr}": ${problem}`,
        });
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
