/**
 * `npm run relay -- COMMAND` (scripts/relay.sh): users and tokens of the relay. See cli/help.ts
 * for the commands and cli/open-admin.ts for where they act.
 */
import { runCli } from './cli/run-cli.ts';

process.exitCode = await runCli({
  args: process.argv.slice(2),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
