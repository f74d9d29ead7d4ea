import { describe, expect, it } from 'vitest';
import { runHistory } from './history.ts';
import { generateScenario, type Scenario } from './scenario.ts';

/**
 * Seeds on which the simulator found a bug in the core, before its fix. Each replays its whole
 * history and must keep every invariant. (A history changes when the code it runs changes, so
 * every bug also has a plain regression test beside its fix.)
 */
const pinned: {
  seed: number;
  /** What the history ran with when the bug was found, beside what the seed generates. */
  with?: Partial<Scenario>;
  found: string;
  /** Trace lines the history must show, so the seed still plays the edge it pins. */
  shows?: RegExp[];
}[] = [
  { seed: 8, found: 'bug 1: revert overwrote the title a person edited after the step' },
  {
    seed: 111,
    found: 'bug 2: a step of the winning plan stayed superseded (three plans of a slot)',
  },
  { seed: 120, found: 'bug 2: a step of the winning plan stayed superseded' },
  { seed: 190, found: 'bug 3: compensation deleted an AI-created task the person had edited' },
  { seed: 37, found: 'bug 4: device and relay both ran the last run of the day budget' },
  { seed: 47, found: 'bug 4: runs per day passed across runners' },
  { seed: 75, found: 'bug 5: two relay chunks issued the same stamp' },
  { seed: 99, found: 'bug 5: two relay chunks issued the same stamp' },
  { seed: 4, found: 'bug 5: a follower host wrote a field older than a pulled stamp' },
  { seed: 43, found: 'bug 5: a follower host’s schedule edit lost to an older stamp' },
  { seed: 12, found: 'bug 6: a device refused pulled stamps ahead of its clock and diverged' },
  { seed: 78, found: 'bug 6: pulled stamps refused, a second plan of the slot' },
  { seed: 81, found: 'bug 6: a decision pulled from a fast device was refused' },
  { seed: 7, found: 'bug 7: one change ahead of the relay’s clock held back the whole outbox' },
  { seed: 28, found: 'bug 7: the outbox stalled behind a refused change' },
  { seed: 72, found: 'a clock set back during planning made a negative latency and lost the plan' },
  { seed: 68, found: 'a renewal of a retry was refused as "not due", wasting the conversation' },
  {
    seed: 89,
    found: 'a run whose runner crashed, its slot then skipped, was not counted by the budget',
  },
  { seed: 218, found: 'two runs in flight while no cost was known passed the token budget' },
  { seed: 2137, found: 'a device whose clock ran ahead claimed slots it could not deliver' },
  { seed: 2048, found: 'a retry hid the tokens its failed attempts spent' },
  { seed: 55767, found: 'a schedule edit merged during a tick: skipped slots from before it' },
  { seed: 63590, found: 'what applying a pull wrote waited in the outbox for another round' },
  {
    seed: 4061,
    found:
      'a runner cut off after its claim: its failed attempt lost to another, its tokens uncounted',
  },
  { seed: 13593, found: 'a retry’s claim did not count the tokens of the failed row it retried' },
  {
    seed: 59049,
    found:
      'a lost execution undone over a field another step of the winning plan wrote the same way',
  },
  {
    seed: 435158,
    found:
      'three plans of a slot: the relay’s losing step stayed the writer of a field the winning plan’s other step wrote the same way',
  },
  {
    seed: 467692,
    found:
      'a row a losing step created and the person kept: a later losing step’s completion of it was never undone',
    shows: [/claims m_1@\S+T05:00:00.000Z unclaimed \(relay unreachable\)/],
  },
  // Not bugs of the core: invariant 10 asked for retries nobody could make in time.
  {
    seed: 464618,
    found:
      'invariant 10: a retry whose backoff ended 27 seconds before its slot’s lateness window closed, with runners ticking once a minute',
    shows: [/claim m_4@\S+T00:05:00.000Z by relay_1-p1: granted/],
  },
  {
    seed: 28364,
    found:
      'invariant 10: a failure made offline reached the relay only after its slot’s lateness window closed',
    shows: [/claims m_1@\S+ unclaimed \(relay unreachable\)/],
  },
  {
    seed: 24572,
    found:
      'invariant 10: a failure made while the relay was down reached it after the slot’s window closed',
    shows: [/claims m_4@\S+T12:00:00.000Z unclaimed \(relay unreachable\)/],
  },
  {
    seed: 39493,
    found:
      'invariant 10: a device whose clock ran 50 minutes ahead failed a slot early, and its retry was stamped before the slot itself',
    shows: [/claims m_1@\S+T19:20:00.000Z unclaimed \(relay unreachable\)/],
  },
  {
    seed: 174498,
    found:
      'invariant 10: a device-only retry refused for the leader’s clock 39 minutes ahead, excused only when its idle tabs’ clocks were too',
    shows: [
      /claim m_1@\S+T07:15:00.000Z by dev_a\.devah1: this runner's clock is \d+ minutes ahead/,
    ],
  },
  {
    seed: 249246,
    found:
      'invariant 2: a plan dropped when its claim’s renewal was refused for a clock jumped 18 minutes ahead was not counted',
    shows: [
      /claim m_2@\S+T21:30:00.000Z by dev_a\.devah1: this runner's clock is \d+ minutes ahead/,
    ],
  },
  {
    seed: 24041,
    found:
      'invariant 6: the relay crashed after the model answered a claimed run, whose tokens no record ever carried',
    shows: [/claim m_2@\S+T22:10:00.000Z by relay_1-p1: granted/, /relay_1\.1 +CRASH/],
  },
  {
    seed: 598484,
    found:
      'invariant 6: retries of slots that had failed while the relay was out of reach ran beside new slots, each looking paid for by the rounds its failed row recorded without a claim',
    shows: [
      /claim m_2@\S+T01:45:00\.000Z by dev_b\.devbh6: a run of this mission is in flight/,
      /claim m_2@\S+T02:00:00\.000Z by dev_a\.devah1: granted/,
    ],
  },
  {
    seed: 598484,
    with: { drawSkippedPokes: false },
    found:
      'invariant 6: runs let in together at the expected cost of one round each took a second round, which no claim judged against the budget',
    shows: [
      /claim m_2@\S+T02:05:00\.000Z by relay_2-p4: granted/,
      /claim m_2@\S+T02:05:00\.000Z by relay_2-p4: \d+ tokens in the last 24 hours reached the budget/,
    ],
  },
  {
    seed: 810713,
    found:
      'invariant 2: a host frozen while its claim was answered woke demoted, called the model all the same, gave the slot back and planned it again as the leader',
    shows: [
      /dev_a\.h1 +freezes/,
      /dev_a\.h3 +takes over from frozen dev_a\.h1/,
      /claim m_1@\S+T03:05:00\.000Z by dev_a\.devah3: held by dev_a\.devah1/,
    ],
  },
  {
    seed: 821449,
    found:
      "invariant 6: a device cut off from the relay failed the slots the relay attempted under claims meanwhile; its failed rows won the merge, and their rounds, made without a claim, hid the relay's billed rounds from the budget",
    shows: [
      /dev_a\.h2 +claims m_4@\S+T22:40:00\.000Z unclaimed \(relay unreachable\)/,
      /claim m_4@\S+T22:40:00\.000Z by relay_1-p1: granted/,
      /claim m_4@\S+T22:50:00\.000Z by dev_b\.devbh3: 960 tokens used in the last 24 hours/,
    ],
  },
  // The edges of the handoff (issue: a returning device, a replaced host, a host gone mid-plan).
  {
    seed: 24,
    found: 'edge 1: a device back after the claim TTL is refused slots the relay planned',
    shows: [/claim \S+ by dev_a\.\S+: the iteration is already planned/],
  },
  {
    seed: 107,
    found:
      'edges 2 and 3: a new host is refused while the crashed host’s lease lives; the relay releases it once the old host’s connection is gone',
    shows: [
      /claim m_3@\S+ by dev_a\.devah2: held by dev_a\.devah1/,
      /released .*m_3@\S+: dev_a\.devah1 went away/,
    ],
  },
  {
    seed: 388691,
    found:
      'a host frozen between its claim and its first model call planned a slot the relay had planned after the lease ran out',
    shows: [
      /dev_b\.h2 +freezes/,
      /claim m_2@\S+T19:40:00\.000Z by dev_b\.devbh2: held by relay_1-p2/,
    ],
  },
  {
    seed: 380938,
    found:
      'a claim granted after its host’s live connection ended was released with it, and the relay planned the slot too',
    shows: [
      /dev_a\.h2 +live connection gone/,
      /claim m_4@\S+T15:50:00\.000Z by dev_a\.devah2: granted/,
    ],
  },
];

describe('seeds that found bugs', () => {
  for (const { seed, with: given, found, shows = [] } of pinned) {
    const name = given ? `seed ${seed} with ${JSON.stringify(given)}` : `seed ${seed}`;
    it(`${name} (${found}) keeps every invariant`, async () => {
      const result = await runHistory({ ...generateScenario(seed), ...given });
      expect(
        result.violations.map((violation) => `${violation.invariant}: ${violation.message}`),
      ).toEqual([]);
      for (const line of shows) expect(result.trace.some((entry) => line.test(entry))).toBe(true);
    });
  }
});
