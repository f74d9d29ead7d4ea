/**
 * `npm run relay -- …` as a function: parses the arguments, finds where to act (open-admin.ts),
 * runs one admin action and prints its outcome. Results go to `out`; where it acted, problems
 * and usage errors go to `err`. Returns the exit code: 0 done (and every --help), 1 the action
 * failed or could not run, 2 the command line is wrong.
 */
import { isEngineError } from '@baton/engine';
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import type { AdminActions } from '../admin/admin-actions.ts';
import { TokenIdSchema, TokenNameSchema, type AdminUser } from '../admin/admin-schemas.ts';
import { UserNameSchema } from '../auth/users.ts';
import { readConfig } from '../config.ts';
import { runBackupCommand } from './backup-commands.ts';
import { commandHelp, overview, type CommandName } from './help.ts';
import { openAdmin } from './open-admin.ts';
import { runReplayCli } from './replay-cli.ts';

export interface CliOptions {
  args: string[];
  env?: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
}

const isCommand = (name: string): name is CommandName => name in commandHelp;

/** "2026-11-25 07:30Z": to the minute, in UTC. */
function formatTime(ms: number | null): string {
  return ms === null ? 'never' : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

function formatUsers(users: AdminUser[]): string {
  if (users.length === 0) return 'No users yet.\n';
  const lines: string[] = [];
  for (const user of users) {
    lines.push(`${user.name}  (${user.id}, created ${formatTime(user.createdAt)})`);
    if (user.tokens.length === 0) lines.push('  no tokens: add one with token add');
    for (const token of user.tokens)
      lines.push(
        `  ${token.id}  ${token.name ?? '-'}  created ${formatTime(token.createdAt)}  last used ${formatTime(token.lastUsedAt)}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

const shownOnce = (secret: string) => ` (shown only this once):\n\n    ${secret}\n\n`;

type Parsed = { ok: true; value: string } | { ok: false; message: string };
function check(schema: z.ZodType<string>, value: string | undefined, what: string): Parsed {
  const parsed = schema.safeParse(value);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, message: `${what} ${parsed.error.issues[0]?.message ?? 'is not valid'}` };
}

async function runCommand(
  command: CommandName,
  argument: string,
  flags: { json: boolean; name: string | undefined; tokenName: string | undefined },
  actions: AdminActions,
  out: (text: string) => void,
): Promise<void> {
  switch (command) {
    case 'user list': {
      const users = await actions.listUsers();
      out(flags.json ? `${JSON.stringify({ users }, null, 2)}\n` : formatUsers(users));
      return;
    }
    case 'user add': {
      const created = await actions.addUser({ name: argument, tokenName: flags.tokenName });
      out(
        `Created user "${created.user.name}" (${created.user.id}). Their token ${created.token.id}` +
          shownOnce(created.token.secret),
      );
      return;
    }
    case 'token add': {
      const created = await actions.addToken({ user: argument, name: flags.name });
      out(
        `New token ${created.token.id} for "${created.user.name}"${shownOnce(created.token.secret)}`,
      );
      return;
    }
    case 'token revoke': {
      const revoked = await actions.revokeToken({ tokenId: argument });
      out(
        `Revoked ${revoked.tokenId} of "${revoked.user.name}": it is refused from now on` +
          ` (live connections closed here: ${revoked.closedConnections}).\n`,
      );
      return;
    }
    case 'token rotate': {
      const rotated = await actions.rotateToken({ tokenId: argument });
      out(
        `New secret for ${rotated.token.id} of "${rotated.user.name}"; the old one is refused from now on` +
          shownOnce(rotated.token.secret),
      );
      return;
    }
  }
}

export async function runCli(options: CliOptions): Promise<number> {
  const { out, err } = options;
  let parsedArgs;
  try {
    parsedArgs = parseArgs({
      args: options.args,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        name: { type: 'string' },
        'token-name': { type: 'string' },
        force: { type: 'boolean' },
        model: { type: 'string' },
      },
    });
  } catch (error) {
    err(`${(error as Error).message}\n\n${overview}\n`);
    return 2;
  }
  const { values, positionals } = parsedArgs;
  const [group, action, argument, ...extra] = positionals;
  if (group === undefined || group === 'help') {
    const asked = positionals.slice(1).join(' ');
    if (group === undefined && !values.help) {
      err(`${overview}\n`);
      return 2;
    }
    out(`${isCommand(asked) ? commandHelp[asked] : overview}\n`);
    return 0;
  }
  if (group === 'backup' || group === 'restore')
    return backupCli(group, positionals, values, options);
  if (group === 'replay')
    return runReplayCli({
      positionals: positionals.slice(1),
      flags: { model: values.model, json: values.json ?? false, help: values.help ?? false },
      env: options.env ?? process.env,
      out,
      err,
    });
  const command = `${group} ${action ?? ''}`;
  if (!isCommand(command)) {
    if (values.help && action === undefined) {
      out(`${overview}\n`);
      return 0;
    }
    err(`Unknown command "${positionals.slice(0, 2).join(' ')}".\n\n${overview}\n`);
    return 2;
  }
  if (values.help) {
    out(`${commandHelp[command]}\n`);
    return 0;
  }
  const wanted = command === 'user list' ? 0 : 1;
  if ((argument === undefined ? 0 : 1) + extra.length !== wanted) {
    err(`${commandHelp[command]}\n`);
    return 2;
  }
  const argumentSchema =
    command === 'user add'
      ? UserNameSchema
      : command === 'token revoke' || command === 'token rotate'
        ? TokenIdSchema
        : undefined;
  const checked = {
    argument:
      argumentSchema &&
      check(argumentSchema, argument, command === 'user add' ? 'NAME' : 'TOKEN_ID'),
    name: values.name === undefined ? undefined : check(TokenNameSchema, values.name, '--name'),
    tokenName:
      values['token-name'] === undefined
        ? undefined
        : check(TokenNameSchema, values['token-name'], '--token-name'),
  };
  const flags = { json: values.json ?? false, name: values.name, tokenName: values['token-name'] };
  let value = argument ?? '';
  for (const [key, result] of Object.entries(checked)) {
    if (!result) continue;
    if (!result.ok) {
      err(`${result.message}\n\n${commandHelp[command]}\n`);
      return 2;
    }
    if (key === 'argument') value = result.value;
    else flags[key as 'name' | 'tokenName'] = result.value;
  }

  const config = readConfig(options.env ?? process.env);
  if (!config.ok) {
    for (const problem of config.problems) err(`Invalid setting ${problem}\n`);
    return 1;
  }
  const target = await openAdmin(config.config);
  if (!target.ok) {
    err(`${target.problem}\n`);
    return 1;
  }
  err(`Using ${target.description}.\n`);
  try {
    await runCommand(command, value, flags, target.actions, out);
    return 0;
  } catch (error) {
    if (!isEngineError(error)) throw error;
    err(`${error.message}\n`);
    return 1;
  } finally {
    await target.close();
  }
}

/** `backup FILE` / `restore FILE` (backup-commands.ts). */
async function backupCli(
  command: 'backup' | 'restore',
  positionals: string[],
  values: { help?: boolean | undefined; force?: boolean | undefined },
  options: CliOptions,
): Promise<number> {
  const [, file, ...extra] = positionals;
  if (values.help) {
    options.out(`${commandHelp[command]}\n`);
    return 0;
  }
  if (file === undefined || extra.length > 0) {
    options.err(`${commandHelp[command]}\n`);
    return 2;
  }
  const config = readConfig(options.env ?? process.env);
  if (!config.ok) {
    for (const problem of config.problems) options.err(`Invalid setting ${problem}\n`);
    return 1;
  }
  return runBackupCommand({
    command,
    file,
    force: values.force ?? false,
    config: config.config,
    out: options.out,
    err: options.err,
  });
}
