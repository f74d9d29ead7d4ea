import { describe, expect, it } from 'vitest';
import { LiveServerMessageSchema, PullResponseSchema, PushRequestSchema } from './protocol.ts';

const change = {
  id: '01JD0000000000000000000000',
  table: 'tasks',
  rowId: 't1',
  fields: { title: 'Buy milk' },
  hlc: '001795545100000-000003-dev_7f3a',
  actor: { kind: 'user', deviceId: 'dev_7f3a' },
  deviceId: 'dev_7f3a',
};

describe('sync protocol', () => {
  it('accepts the design example of a push and names the failing path of a bad one', () => {
    expect(PushRequestSchema.safeParse({ deviceId: 'dev_7f3a', changes: [change] }).success).toBe(
      true,
    );
    const bad = PushRequestSchema.safeParse({
      deviceId: 'dev_7f3a',
      changes: [{ ...change, hlc: 'yesterday' }],
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['changes', 0, 'hlc']);
  });

  it('refuses a pull page that is not one, but leaves each change to be checked on apply', () => {
    expect(
      PullResponseSchema.safeParse({ changes: [change], cursor: '42', more: false }).success,
    ).toBe(true);
    // A change this replica cannot read is refused by applyRemote alone; the page still reads.
    expect(PullResponseSchema.safeParse({ changes: [{}], cursor: '42', more: false }).success).toBe(
      true,
    );
    expect(PullResponseSchema.safeParse({ changes: [1], cursor: '42', more: false }).success).toBe(
      false,
    );
    expect(PullResponseSchema.safeParse({ changes: [], cursor: 'x', more: false }).success).toBe(
      false,
    );
  });

  it('reads the live messages the relay sends and refuses unknown ones', () => {
    expect(LiveServerMessageSchema.parse({ type: 'poke', cursor: '7' })).toEqual({
      type: 'poke',
      cursor: '7',
    });
    const status = LiveServerMessageSchema.parse({
      type: 'status',
      devices: [{ deviceId: 'dev_a', canPlan: true, name: 'Laptop' }],
      covered: true,
    });
    expect(status).toMatchObject({ covered: true });
    expect(LiveServerMessageSchema.safeParse({ type: 'shout' }).success).toBe(false);
  });
});
