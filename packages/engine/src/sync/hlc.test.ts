import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHlc, formatHlc, maxDriftMs, parseHlc, type HlcParts } from './hlc.ts';

const nodeIdArbitrary = fc.stringMatching(/^[A-Za-z0-9_.:]{1,12}$/);
const partsArbitrary = fc.record({
  wallMs: fc.integer({ min: 0, max: 999_999_999_999_999 }),
  counter: fc.integer({ min: 0, max: 999_999 }),
  nodeId: nodeIdArbitrary,
});

function compareTuples(a: HlcParts, b: HlcParts): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
}

const sign = (value: number) => (value < 0 ? -1 : value > 0 ? 1 : 0);
const start = Date.UTC(2026, 10, 25, 7, 0, 0);

describe('HLC stamps', () => {
  it('sort as strings in the order of (wall, counter, node)', () => {
    fc.assert(
      fc.property(partsArbitrary, partsArbitrary, (a, b) => {
        const stringOrder = sign(
          formatHlc(a) < formatHlc(b) ? -1 : formatHlc(a) > formatHlc(b) ? 1 : 0,
        );
        expect(stringOrder).toBe(sign(compareTuples(a, b)));
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trip through format and parse', () => {
    fc.assert(
      fc.property(partsArbitrary, (parts) => {
        expect(parseHlc(formatHlc(parts))).toEqual(parts);
      }),
      { numRuns: 1000 },
    );
  });

  it('follow the wire format', () => {
    expect(formatHlc({ wallMs: 1_795_545_100_000, counter: 3, nodeId: 'dev_7f3a' })).toBe(
      '001795545100000-000003-dev_7f3a',
    );
  });
});

describe('HLC clock', () => {
  it('ticks strictly upward whatever the wall clock does, even when it goes backwards', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -3_600_000, max: 3_600_000 }), { minLength: 1, maxLength: 50 }),
        (jumps) => {
          const hlc = createHlc({ nodeId: 'dev_a' });
          let now = start;
          let previous = hlc.tick(now);
          for (const jump of jumps) {
            now += jump;
            const stamp = hlc.tick(now);
            expect(stamp > previous).toBe(true);
            expect(parseHlc(stamp).wallMs).toBeGreaterThanOrEqual(now);
            previous = stamp;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('keeps the wall time and counts up when the wall clock goes backwards', () => {
    const hlc = createHlc({ nodeId: 'dev_a' });
    expect(hlc.tick(start)).toBe(formatHlc({ wallMs: start, counter: 0, nodeId: 'dev_a' }));
    expect(hlc.tick(start - 60_000)).toBe(
      formatHlc({ wallMs: start, counter: 1, nodeId: 'dev_a' }),
    );
    expect(hlc.tick(start + 1)).toBe(formatHlc({ wallMs: start + 1, counter: 0, nodeId: 'dev_a' }));
  });

  it('resumes after the last stamp it is given', () => {
    const last = formatHlc({ wallMs: start, counter: 7, nodeId: 'dev_a' });
    const hlc = createHlc({ nodeId: 'dev_a', last });
    expect(hlc.tick(start - 1) > last).toBe(true);
  });

  it('advances past every received stamp, so the next local write sorts after it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -maxDriftMs, max: maxDriftMs }),
        fc.integer({ min: 0, max: 999_990 }),
        fc.integer({ min: -maxDriftMs, max: maxDriftMs }),
        (remoteOffset, remoteCounter, localSkew) => {
          const hlc = createHlc({ nodeId: 'dev_b' });
          hlc.tick(start + localSkew);
          const remote = formatHlc({
            wallMs: start + remoteOffset,
            counter: remoteCounter,
            nodeId: 'relay_1',
          });
          hlc.receive(remote, start);
          const next = hlc.tick(start);
          expect(next > remote).toBe(true);
          expect(compareTuples(parseHlc(next), parseHlc(remote))).toBe(1);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('advances past a stamp however far ahead (the relay judged its drift at push)', () => {
    const hlc = createHlc({ nodeId: 'dev_a' });
    hlc.tick(start);
    const ahead = formatHlc({ wallMs: start + 3 * maxDriftMs, counter: 4, nodeId: 'relay_1' });
    hlc.receive(ahead, start);
    expect(hlc.tick(start) > ahead).toBe(true);
  });

  it('refuses a malformed stamp as invalid', () => {
    const hlc = createHlc({ nodeId: 'dev_a' });
    expect(() => hlc.receive('yesterday', start)).toThrow(/not an HLC stamp/);
  });
});
