/**
 * `npm run relay -- backup` / `restore` against real relay processes: a backup of a running
 * PGlite relay (through its admin endpoint) restored into PostgreSQL, and a backup of that
 * PostgreSQL restored into a new PGlite folder; each restored relay serves the same pull to the
 * same token, and numbers new changes after the restored log.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { describeOn } from '../testing/describe-on-database.ts';
import { relayProcessEnv, startRelayProcess, type RelayProcess } from '../testing/relay-process.ts';
import { createChangeFactory } from '../testing/test-relay.ts';

const token = 'backup-token-0123456789abcdef';

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

async function api(relay: RelayProcess, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${relay.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, path).toBe(200);
  return response.json();
}

const pull = (relay: RelayProcess, since?: string) =>
  api(relay, `/v1/sync/pull?limit=1000${since ? `&since=${since}` : ''}`) as Promise<{
    changes: Array<{ id: string }>;
    cursor: string;
    more: boolean;
  }>;

describe('backup and restore on the command line', () => {
  it('explains itself, and needs exactly one FILE', async () => {
    const help = await cli({}, 'backup', '--help');
    expect(help).toMatchObject({ code: 0 });
    expect(help.out).toMatch(/^usage: npm run relay -- backup FILE \[--force\]/);
    expect((await cli({}, 'help', 'restore')).out).toMatch(/refuses a database that holds rows/);
    expect((await cli({}, '--help')).out).toMatch(/restore FILE \[--force\]\s+load a backup/);
    const usage = await cli({}, 'restore');
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/^usage: npm run relay -- restore FILE/);
    expect((await cli({}, 'backup', 'a.jsonl', 'b.jsonl')).code).toBe(2);
    const missing = await cli(
      { DATA_DIR: join(tmpdir(), 'baton-no-such-folder'), PORT: '0' },
      'restore',
      join(tmpdir(), 'baton-no-such-file.jsonl'),
    );
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.err).toMatch(/There is no file/);
  });
});

describeOn('postgres', 'backup and restore between PGlite and PostgreSQL', () => {
  const folder = mkdtempSync(join(tmpdir(), 'baton-backup-'));
  const relays: RelayProcess[] = [];
  let pgliteDir = '';
  let databaseUrl = '';

  async function start(env: Record<string, string>, timeoutMs = 90_000): Promise<RelayProcess> {
    const relay = await startRelayProcess({ env: { ...env, PORT: '0' }, timeoutMs });
    relays.push(relay);
    return relay;
  }

  beforeAll(async () => {
    pgliteDir = (await relayProcessEnv('pglite', {})).DATA_DIR!;
    databaseUrl = (await relayProcessEnv('postgres', {})).DATABASE_URL!;
  }, 60_000);

  afterAll(async () => {
    for (const relay of relays) await relay.stop();
    rmSync(folder, { recursive: true, force: true });
    rmSync(pgliteDir, { recursive: true, force: true });
  });

  it('restores a running PGlite relay into PostgreSQL, and that into a new PGlite folder', async () => {
    const first = await start({ DATA_DIR: pgliteDir, BATON_FIRST_TOKEN: token, USER_NAME: 'ada' });
    const change = createChangeFactory({ wallMs: Date.now() - 60_000 });
    await api(first, '/v1/sync/push', {
      deviceId: 'dev_a',
      changes: [change('task_1'), change('task_2', { title: 'Water the plants', done: true })],
    });
    await api(first, '/v1/sync/push', {
      deviceId: 'dev_a',
      changes: [change('task_1', { title: 'Renamed' })],
    });
    const original = await pull(first);
    expect(original.changes).toHaveLength(3);

    // Backup while the PGlite relay runs: through its admin endpoint.
    const fromPglite = join(folder, 'pglite.jsonl');
    const backup = await cli(
      { DATA_DIR: pgliteDir, PORT: new URL(first.url).port },
      'backup',
      fromPglite,
    );
    expect(backup.err).toMatch(/Using the relay at http:\/\/127.0.0.1:\d+ \(pid \d+\)/);
    expect(backup.code, backup.err).toBe(0);
    expect(backup.out).toMatch(/Backed up \d+ rows \(users 1, change_ids 3, change_pages 2,/);
    expect(await cli({ DATA_DIR: pgliteDir, PORT: '0' }, 'backup', fromPglite)).toMatchObject({
      code: 1,
    });

    // Restore refuses the folder the relay holds, and a cut-short file.
    const underRelay = await cli({ DATA_DIR: pgliteDir, PORT: '0' }, 'restore', fromPglite);
    expect(underRelay).toMatchObject({ code: 1 });
    expect(underRelay.err).toMatch(/holds PGlite in .*Stop it, restore/);
    const cut = join(folder, 'cut.jsonl');
    writeFileSync(cut, readFileSync(fromPglite, 'utf8').split('\n').slice(0, 3).join('\n'));
    const refusedCut = await cli({ DATABASE_URL: databaseUrl, PORT: '0' }, 'restore', cut);
    expect(refusedCut).toMatchObject({ code: 1 });
    expect(refusedCut.err).toMatch(/without its end line: it is cut short/);

    const restored = await cli({ DATABASE_URL: databaseUrl, PORT: '0' }, 'restore', fromPglite);
    expect(restored.code, restored.err).toBe(0);
    expect(restored.out).toMatch(/Restored \d+ rows .*a pglite backup/);
    const again = await cli({ DATABASE_URL: databaseUrl, PORT: '0' }, 'restore', fromPglite);
    expect(again).toMatchObject({ code: 1 });
    expect(again.err).toMatch(/not empty: .*users \(1\).*--force/);
    expect(
      await cli({ DATABASE_URL: databaseUrl, PORT: '0' }, 'restore', fromPglite, '--force'),
    ).toMatchObject({ code: 0 });

    // The PostgreSQL relay serves the same pull to the same token, and goes on after it.
    const onPostgres = await start(
      { DATABASE_URL: databaseUrl, BATON_FIRST_TOKEN: token, USER_NAME: 'ada' },
      30_000,
    );
    expect(await pull(onPostgres)).toEqual(original);
    await api(onPostgres, '/v1/sync/push', { deviceId: 'dev_a', changes: [change('task_3')] });
    const next = await pull(onPostgres, original.cursor);
    expect(next.changes.map((each) => each.id)).toHaveLength(1);
    const whole = await pull(onPostgres);
    expect(whole.changes).toHaveLength(4);
    await onPostgres.stop();

    // The other way: PostgreSQL (no relay running) into a folder that does not exist yet.
    const fromPostgres = join(folder, 'postgres.jsonl');
    expect(
      await cli({ DATABASE_URL: databaseUrl, PORT: '0' }, 'backup', fromPostgres),
    ).toMatchObject({ code: 0 });
    const newDir = join(folder, 'restored-data');
    const intoPglite = await cli({ DATA_DIR: newDir, PORT: '0' }, 'restore', fromPostgres);
    expect(intoPglite.code, intoPglite.err).toBe(0);
    const onPglite = await start({ DATA_DIR: newDir, BATON_FIRST_TOKEN: token, USER_NAME: 'ada' });
    expect(await pull(onPglite)).toEqual(whole);
    expect(await api(onPglite, '/v1/me')).toMatchObject({ name: 'ada' });
  }, 300_000);
});
