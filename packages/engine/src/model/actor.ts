import { z } from 'zod';

/** Node ids name a replica inside HLC stamps and actors: `[A-Za-z0-9_.:]{1,64}`. */
export const NodeIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:]{1,64}$/, 'must match [A-Za-z0-9_.:]{1,64}');

/** Who made a change: the person on a device, the AI through one proposal, or the system. */
export const ActorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('user'), deviceId: NodeIdSchema }),
  z.object({
    kind: z.literal('ai'),
    missionId: z.string().min(1),
    iterationId: z.string().min(1),
    proposalId: z.string().min(1),
  }),
  z.object({ kind: z.literal('system'), source: z.string().min(1).max(64) }),
]);
export type Actor = z.infer<typeof ActorSchema>;
