/**
 * `npm run bench -w @baton/e2e [-- --quick] [-- --write-docs] [-- --no-build]`: the browser
 * figures of issue 10, in Debian Chromium through the built app served by a real relay process
 * (PGlite on disk, as `npm start` runs it):
 *   apply     a new device pulls and applies 10,000 tasks (2,000 with --quick) into IndexedDB
 *             (rows/s from its first stored page to its last; and the time from Sign in),
 *             beside a raw IndexedDB put of the same rows in the same page (measure-apply.ts)
 *   latency   a task added on device B, and one pushed to the relay's API, until it shows on
 *             device A's open Tasks page: 20 trials each (5 with --quick), p50/p95
 *             (measure-latency.ts)
 * It builds the webapp first (`--no-build` uses the build already there). `--write-docs` adds
 * the table, with date, load average and commit, to docs/benchmarks.md. BENCH_ARGS in the
 * environment is read as more arguments (the root `npm run bench` runs several scripts).
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { createModelServer } from '@baton/relay/testing';
import { formatMs } from '../../packages/relay/bench/http-load.ts';
import { createRecorder } from '../../packages/relay/bench/record.ts';
import { runContext, writeBenchDoc } from '../../packages/relay/bench/summary.ts';
import { chromiumLaunchOptions } from '../browser-options.ts';
import { startRelay } from '../relay-process.ts';
import { measureApply, type ApplyFigures } from './measure-apply.ts';
import { measureLatency, type LatencyFigures } from './measure-latency.ts';

const args = [...process.argv.slice(2), ...(process.env.BENCH_ARGS ?? '').split(/\s+/)];
const quick = args.includes('--quick');
const sizes = quick ? { rows: 2_000, trials: 5 } : { rows: 10_000, trials: 20 };
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Measured from outside before this bench existed (issue 10), and the goals. */
const baselines = {
  apply: '852 vs 6,424 rows/s: 0.14×',
  fromDevice: 'p50 109 ms, p95 178 ms',
  fromApi: 'p95 89 ms',
};

const rate = (perSecond: number) => `${Math.round(perSecond).toLocaleString('en')} rows/s`;
const spread = (figures: LatencyFigures) =>
  `p50 ${formatMs(figures.p50)}, p95 ${formatMs(figures.p95)}, max ${formatMs(figures.max)}`;

function table(options: {
  apply: ApplyFigures;
  fromDevice: LatencyFigures;
  fromApi: LatencyFigures;
}): string {
  const { apply, fromDevice, fromApi } = options;
  const ratio = apply.appRowsPerSecond / apply.rawRowsPerSecond;
  return [
    '| figure | this run | baseline (issue 10) | goal |',
    '| --- | --- | --- | --- |',
    `| apply of ${apply.rows.toLocaleString('en')} pulled tasks vs raw IndexedDB put, same page | ${rate(apply.appRowsPerSecond)} vs ${rate(apply.rawRowsPerSecond)}: ${ratio.toFixed(2)}× (all stored ${formatMs(apply.signInToDoneMs)} after Sign in) | ${baselines.apply} | ≥ 0.5× |`,
    `| task added on device B → on A's open Tasks page (${fromDevice.samples.length} trials) | ${spread(fromDevice)} | ${baselines.fromDevice} | p95 ≤ 50 ms |`,
    `| push to the relay's API → on A's open Tasks page (${fromApi.samples.length} trials) | ${spread(fromApi)} | ${baselines.fromApi} | p95 ≤ 50 ms |`,
  ].join('\n');
}

async function main(): Promise<void> {
  const recorder = createRecorder();
  const context = runContext();
  process.stdout.write(`${context}${quick ? ' (quick)' : ''}\n`);
  if (!args.includes('--no-build'))
    execFileSync('npm', ['run', 'build', '-w', '@baton/webapp'], { cwd: repoRoot, stdio: 'pipe' });
  const model = await createModelServer();
  const relay = await startRelay({ modelUrl: model.url, ownDefaults: true });
  const browser = await chromium.launch({ headless: true, ...chromiumLaunchOptions });
  try {
    // Latency first, while the user has few tasks; then the big pull on a new device.
    const latency = await measureLatency({ browser, relay, trials: sizes.trials });
    recorder.record(
      'chromium',
      'task added on device B → on A’s Tasks page',
      spread(latency.fromDevice),
    );
    recorder.record(
      'chromium',
      'push to the relay’s API → on A’s Tasks page',
      spread(latency.fromApi),
    );
    const apply = await measureApply({ browser, relay, rows: sizes.rows });
    recorder.record(
      'chromium',
      `sign in on a new device until ${apply.rows} tasks are stored`,
      formatMs(apply.signInToDoneMs),
    );
    recorder.record(
      'chromium',
      'apply, from the first stored page to the last',
      `${rate(apply.appRowsPerSecond)} (${apply.steady.rows} rows in ${formatMs(apply.steady.ms)})`,
    );
    recorder.record(
      'chromium',
      'raw IndexedDB put of the same rows, one transaction',
      `${rate(apply.rawRowsPerSecond)} (${formatMs(apply.rawMs)}); ratio ${(apply.appRowsPerSecond / apply.rawRowsPerSecond).toFixed(2)}×`,
    );
    const summary = table({ apply, ...latency });
    process.stdout.write(`\n${summary}\n`);
    if (args.includes('--write-docs')) {
      const path = writeBenchDoc({
        title: `Browser: apply and cross-device latency${quick ? ' (quick)' : ''}`,
        context,
        table: summary,
        lines: recorder.results.map(
          (result) => `${result.database.padEnd(10)} ${result.measure.padEnd(58)} ${result.value}`,
        ),
      });
      process.stdout.write(`written to ${path}\n`);
    }
  } finally {
    await browser.close();
    await relay.stop();
    await model.close();
    rmSync(relay.dataDir, { recursive: true, force: true });
  }
}

await main();
