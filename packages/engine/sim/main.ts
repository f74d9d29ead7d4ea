/**
 * `npm run sim -- --seed N` replays one history and prints its trace and violations;
 * `npm run sim -- --seeds N [--from S]` runs N seeds from S (default 0) and prints histories/s.
 * `--shrink` shrinks a failing seed's events to a short history that still fails.
 */
import { parseArgs } from 'node:util';
import { runHistory } from '../src/simulation/history.ts';
import { runSeeds } from '../src/simulation/run-seeds.ts';
import { generateScenario } from '../src/simulation/scenario.ts';
import { shrinkScenario } from '../src/simulation/shrink.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seeds: { type: 'string' },
    from: { type: 'string', default: '0' },
    shrink: { type: 'boolean', default: false },
    trace: { type: 'string', default: '60' },
    'max-failures': { type: 'string', default: '20' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const usage = `usage: npm run sim -- --seed N [--shrink] [--trace LINES]
       npm run sim -- --seeds N [--from S] [--max-failures K]`;

async function main(): Promise<number> {
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (values.seed !== undefined) {
    const seed = Number(values.seed);
    const scenario = generateScenario(seed);
    let result = await runHistory(scenario);
    if (values.shrink && result.violations[0]) {
      const shrunk = await shrinkScenario({ scenario, invariant: result.violations[0].invariant });
      console.log(
        `shrunk seed ${seed} from ${scenario.events.length} to ${shrunk.scenario.events.length} events in ${shrunk.runs} replays`,
      );
      console.log(JSON.stringify(shrunk.scenario.events, null, 1));
      result = shrunk.result;
    }
    const lines = Number(values.trace);
    console.log(result.trace.slice(-lines).join('\n'));
    console.log(`seed ${seed}: ${JSON.stringify(result.stats)}`);
    for (const violation of result.violations)
      console.log(`VIOLATION ${violation.invariant}: ${violation.message}`);
    return result.violations.length > 0 ? 1 : 0;
  }
  const count = Number(values.seeds ?? '100');
  const from = Number(values.from);
  const run = await runSeeds({
    from,
    count,
    maxFailures: Number(values['max-failures']),
    onFailure: ({ seed, result }) => {
      const first = result.violations[0]!;
      console.log(
        `seed ${seed} FAILS ${first.invariant}: ${first.message.slice(0, 300)} (replay: npm run sim -- --seed ${seed} --shrink)`,
      );
    },
  });
  const rate = run.histories / (run.ms / 1000);
  console.log(
    `${run.histories} histories from seed ${from} in ${(run.ms / 1000).toFixed(1)} s (${rate.toFixed(1)} histories/s), ${run.failures.length} failing`,
  );
  return run.failures.length > 0 ? 1 : 0;
}

process.exitCode = await main();
