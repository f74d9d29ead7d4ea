/**
 * The sync wire protocol (design §3), as zod schemas shared by the relay (which parses requests
 * and sends responses) and every client (which parses responses and live messages). One
 * definition, so both sides refuse the same things.
 */
import { z } from 'zod';
import { NodeIdSchema } from '../model/actor.ts';
import { storable } from '../model/json-value.ts';
import { ChangeSchema } from './change.ts';

export const maxPushChanges = 1_000;
export const maxPushBytes = 5 * 1024 * 1024;
export const maxPullLimit = 1_000;
/** A live poke carries a push's changes only up to this many, and about this much JSON. */
export const maxLiveChanges = 200;
export const maxLiveBytes = 256 * 1024;

/**
 * A relay cursor, opaque to clients: the relay issues `u` and the user's own sequence number
 * (plain numbers, from before each user had a sequence of their own, are still read).
 */
export const CursorSchema = z
  .string()
  .regex(/^u?\d{1,19}$/, 'must be a cursor returned by the relay')
  .refine(
    (cursor) =>
      !/^u?\d{1,19}$/.test(cursor) ||
      BigInt(cursor.replace(/^u/, '')) <= 9_223_372_036_854_775_807n,
    'must be a cursor returned by the relay (at most 9223372036854775807)',
  );

/**
 * `POST /v1/sync/push` body. The size limits (`maxPushChanges`, `maxPushBytes`) are checked before
 * this schema, since going over them is a 413, not an invalid body.
 */
export const PushRequestSchema = z
  .object({
    deviceId: NodeIdSchema,
    changes: z.array(ChangeSchema),
  })
  .superRefine((request, context) => {
    // A device pushes what it made: a change naming another device is not its to send.
    request.changes.forEach((change, index) => {
      if (change.deviceId !== request.deviceId)
        context.addIssue({
          code: 'custom',
          path: ['changes', index, 'deviceId'],
          message: `must be the pushing device's id (${request.deviceId})`,
        });
    });
  });

/**
 * `POST /v1/sync/push` answer: how many were new, how many seen before, the newest cursor. When
 * every pushed change was new, `since` is the user's cursor just before them: the log's entries
 * after `since` up to `cursor` are this push's changes, in order (docs/decisions/0017).
 */
export const PushResponseSchema = z.object({
  accepted: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
  cursor: CursorSchema,
  since: CursorSchema.optional(),
});

/** `GET /v1/sync/pull` query. No `since` means from the beginning. */
export const PullQuerySchema = z.object({
  since: CursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(maxPullLimit).default(500),
});

/**
 * `GET /v1/sync/pull` answer: changes in commit order; follow `cursor` while `more`. Each change
 * is validated one by one when it is applied (`engine.applyRemote` refuses a bad one and keeps the
 * rest), so one change this replica cannot read never stops its sync.
 */
export const PullResponseSchema = z.object({
  changes: z.array(z.record(z.string(), z.unknown())),
  cursor: CursorSchema,
  more: z.boolean(),
});

/** Who may hold a claim: a device id or a relay instance (plus a per-process suffix). */
export const ClaimHolderSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must match [A-Za-z0-9_.:-]{1,64}');

/** An iteration id as a claim names it (`missionId@slotIso`; checked as text only). */
export const ClaimIterationIdSchema = z
  .string()
  .min(1)
  .max(400)
  .refine((text) => !text.includes('\u0000'), 'must not contain the character U+0000');

/** `POST /v1/claims` body. */
const ClaimRequestObjectSchema = z.object({
  iterationId: ClaimIterationIdSchema,
  ttlMs: z.number().int().min(1_000).max(3_600_000),
  /** The runner's clock (epoch ms); one far ahead of the relay's is refused. */
  now: z.number().int().nonnegative().optional(),
  holder: ClaimHolderSchema,
  /** A person's "Retry" of a failed iteration (see `Claims.claim`). */
  retry: z.boolean().optional(),
});
export const ClaimRequestSchema = storable(ClaimRequestObjectSchema);

/**
 * `GET /v1/me`: who the token belongs to, and the relay's own model (`configured: false` when it
 * has none, so no run can use it; older relays leave `model` out).
 */
export const MeResponseSchema = z.object({
  userId: z.string().min(1),
  name: z.string(),
  model: z.object({ configured: z.boolean(), name: z.string().nullable() }).optional(),
});
export type MeResponse = z.infer<typeof MeResponseSchema>;

/** `POST /v1/claims` answer, 200 when granted and 409 when someone else holds it. */
export const ClaimResponseSchema = z.object({
  granted: z.boolean(),
  holder: z.string(),
  /** Epoch ms. */
  expiresAt: z.number(),
  /** On a 409: why (`held` by another holder, already `planned`, the `budget`), and in words. */
  refusal: z.enum(['held', 'planned', 'budget', 'clock']).optional(),
  reason: z.string().optional(),
});

