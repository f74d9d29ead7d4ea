/**
 * `npm run relay -- replay` against a real relay process and a scripted HTTP model server: a
 * device plans a run with one model and pushes it; the CLI replays it with another model, on
 * PGlite through the relay's admin endpoint, on PostgreSQL on the database. The model server
 * sees the same prompt under the other name; both plans are printed; nothing is written.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOpenAiModel } from '@baton/engine/openai';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createModelServer, type ModelServer } from '../testing/model-server.ts';
import { relayProcessEnv, startRelayProcess, type RelayProcess } from '../testing/relay-process.ts';
import { createTestDevice, type TestDevice } from '../testing/test-device.ts';
import { runCli } from './run-cli.ts';

const token = 'replay-token-0123456789abcdef';

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

describeOnEachDatabase('replay from the command line', (kind) => {
  let relay: RelayProcess;
  let model: ModelServer;
  let device: TestDevice;
  let env: Record<string, string>;
  let iterationId: string;

  beforeAll(async () => {
    // Each model proposes a task named after itself, then sums up in its own name.
    model = await createModelServer({
      script: (body) =>
        body.messages.some((message) => message.role === 'tool')
          ? { content: `Plan by ${body.model}.` }
          : { toolCalls: [{ name: 'create_task', arguments: { title: `Ask ${body.model}` } }] },
    });
    const modelEnv = { OPENAI_BASE_URL: model.url, BATON_MODEL: 'small-model' };
    const relayEnv = await relayProcessEnv(kind, {
      ...modelEnv,
      BATON_FIRST_TOKEN: token,
      PORT: '0',
    });
    relay = await startRelayProcess({ env: relayEnv, timeoutMs: 90_000 });
    env = { ...modelEnv, PORT: new URL(relay.url).port };
    if (relayEnv.DATA_DIR) env.DATA_DIR = relayEnv.DATA_DIR;
    if (relayEnv.DATABASE_URL) env.DATABASE_URL = relayEnv.DATABASE_URL;

    device = createTestDevice({
      url: relay.url,
      token,
      nowMs: Date.now(),
      model: createOpenAiModel({
        endpoint: { baseUrl: model.url, apiKey: 'none', defaultModel: 'small-model' },
        timeoutMs: 10_000,
      }),
    });
    const missionId = await device.createMission({
      title: 'Morning plan',
      tools: { create_task: 'propose' },
    });
    ({ iterationId } = await device.engine.runNow({ missionId }));
    await device.push();
  }, 120_000);
  afterAll(async () => {
    await relay?.stop();
    await model?.close();
    if (env?.DATA_DIR) rmSync(env.DATA_DIR, { recursive: true, force: true });
  });

  it('sends the run’s prompt to the other model and prints both plans, writing nothing', async () => {
    const original = model.calls[0]!;
    const before = (await device.pullAll()).length;

    const replayed = await cli(env, 'replay', iterationId, '--model', 'large-model');

    expect(replayed.code, replayed.err).toBe(0);
    expect(replayed.err).toContain(kind === 'pglite' ? 'the relay at' : 'PostgreSQL at');
    const call = model.calls[2]!;
    expect(call.model).toBe('large-model');
    expect(call.messages).toEqual(original.messages.slice(0, 2));
    expect(replayed.out).toContain(`Replay of ${iterationId} ("Morning plan"`);
    expect(replayed.out).toContain('with the prompt the run kept');
    expect(replayed.out).toMatch(
      /This run: small-model[^]*"Plan by small-model\."[^]*Ask small-model/,
    );
    expect(replayed.out).toMatch(
      /Replay: large-model[^]*"Plan by large-model\."[^]*Ask large-model/,
    );
    expect(model.callCount()).toBe(4);
    expect((await device.pullAll()).length).toBe(before);
  });

  it('prints JSON with --json, and says what is wrong with an unknown run or a bad command line', async () => {
    const json = await cli(env, 'replay', iterationId, '--json');
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({
      iterationId,
      promptSource: 'stored',
      samePrompt: true,
      replayed: { status: 'planned', model: 'small-model' },
    });

    const unknown = await cli(env, 'replay', 'm_nothing@2026-01-01T00:00:00.000Z');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('There is no run m_nothing@');

    const missing = await cli(env, 'replay');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('usage: npm run relay -- replay ITERATION_ID');

    const help = await cli(env, 'replay', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('A dry run: nothing is written');
  });
});
