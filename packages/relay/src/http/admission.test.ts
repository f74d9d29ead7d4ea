import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { admission } from './admission.ts';
import type { AppEnv } from './app-env.ts';

/** An app whose one route waits until the test lets it go, so requests stay in flight. */
function appWithGate(limits: { total: number; perUser: number }) {
  const gates: Array<() => void> = [];
  const app = new Hono<AppEnv>();
  const shed = admission(limits, { skip: (path) => path === '/live' });
  app.use('*', shed.relay);
  // Authentication; a user named `slow-auth` waits in it until let go (a token lookup queued).
  app.use('*', async (context, next) => {
    const user = context.req.header('x-user') ?? 'alice';
    if (user === 'slow-auth') await new Promise<void>((resolve) => gates.push(resolve));
    context.set('user', { id: user, name: user } as never);
    await next();
  });
  app.use('*', shed.user);
  app.get('/slow', async (context) => {
    await new Promise<void>((resolve) => gates.push(resolve));
    return context.json({ ok: true });
  });
  app.get('/live', (context) => context.json({ live: true }));
  const call = (user: string, path = '/slow') =>
    Promise.resolve(app.request(path, { headers: { 'x-user': user } }));
  const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
  return { call, gates, settle };
}

describe('admission (load shedding)', () => {
  it("answers a user's request past their share at once with 429 and Retry-After, leaving others served", async () => {
    const { call, gates, settle } = appWithGate({ total: 10, perUser: 2 });
    const held = [call('alice'), call('alice')];
    await settle();
    const third = await call('alice');
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(await third.json()).toMatchObject({ error: { kind: 'unavailable' } });
    // Bob is not held back by Alice's flood.
    const bob = call('bob');
    await settle();
    expect(gates).toHaveLength(3);
    for (const open of gates.splice(0)) open();
    expect((await bob).status).toBe(200);
    expect((await Promise.all(held)).map((answer) => answer.status)).toEqual([200, 200]);
    // Once her requests are done, Alice is served again.
    const again = call('alice');
    await settle();
    gates.splice(0).forEach((open) => open());
    expect((await again).status).toBe(200);
  });

  it('counts requests still being authenticated against the relay-wide limit', async () => {
    const { call, gates, settle } = appWithGate({ total: 2, perUser: 2 });
    const held = [call('slow-auth', '/live'), call('slow-auth'), call('slow-auth')];
    await settle();
    expect(gates).toHaveLength(3);
    const bob = await call('bob');
    expect(bob.status).toBe(503);
    gates.splice(0).forEach((open) => open());
    await settle();
    gates.splice(0).forEach((open) => open());
    expect((await Promise.all(held)).map((answer) => answer.status)).toEqual([200, 200, 200]);
  });

  it('answers past the relay-wide limit with 503, and never counts skipped paths', async () => {
    const { call, gates, settle } = appWithGate({ total: 2, perUser: 2 });
    const held = [call('alice'), call('bob')];
    await settle();
    const carol = await call('carol');
    expect(carol.status).toBe(503);
    expect(carol.headers.get('retry-after')).toBe('1');
    expect((await call('carol', '/live')).status).toBe(200);
    gates.splice(0).forEach((open) => open());
    await Promise.all(held);
  });
});
