/**
 * The admin commands against a real relay process, on PGlite (through the relay's admin
 * endpoint: one process per data folder) and on PostgreSQL (on the database, the relay hearing
 * of revocations through NOTIFY): a new user signs in at once, a revoked token is refused at once
 * with its live connections closed, rotate, list with last use, and the wrong database refused.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { adminFilePath, processRuns, readAdminFile } from '../admin/admin-file.ts';
import { UserListSchema } from '../admin/admin-schemas.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { connectLive, type LiveClient } from '../testing/live-client.ts';
import { relayProcessEnv, startRelayProcess, type RelayProcess } from '../testing/relay-process.ts';
import { runCli } from './run-cli.ts';

const firstToken = 'first-token-0123456789abcdef';

/** Runs one command as `npm run relay -- …` would, with exactly this environment. */
async function cli(env: Record<string, string>, ...args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli({
    args,
    env,
    out: (text) => (out += text),
    err: (text) => (err += text),
  });
  return { code, out, err };
}

const secretOf = (out: string) => /(baton_\S+)/.exec(out)?.[1] ?? '';
const tokenIdOf = (out: string) => /(tok_[0-9a-f]{16})/.exec(out)?.[1] ?? '';

async function me(relay: RelayProcess, token: string): Promise<number> {
  const response = await fetch(`${relay.url}/v1/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return response.status;
}

describeOnEachDatabase('admin commands while the relay runs', (kind) => {
  let relay: RelayProcess;
  let env: Record<string, string>;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    const relayEnv = await relayProcessEnv(kind, {
      BATON_FIRST_TOKEN: firstToken,
      PORT: '0',
      USER_NAME: 'ada',
    });
    // A fresh PGlite folder runs initdb: on a busy machine that takes far more than the usual 30 s.
    relay = await startRelayProcess({ env: relayEnv, timeoutMs: 90_000 });
    // The CLI gets the relay's settings (not the test process's environment).
    env = { PORT: new URL(relay.url).port };
    if (relayEnv.DATA_DIR) env.DATA_DIR = relayEnv.DATA_DIR;
    if (relayEnv.DATABASE_URL) env.DATABASE_URL = relayEnv.DATABASE_URL;
  }, 120_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await relay?.stop();
    if (env?.DATA_DIR) rmSync(env.DATA_DIR, { recursive: true, force: true });
  });

  it('names the first user USER_NAME in the start output', () => {
    expect(relay.output()).toContain('A first user, "ada", was created');
  });

  it('says, on a new PGlite folder only, that it is creating the database before it is ready', () => {
    const creating = relay.output().indexOf('Creating the database in');
    if (kind === 'postgres') expect(creating).toBe(-1);
    else {
      expect(relay.output()).toContain(`Creating the database in ${env.DATA_DIR} (first start`);
      expect(creating).toBeLessThan(relay.output().indexOf('Baton relay ready at'));
    }
  });

  it('adds a user whose token the running relay accepts at once, and says where it acted', async () => {
    const added = await cli(env, 'user', 'add', 'bob');
    expect(added.code, added.err).toBe(0);
    expect(added.err).toContain(kind === 'pglite' ? `PGlite in ${env.DATA_DIR}` : 'PostgreSQL at');
    const response = await fetch(`${relay.url}/v1/me`, {
      headers: { authorization: `Bearer ${secretOf(added.out)}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ name: 'bob' });

    const again = await cli(env, 'user', 'add', 'bob');
    expect(again.code).toBe(1);
    expect(again.err).toContain('already exists');
  });

  it('revokes a token: refused at once, its live connection closed, the user’s other token kept', async () => {
    const kept = await cli(env, 'token', 'add', 'ada', '--name', 'laptop');
    const doomed = await cli(env, 'token', 'add', 'ada', '--name', 'phone');
    expect(doomed.code, doomed.err).toBe(0);
    const keptLive = await connectLive({ url: relay.url, token: secretOf(kept.out) });
    const doomedLive = await connectLive({ url: relay.url, token: secretOf(doomed.out) });
    clients.push(keptLive, doomedLive);
    doomedLive.send({ type: 'hello', deviceId: 'dev_phone', canPlan: true });
    await doomedLive.next((message) => message.type === 'status');

    const revoked = await cli(env, 'token', 'revoke', tokenIdOf(doomed.out));
    expect(revoked.code, revoked.err).toBe(0);
    expect(await me(relay, secretOf(doomed.out))).toBe(401);
    const closed = await Promise.race([
      doomedLive.closed,
      new Promise((resolve) => setTimeout(() => resolve('still open'), 3_000)),
    ]);
    expect(closed).toMatchObject({ code: 4001 });
    await expect(connectLive({ url: relay.url, token: secretOf(doomed.out) })).rejects.toThrow(
      '401',
    );

    expect(await me(relay, secretOf(kept.out))).toBe(200);
    keptLive.send({ type: 'ping' });
    await keptLive.next((message) => message.type === 'pong');

    const unknown = await cli(env, 'token', 'revoke', tokenIdOf(doomed.out));
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('No token');
  });

  it('rotates a token: the new secret signs in, the old one is refused and its connection closed', async () => {
    const added = await cli(env, 'token', 'add', 'ada');
    const live = await connectLive({ url: relay.url, token: secretOf(added.out) });
    clients.push(live);
    const rotated = await cli(env, 'token', 'rotate', tokenIdOf(added.out));
    expect(rotated.code, rotated.err).toBe(0);
    expect(tokenIdOf(rotated.out)).toBe(tokenIdOf(added.out));
    expect(secretOf(rotated.out)).not.toBe(secretOf(added.out));
    expect(await me(relay, secretOf(added.out))).toBe(401);
    expect(await me(relay, secretOf(rotated.out))).toBe(200);
    expect(await live.closed).toMatchObject({ code: 4001 });
  });

  it('lists users with each token’s id, label and last use, never a secret', async () => {
    const added = await cli(env, 'user', 'add', 'carol', '--token-name', 'desk');
    const unused = await cli(env, 'token', 'add', 'carol', '--name', 'spare');
    const before = Date.now();
    expect(await me(relay, secretOf(added.out))).toBe(200);

    const listed = await cli(env, 'user', 'list', '--json');
    expect(listed.code, listed.err).toBe(0);
    const { users } = UserListSchema.parse(JSON.parse(listed.out));
    const carol = users.find((user) => user.name === 'carol');
    expect(carol?.tokens.map((token) => token.name)).toEqual(['desk', 'spare']);
    const [desk, spare] = carol!.tokens;
    expect(desk!.id).toBe(tokenIdOf(added.out));
    expect(desk!.lastUsedAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(spare!.id).toBe(tokenIdOf(unused.out));
    expect(spare!.lastUsedAt).toBeNull();
    expect(users[0]?.name).toBe('ada');

    const text = await cli(env, 'user', 'list');
    expect(text.out).toMatch(new RegExp(`${desk!.id}\\s+desk\\s+created .*last used \\d{4}-`));
    expect(text.out).toMatch(new RegExp(`${spare!.id}\\s+spare\\s+created .*last used never`));
    expect(text.out + listed.out).not.toContain('baton_');
    expect(text.out + listed.out).not.toContain(firstToken);
  });

  it('refuses a database other than the running relay’s, naming both', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'baton-other-'));
    try {
      const other = await cli({ PORT: env.PORT!, DATA_DIR: otherDir }, 'user', 'add', 'mallory');
      expect(other.code).toBe(1);
      expect(other.err).toContain(`this command would use PGlite in ${otherDir}`);
      expect(other.err).toContain(
        kind === 'pglite' ? `uses PGlite in ${env.DATA_DIR}` : 'uses PostgreSQL at',
      );
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
    const listed = await cli(env, 'user', 'list');
    expect(listed.out).not.toContain('mallory');
  });

  if (kind === 'pglite') {
    it('keeps the admin secret in DATA_DIR, readable by its owner only, and the endpoint on loopback with it', async () => {
      expect(statSync(adminFilePath(env.DATA_DIR!)).mode & 0o777).toBe(0o600);
      const noSecret = await fetch(`${relay.url.replace('localhost', '127.0.0.1')}/admin/v1/users`);
      expect(noSecret.status).toBe(401);
      const proxied = await fetch(`${relay.url}/admin/v1/users`, {
        headers: { 'x-forwarded-for': '203.0.113.9' },
      });
      expect(proxied.status).toBe(404);
      const badBody = await fetch(`${relay.url}/admin/v1/users`, { method: 'POST', body: '{}' });
      expect(badBody.status).toBe(401);
    });

    it('refuses to start a second relay on the data folder', async () => {
      await expect(
        startRelayProcess({ env: { DATA_DIR: env.DATA_DIR!, PORT: '0' }, timeoutMs: 30_000 }),
      ).rejects.toThrow(`another relay (pid ${relay.pid}`);
    });
  }
});

