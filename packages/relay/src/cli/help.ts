/** The CLI's help: one overview, and one text per command (`COMMAND --help`). */

export const commandHelp = {
  'user add': `usage: npm run relay -- user add NAME [--token-name LABEL]

Creates a user called NAME (1-64 characters) with one token, and prints the token once: give it
to that person, who pastes it into Settings on each device. --token-name labels the token
(e.g. "laptop") in user list.`,
  'user list': `usage: npm run relay -- user list [--json]

Lists every user with their tokens: the token id, its label, when it was created and when it was
last used (to the minute). Token secrets are never shown: they are stored only as hashes.
--json prints the same as JSON.`,
  'token add': `usage: npm run relay -- token add USER [--name LABEL]

Makes a new token for USER (a name or id) and prints it once, e.g. one per device, so each can
be revoked on its own. --name labels it in user list.`,
  'token revoke': `usage: npm run relay -- token revoke TOKEN_ID

Deletes the token TOKEN_ID (tok_..., from user list). Requests with it are refused from now on
and its open live connections are closed at once. The user's other tokens keep working.`,
  'token rotate': `usage: npm run relay -- token rotate TOKEN_ID

Gives the token TOKEN_ID a new secret and prints it once; the old secret is refused from now on
and live connections made with it are closed. The id and label stay.`,
  backup: `usage: npm run relay -- backup FILE [--force]

Writes everything the relay keeps (users, token hashes, the change log, every user's rows,
claims, the due index, devices, usage) to FILE as JSON lines, one consistent moment of the
database, on PGlite or PostgreSQL. While a relay runs on the PGlite folder the backup goes
through its admin endpoint; otherwise it reads the database directly. FILE is written aside and
renamed when whole; an existing FILE is replaced only with --force. The file holds token hashes
and everyone's data: keep it as safe as the database.`,
  restore: `usage: npm run relay -- restore FILE [--force]

Loads a backup made by \`backup\` into the database the settings name (DATA_DIR or DATABASE_URL;
a new PGlite folder is created), in one transaction: all of it or nothing. A PGlite backup
restores into PostgreSQL and the other way round. Stop the relay first: restore refuses while a
relay runs on the database. It refuses a database that holds rows (a folder \`npm start\` made has
its first user) unless --force, which replaces everything in it. Tokens keep working and every
device keeps its cursor, so they pull what they had not seen.`,
  replay: `usage: npm run relay -- replay ITERATION_ID [--model NAME] [--json]

Plans the run ITERATION_ID (m_...@<slot>, as "Replay with..." on the run's timeline shows it)
again with the prompt it had, on the relay's model endpoint (OPENAI_BASE_URL, OPENAI_API_KEY), and
prints the run's plan and the replay's, one after the other. --model names the model to ask
(default: the mission's model, else BATON_MODEL). A dry run: nothing is written, no proposal
is made, the tokens do not count against the mission's budget; read tools read today's data.
The prompt is the one the run kept; a run that kept none (a long prompt, or an older version)
gets it rebuilt from the data now, and the output says so. --json prints the same as JSON.`,
} as const;

export type CommandName = keyof typeof commandHelp;

export const overview = `usage: npm run relay -- COMMAND [ARGS] [--help]

Manages the relay's users and tokens, backs up and restores its database, and replays past
runs.

  user add NAME [--token-name LABEL]   create a user and print their first token once
  user list [--json]                   users, with each token's id, label, created, last used
  token add USER [--name LABEL]        print a new token for a user once
  token revoke TOKEN_ID                refuse a token at once (its live connections too)
  token rotate TOKEN_ID                a new secret for a token; the old one is refused
  backup FILE [--force]                the whole database as JSON lines (PGlite or PostgreSQL)
  restore FILE [--force]               load a backup into an empty database (--force: replace)
  replay ITERATION_ID [--model NAME]   plan a past run again on the relay's model (dry run)
  help [COMMAND]                       this text, or one command's

Where it acts: the same settings as the relay (DATA_DIR, DATABASE_URL, PORT; a relative
DATA_DIR is relative to where you run npm). While a relay runs on PGlite, the commands go
through its admin endpoint (loopback only, with the secret it keeps in DATA_DIR/admin.json);
otherwise they act on the database directly. Every command first says which database it used,
and refuses when the relay running on PORT uses another one.`;
