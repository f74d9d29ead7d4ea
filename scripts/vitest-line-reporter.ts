/**
 * Vitest reporter that ends the run with one plain line, `N passed, N failed, N skipped`, which CI
 * reads (see docs TOOLCHAIN, "Test output that CI can read"). It sits beside vitest's `default`
 * reporter, which still prints the details.
 *
 * Counts individual tests. A test file that fails without a failing test (an import error, a
 * throwing `beforeAll`) counts as one failure, and so does each unhandled error: otherwise a
 * broken run could print `0 failed`.
 */
import type { Reporter, SerializedError, TestModule } from 'vitest/node';

export default class LineReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
  ): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const testModule of testModules) {
      let failedHere = 0;
      for (const testCase of testModule.children.allTests()) {
        const state = testCase.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++; // 'skipped', and 'pending' if the run was interrupted
      }
      if (failedHere === 0 && testModule.state() === 'failed') failedHere = 1;
      failed += failedHere;
    }
    process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