describeOnEachDatabase('admin commands with no relay running', (kind) => {
  it('acts on the database directly, and says so', async () => {
    const relayEnv = await relayProcessEnv(kind, { PORT: '0', USER_NAME: 'ada' });
    // A relay ran once (it made the database) and stopped.
    const relay = await startRelayProcess({ env: relayEnv, timeoutMs: 90_000 });
    await relay.stop();
    if (relayEnv.DATA_DIR) expect(relay.output()).toContain('Creating the database in');
    const env: Record<string, string> = { PORT: '0' };
    if (relayEnv.DATA_DIR) env.DATA_DIR = relayEnv.DATA_DIR;
    if (relayEnv.DATABASE_URL) env.DATABASE_URL = relayEnv.DATABASE_URL;
    try {
      // The stopped relay removes its admin file on exit; one left behind (a kill, or a lost
      // exit handler) must name a process that no longer runs, so the CLI does not use it.
      if (env.DATA_DIR) {
        const left = readAdminFile(env.DATA_DIR);
        if (left) expect(processRuns(left.pid)).toBe(false);
      }
      const added = await cli(env, 'user', 'add', 'bob');
      expect(added.code, added.err).toBe(0);
      expect(added.err).toContain('acting on the database directly');
      const listed = await cli(env, 'user', 'list');
      expect(listed.out).toMatch(/^ada .*\n.*\nbob /);
      // Started again on its folder: the database is there, so nothing is said of creating it.
      const again = await startRelayProcess({ env: relayEnv, timeoutMs: 90_000 });
      await again.stop();
      expect(again.output()).toContain('Baton relay ready at');
      expect(again.output()).not.toContain('Creating the database');
    } finally {
      if (env.DATA_DIR) rmSync(env.DATA_DIR, { recursive: true, force: true });
    }
    // A relay process, then PGlite opened twice in this one: each runs recovery on a busy machine.
  }, 120_000);
});
