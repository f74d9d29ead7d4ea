/**
 * Runs the scripted model server so a person can try Baton without a real model:
 * `npm run model-server` (from the repository root), then use the printed URL as the model base URL (any API
 * key works). PORT picks the port (default 11435; 0 picks a free one), MODEL_DELAY_MS makes every
 * answer wait that long (default 0). Prints `scripted model server listening at URL`, then one
 * line per chat call.
 */
import { createModelServer } from './model-server.ts';

const port = Number(process.env['PORT'] ?? 11435);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got ${process.env['PORT']}`);
  process.exit(1);
}

const delayMs = Number(process.env['MODEL_DELAY_MS'] ?? 0);
if (!Number.isInteger(delayMs) || delayMs < 0) {
  console.error(
    `MODEL_DELAY_MS must be a whole number of milliseconds, got ${process.env['MODEL_DELAY_MS']}`,
  );
  process.exit(1);
}

const server = await createModelServer({
  port,
  onCall: ({ body, reply, callIndex }) => {
    const answer =
      reply.toolCalls?.map((call) => call.name).join(', ') || JSON.stringify(reply.content);
    console.log(`call ${callIndex}: ${body.messages.length} messages → ${answer}`);
  },
});
server.setDelay(delayMs);
console.log(`scripted model server listening at ${server.url}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)));
}