/** What a device says about itself on the live connection, and what the relay reports back. */
export const DevicePresenceSchema = z.object({
  deviceId: NodeIdSchema,
  canPlan: z.boolean(),
  /** A name the person recognises ("Firefox on laptop"). */
  name: z.string().trim().max(64).optional(),
});

/**
 * What a client may send on `/v1/sync/live`. `hello.holder` names the engine host on this
 * connection as it claims (its claim holder): when the connection ends and the holder has not
 * come back within the relay's grace, the relay releases its live claims (a browser closed
 * mid-plan), so the slot is planned at once instead of when the lease would have run out.
 */
export const LiveClientMessageSchema = storable(
  z.discriminatedUnion('type', [
    DevicePresenceSchema.extend({
      type: z.literal('hello'),
      holder: ClaimHolderSchema.optional(),
    }),
    z.object({ type: z.literal('ping') }),
    /**
     * A small push sent on the live connection rather than as `POST /v1/sync/push` (decision
     * 0020): `push` is that request's body, checked by the relay as the route checks it, and
     * `request` names the `pushed` answer. The message, like every live message, is at most
     * `maxLivePushBytes` of JSON; a larger push goes over HTTP.
     */
    z.object({
      type: z.literal('push'),
      request: z.string().min(1).max(64),
      push: z.record(z.string(), z.unknown()),
    }),
  ]),
);

/** The largest live `push` message a client sends; the relay reads live messages up to 64 KiB. */
export const maxLivePushBytes = 60 * 1024;

/** Every error answer of the relay: `{error: {kind, message, field?}}`. */
export const ErrorBodySchema = z.object({
  error: z.object({
    kind: z.string(),
    message: z.string(),
    field: z.string().optional(),
  }),
});

/**
 * What the relay sends on `/v1/sync/live`. Presence comes as a whole list once, then as changes:
 * `status` answers a connection's first hello; after it, `device` and `device-left` say what
 * changed (see `applyPresence`), so a hello costs the user's other connections one small message
 * each, not the whole list. `covered` on each is the user's coverage after the change.
 */
export const LiveServerMessageSchema = z.discriminatedUnion('type', [
  /**
   * Something new was committed for this user: the log now ends at `cursor`; pull. After a small
   * push the poke carries what it appended: `changes` are every change after `since` up to
   * `cursor`, in commit order (at most `maxLiveChanges`, about `maxLiveBytes` of JSON). A device
   * whose stored cursor is exactly `since` may apply them and store `cursor` without a pull
   * (`applyLiveChanges`); any other device pulls as before. Clients that know only
   * `{type, cursor}` ignore the two fields and pull.
   */
  z.object({
    type: z.literal('poke'),
    cursor: CursorSchema,
    since: CursorSchema.optional(),
    changes: z.array(z.record(z.string(), z.unknown())).max(maxLiveChanges).optional(),
  }),
  /** All the user's connected devices (sorted by id); `covered` when one of them can plan. */
  z.object({
    type: z.literal('status'),
    devices: z.array(DevicePresenceSchema),
    covered: z.boolean(),
  }),
  /** A device joined, or changed what it says (`canPlan`, `name`): it replaces its entry. */
  z.object({ type: z.literal('device'), device: DevicePresenceSchema, covered: z.boolean() }),
  /** A device has no live connection left. */
  z.object({ type: z.literal('device-left'), deviceId: NodeIdSchema, covered: z.boolean() }),
  z.object({ type: z.literal('pong') }),
  /**
   * The answer to a live `push`: the status and body `POST /v1/sync/push` gives for the same
   * request (a `PushResponse` on 200, an `ErrorBody` otherwise).
   */
  z.object({
    type: z.literal('pushed'),
    request: z.string(),
    status: z.number().int(),
    body: z.unknown(),
  }),
  z.object({ type: z.literal('error'), error: ErrorBodySchema.shape.error }),
]);

export type PushRequest = z.infer<typeof PushRequestSchema>;
export type PushResponse = z.infer<typeof PushResponseSchema>;
export type PullResponse = z.infer<typeof PullResponseSchema>;
export type ClaimRequest = z.infer<typeof ClaimRequestSchema>;
export type ClaimResponse = z.infer<typeof ClaimResponseSchema>;
export type DevicePresence = z.infer<typeof DevicePresenceSchema>;
export type LiveClientMessage = z.infer<typeof LiveClientMessageSchema>;
export type LiveServerMessage = z.infer<typeof LiveServerMessageSchema>;
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
