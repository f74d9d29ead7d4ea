/**
 * `npm run sim -- --seed N` replays one history and prints its trace and violations;
 * `npm run sim -- --seeds N [--from S] [--jobs J]` runs N seeds from S (default 0) in J processes
 * (default: one per core) and prints histories/s. `--shrink` shrinks a failing seed's events to
 * a short history that still fails.
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
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
    jobs: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const usage = `usage: npm run sim -- --seed N [--shrink] [--trace LINES]
       npm run sim -- --seeds N [--from S] [--jobs J] [--max-failures K]`;

/** Runs a seed range in `jobs` child processes (contiguous parts); resolves to the failures. */
async function runInJobs(options: { from: number; count: number; jobs: number }): Promise<number> {
  const started = performance.now();
  const size = Math.ceil(options.count / options.jobs);
  const parts = Array.from({ length: options.jobs }, (_, index) => ({
    from: options.from + index * size,
    count: Math.max(0, Math.min(size, options.count - index * size)),
  })).filter((part) => part.count > 0);
  const results = await Promise.all(
    parts.map(
      (part) =>
        new Promise<{ failing: number; histories: number }>((resolve, reject) => {
          const child = fork(
            process.argv[1]!,
            [
              '--seeds',
              String(part.count),
              '--from',
              String(part.from),
              '--jobs',
              '1',
              '--max-failures',
              values['max-failures']!,
            ],
            { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
          );
          let histories = 0;
          let failing = 0;
          child.stdout!.setEncoding('utf8');
          child.stdout!.on('data', (text: string) => {
            for (const line of text.split('\n')) {
              const summary = /^(\d+) histories from seed .*, (\d+) failing$/.exec(line);
              if (summary) {
                histories = Number(summary[1]);
                failing = Number(summary[2]);
              } else if (line.trim() !== '') console.log(line);
            }
          });
          child.on('error', reject);
          child.on('exit', () => resolve({ failing, histories }));
        }),
    ),
  );
  const histories = results.reduce((sum, result) => sum + result.histories, 0);
  const failing = results.reduce((sum, result) => sum + result.failing, 0);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${histories} histories from seed ${options.from} in ${seconds.toFixed(1)} s (${(histories / seconds).toFixed(1)} histories/s, ${parts.length} processes), ${failing} failing`,
  );
  return failing > 0 || histories !== options.count ? 1 : 0;
}

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
  const jobs = Math.max(1, Number(values.jobs ?? availableParallelism()));
  if (jobs > 1 && count > 1) return runInJobs({ from, count, jobs });
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
