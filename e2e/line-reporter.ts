/**
 * Playwright reporter that ends the run with one plain line, `N passed, N failed, N skipped`, which
 * CI reads (see docs TOOLCHAIN, "Test output that CI can read"). Sits beside the `list` reporter.
 *
 * Counts each test once by its final outcome, so a test retried into a pass counts as passed
 * (flaky) rather than once failed and once passed. A global setup error or a run that failed
 * without a failing test (e.g. a worker crash) counts as one failure, so it cannot read `0 failed`.
 */
import type { FullResult, Reporter, Suite, TestError } from '@playwright/test/reporter';

export default class LineReporter implements Reporter {
  private globalErrors = 0;
  private root: Suite | undefined;

  onBegin(_config: unknown, suite: Suite): void {
    this.root = suite; // every collected test, including ones that never ran (those count as skipped)
  }

  onError(_error: TestError): void {
    this.globalErrors++;
  }

  onEnd(result: FullResult): void {
    let passed = 0;
    let failed = this.globalErrors;
    let skipped = 0;
    for (const test of this.root?.allTests() ?? []) {
      const outcome = test.outcome(); // 'expected' | 'unexpected' | 'flaky' | 'skipped'
      if (outcome === 'expected' || outcome === 'flaky') passed++;
      else if (outcome === 'unexpected') failed++;
      else skipped++;
    }
    if (failed === 0 && result.status !== 'passed') failed = 1; // timed out, interrupted, crashed
    process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }

  printsToStdio(): boolean {
    return true;
  }
}
