import { NodeIdSchema } from '@baton/engine';
import { z } from 'zod';

/** What a client may send on `/v1/sync/live`. */
export const LiveClientMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hello'),
    deviceId: NodeIdSchema,
    canPlan: z.boolean(),
    /** A name the person recognises ("Firefox on laptop"), kept in `devices`. */
    name: z.string().trim().max(64).optional(),
  }),
  z.object({ type: z.literal('ping') }),
]);
export type LiveClientMessage = z.infer<typeof LiveClientMessageSchema>;
