import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, signIn, test, type Relay } from '../fixtures.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The token this device keeps in IndexedDB (the `baton` database's `meta` table), if any. */
async function storedToken(page: Page): Promise<unknown> {
  return page.evaluate(
    () =>
      new Promise((resolveValue, reject) => {
        const request = indexedDB.open('baton');
        request.onerror = () => reject(request.error);
        request.onsuccess = () => {
          const get = request.result.transaction('meta').objectStore('meta').get('token');
          get.onsuccess = () => {
            resolveValue((get.result as { value?: unknown } | undefined)?.value);
            request.result.close();
          };
          get.onerror = () => reject(get.error);
        };
      }),
  );
}

/** `npm run relay -- ARGS` for this relay, as the person running it would type it. */
function relayCommand(relay: Relay, ...args: string[]): string {
  const result = spawnSync('bash', ['scripts/relay.sh', ...args], {
    cwd: repoRoot,
    env: { ...process.env, DATA_DIR: relay.dataDir, PORT: new URL(relay.url).port },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`relay ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

test.describe('signing out and revoked tokens', () => {
  test('sign out forgets the token on this device: a reload is still signed out', async ({
    page,
    relay,
  }) => {
    await signIn(page, relay);
    expect(await storedToken(page)).toBe(relay.token);

    await page.getByRole('button', { name: 'Sign out' }).click();
    const connection = page.getByTestId('connection');
    await expect(connection).toHaveAttribute('data-connection', 'signed_out');
    expect(await storedToken(page)).toBeUndefined();

    await page.reload();
    await expect(connection).toHaveAttribute('data-connection', 'signed_out');
    await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
    expect(await storedToken(page)).toBeUndefined();
  });

  test('a token revoked on the relay is refused on the device at once', async ({ page, relay }) => {
    const added = relayCommand(relay, 'token', 'add', firstUserName(relay), '--name', 'laptop');
    const secret = /(baton_\S+)/.exec(added)![1]!;
    const tokenId = /(tok_[0-9a-f]{16})/.exec(added)![1]!;
    await signIn(page, { ...relay, token: secret });

    relayCommand(relay, 'token', 'revoke', tokenId);
    // The relay closes the device's live connection; its next request is refused.
    await expect(page.getByTestId('connection')).toHaveAttribute(
      'data-connection',
      'unauthorized',
      { timeout: 10_000 },
    );
  });
});

/** The first user's name, as `user list --json` says it. */
function firstUserName(relay: Relay): string {
  const listed = JSON.parse(relayCommand(relay, 'user', 'list', '--json')) as {
    users: Array<{ name: string }>;
  };
  return listed.users[0]!.name;
}
