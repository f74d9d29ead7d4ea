/**
 * The command line itself: help for every command (exit 0), usage errors (exit 2), and a PGlite
 * folder that does not exist refused instead of created. `npm run relay` runs it through
 * scripts/relay.sh, which installs dependencies first on a fresh clone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { relayPackageDir } from '../testing/relay-process.ts';
import { commandHelp } from './help.ts';
import { runCli } from './run-cli.ts';

async function cli(args: string[], env: Record<string, string> = { PORT: '0' }) {
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

describe('npm run relay', () => {
  it('prints help and exits 0 for --help, -h and help', async () => {
    for (const args of [['--help'], ['-h'], ['help'], ['user', '--help']]) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.out).toContain('token revoke TOKEN_ID');
    }
  });

  it('prints each command’s own help and exits 0', async () => {
    for (const [command, help] of Object.entries(commandHelp)) {
      const words = command.split(' ');
      for (const args of [
        [...words, '--help'],
        ['help', ...words],
      ]) {
        const result = await cli(args);
        expect(result.code, args.join(' ')).toBe(0);
        expect(result.out).toBe(`${help}\n`);
      }
    }
  });

  it('answers a wrong command line with usage on stderr and exit 2', async () => {
    for (const args of [
      [],
      ['user'],
      ['user', 'remove', 'bob'],
      ['user', 'add'],
      ['user', 'add', 'a', 'b'],
      ['token', 'revoke', 'not-an-id'],
      ['user', 'list', '--colour'],
    ]) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.out).toBe('');
      expect(result.err).toContain('usage: npm run relay --');
    }
  });

  it('refuses a PGlite folder that does not exist instead of creating a database there', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'baton-cli-'));
    const dataDir = join(parent, 'data');
    try {
      const result = await cli(['user', 'add', 'bob'], { PORT: '0', DATA_DIR: dataDir });
      expect(result.code).toBe(1);
      expect(result.err).toContain(`There is no relay data in ${dataDir}`);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('runs from the repo root through scripts/relay.sh (no tsx on the PATH needed)', () => {
    const root = resolve(relayPackageDir, '../..');
    const result = spawnSync('bash', ['scripts/relay.sh', 'token', 'add', '--help'], {
      cwd: root,
      env: { ...process.env, PATH: '/usr/bin:/bin' },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('usage: npm run relay -- token add USER');
  });
});
