/**
 * The invariants checked at the end of a history, once every fault healed and sync went quiet
 * (numbered as in docs/architecture.md). Invariants 3 and 9, and the schedule half of 8, are
 * checked at the commit that would break them (ledger.ts).
 */
import { readRows, type RowOf } from '../model/read-row.ts';
import { tableNames, type TableName } from '../model/tables.ts';
import { nextRetryAt } from '../schedule/retry.ts';
import { hlcWallMs, maxDriftMs } from '../sync/hlc.ts';
import { scheduleSince } from '../schedule/since.ts';
import { nextSlot } from '../schedule/slots.ts';
import { stableJson, type StoredRow } from '../sync/merge.ts';
import type { Devices } from './device.ts';
import type { Ledger, Violation } from './ledger.ts';
import type { SimModelService } from './model.ts';
import { claimTtlMs, type SimServer } from './server.ts';
import type { World } from './world.ts';

export async function checkInvariants(options: {
  world: World;
  devices: Devices;
  server: SimServer;
  ledger: Ledger;
  models: SimModelService;
  relayInterrupted: Map<string, number>;
  now: number;
  /** When every fault healed, and how long the healthy time after it lasted. */
  healedAt: number;
  healMs: number;
}): Promise<Violation[]> {
  const { devices, server, ledger, models } = options;
  const violations: Violation[] = [];
  const violate = (invariant: string, message: string) =>
    violations.push({ invariant, message, at: options.now });

  // 1. Convergence: every replica's rows equal the relay's, field by field.
  const serverRows = new Map<string, StoredRow>();
  for (const table of tableNames)
    for (const row of await server.store.list(table)) serverRows.set(`${table}/${row.id}`, row);
  for (const device of devices.list) {
    let differences = 0;
    const seen = new Set<string>();
    // A change the relay refused stays on its device, listed with the reason: the fields it
    // wrote differ from the relay's on purpose.
    const refusedStamps = new Set<string>();
    for (const refused of device.refused) {
      const entry = ledger.entries.get(refused.id);
      if (entry)
        refusedStamps.add(`${entry.change.table}/${entry.change.rowId}@${entry.change.hlc}`);
    }
    const shown = (key: string, row: StoredRow): StoredRow => {
      const fields = { ...row.fields };
      const stamps = { ...row.stamps };
      for (const [name, stamp] of Object.entries(row.stamps)) {
        if (!refusedStamps.has(`${key}@${stamp}`)) continue;
        delete fields[name];
        delete stamps[name];
      }
      return { ...row, fields, stamps };
    };
    for (const table of tableNames) {
      for (const row of await device.store.list(table)) {
        const key = `${table}/${row.id}`;
        seen.add(key);
        const there = serverRows.get(key);
        if (
          refusedStamps.size > 0 &&
          [...Object.values(row.stamps)].some((stamp) => refusedStamps.has(`${key}@${stamp}`))
        ) {
          // Compare what the relay could have: the fields a refused change wrote are left out.
          const mine = shown(key, row);
          if (
            there &&
            Object.keys(mine.fields).every(
              (name) =>
                name.startsWith('_') ||
                stableJson(mine.fields[name]) === stableJson(there.fields[name]),
            )
          )
            continue;
          if (!there) continue;
        }
        if (
          stableJson({ fields: row.fields, stamps: row.stamps }) !==
          stableJson(there && { fields: there.fields, stamps: there.stamps })
        ) {
          if (differences++ < 3)
            violate(
              '1 convergence',
              `${device.id} ${key} differs from the relay: ${describeDifference(row, there)}`,
            );
        }
      }
    }
    for (const key of serverRows.keys())
      if (!seen.has(key) && differences++ < 3)
        violate('1 convergence', `${device.id} lacks ${key}`);
  }

  const missions = new Map(
    readRows('missions', await server.store.list('missions')).map((mission) => [
      mission.id,
      mission,
    ]),
  );
  const iterations = readRows('iterations', await server.store.list('iterations'));
  const proposals = readRows('proposals', await server.store.list('proposals'));

  // 2. One plan per slot: conversations per iteration id, bounded by crashes and unclaimed plans.
  const byIteration = new Map<string, typeof models.conversations>();
  for (const conversation of models.conversations)
    byIteration.set(conversation.iterationId, [
      ...(byIteration.get(conversation.iterationId) ?? []),
      conversation,
    ]);
  // A plan the relay refused, or turned away until its clock caught up with the stamp (the
  // device's clock ran too far ahead), did not reach anyone else in time: planning the slot
  // again meanwhile is the recovery, not a second plan.
  const refusedPlans = new Map<string, number>();
  const turnedAway = [
    ...devices.list.flatMap((device) => device.refused.map((refused) => refused.id)),
    ...server.heldPlans,
  ];
  for (const id of new Set(turnedAway)) {
    const entry = ledger.entries.get(id);
    if (entry?.change.table === 'iterations' && 'status' in entry.change.fields)
      refusedPlans.set(entry.change.rowId, (refusedPlans.get(entry.change.rowId) ?? 0) + 1);
  }
  // A claim holder whose plan did not reach the relay within its lease (it went offline, froze
  // or died after the model answered) could not stop another runner from planning the slot.
  const planWrites = new Map<string, { at: number; arrived: number }[]>();
  for (const entry of ledger.entries.values()) {
    const { change } = entry;
    if (change.table !== 'iterations' || !('status' in change.fields)) continue;
    const key = `${entry.issuer} ${change.rowId}`;
    const arrived =
      server.arrivals.get(change.id) ?? (entry.deviceId === undefined ? entry.at : Infinity);
    planWrites.set(key, [...(planWrites.get(key) ?? []), { at: entry.at, arrived }]);
  }
  // The write that ended this conversation (the first after it began) reached the relay after
  // its lease ended: when the lease ran out, or when the relay released it because the holder's
  // live connection had ended (it was cut off, frozen or closed).
  const cutOff = (conversation: (typeof models.conversations)[number]) => {
    const writes = (planWrites.get(`${conversation.node} ${conversation.iterationId}`) ?? [])
      .filter((write) => write.at >= conversation.at)
      .sort((a, b) => a.at - b.at);
    const released = server.releases
      .filter(
        (release) =>
          release.hostName === conversation.node &&
          release.iterationId === conversation.iterationId &&
          release.at >= conversation.at,
      )
      .map((release) => release.at);
    const leaseEnd = Math.min(conversation.at + claimTtlMs, ...released);
    return (writes[0]?.arrived ?? Infinity) > leaseEnd;
  };
  for (const [iterationId, conversations] of byIteration) {
    const allowed =
      conversations.filter((entry) => entry.claimed && !entry.failed && cutOff(entry)).length +
      (refusedPlans.get(iterationId) ?? 0) +
      1 +
      (devices.interrupted.get(iterationId) ?? 0) +
      (options.relayInterrupted.get(iterationId) ?? 0) +
      conversations.filter((entry) => !entry.claimed || entry.failed).length;
    if (conversations.length > allowed)
      violate(
        '2 one plan per slot',
        `${iterationId}: ${conversations.length} conversations (${conversations.map((entry) => `${entry.node}${entry.claimed ? '' : ' unclaimed'}`).join(', ')}), at most ${allowed} allowed`,
      );
  }

  // 4. A decided proposal's data matches the winning decision; a losing execution never stands.
  const proposalById = new Map(proposals.map((proposal) => [proposal.id, proposal]));
  const aiWriters = new Map<string, string>();
  for (const entry of ledger.entries.values()) {
    const { change } = entry;
    if (entry.kind === 'ai' && change.actor.kind === 'ai')
      aiWriters.set(`${change.table}/${change.rowId}@${change.hlc}`, change.actor.proposalId);
  }
  for (const [key, row] of serverRows) {
    if (row.fields._deleted === true) continue;
    // A row the person changed after a losing execution created or changed it is theirs now:
    // compensation leaves it (invariant 3 comes first).
    const [rowTable, ...rowRest] = key.split('/');
    const personStamps = Object.entries(row.stamps).filter(
      ([name, stamp]) =>
        !name.startsWith('_') &&
        ledger.kindOfStamp(rowTable as TableName, rowRest.join('/'), stamp) === 'person',
    );
    for (const [field, stamp] of Object.entries(row.stamps)) {
      if (field.startsWith('_') && field !== '_deleted') continue;
      if (personStamps.some(([, personStamp]) => personStamp > stamp)) continue;
      const proposalId = aiWriters.get(`${key}@${stamp}`);
      if (proposalId === undefined) continue;
      // A created row someone changed since (a later run's step, say) is kept whole.
      const changedSince = Object.entries(row.stamps).some(
        ([name, other]) =>
          !name.startsWith('_') && other > stamp && aiWriters.get(`${key}@${other}`) !== proposalId,
      );
      if (changedSince) continue;
      const proposal = proposalById.get(proposalId);
      if (proposal?.status === 'executed' && proposal.decision?.at === stamp) continue;
      // A losing execution that wrote what the winner wrote leaves nothing to undo.
      const [table, ...rest] = key.split('/');
      const rowId = rest.join('/');
      const winner =
        proposal?.status === 'executed'
          ? proposal.effects.find((effect) => effect.table === table && effect.rowId === rowId)
          : undefined;
      if (
        winner?.after &&
        field in winner.after &&
        stableJson(winner.after[field]) === stableJson(row.fields[field])
      )
        continue;
      if (!proposal || proposal.status !== 'executed' || proposal.decision?.at !== stamp)
        violate(
          '4 decisions execute once',
          `${key}.${field} still holds the execution of ${proposalId} at ${stamp}, but its decision is ${proposal?.decision?.verdict ?? 'none'} at ${proposal?.decision?.at ?? '-'} (${proposal?.status ?? 'missing'})`,
        );
    }
  }

  // 5. Supersession follows the winning plan.
  const proposalsOf = new Map<string, RowOf<'proposals'>[]>();
  for (const proposal of proposals)
    proposalsOf.set(proposal.iterationId, [
      ...(proposalsOf.get(proposal.iterationId) ?? []),
      proposal,
    ]);
  for (const iteration of iterations) {
    if (iteration.status !== 'planned' || !iteration.plan) continue;
    const steps = iteration.plan.steps;
    for (const proposal of proposalsOf.get(iteration.id) ?? []) {
      const inPlan = proposal.stepIndex < steps.length;
      if (proposal.status === 'superseded' && inPlan)
        violate(
          '5 supersession',
          `${proposal.id} is superseded, but the winning plan of ${iteration.id} has step ${proposal.stepIndex} (${steps[proposal.stepIndex]!.tool})`,
        );
      if (proposal.status === 'pending' && !inPlan)
        violate(
          '5 supersession',
          `${proposal.id} is pending, but the winning plan of ${iteration.id} has only ${steps.length} steps`,
        );
      if (inPlan && proposal.tool !== steps[proposal.stepIndex]!.tool)
        violate(
          '5 supersession',
          `${proposal.id} shows ${proposal.tool}, but the winning plan's step is ${steps[proposal.stepIndex]!.tool}`,
        );
    }
  }

  // 6. Budgets hold across every runner while the relay is reachable (claimed runs). The relay
  // counts a run's tokens when its record arrives: a claimed run whose record never reached the
  // relay within its lease (the holder crashed, froze or was cut off after the model answered)
  // spent tokens nobody could count, as invariant 2 allows its conversation.
  const claimedRuns = new Map<
    string,
    { iterations: Set<string>; tokens: number; largest: number }
  >();
  for (const conversation of models.conversations) {
    if (!conversation.claimed || cutOff(conversation)) continue;
    const runs = claimedRuns.get(conversation.missionId) ?? {
      iterations: new Set(),
      tokens: 0,
      largest: 0,
    };
    runs.iterations.add(conversation.iterationId);
    runs.tokens += conversation.tokens;
    runs.largest = Math.max(runs.largest, conversation.tokens);
    claimedRuns.set(conversation.missionId, runs);
  }
  for (const [missionId, runs] of claimedRuns) {
    const budget = missions.get(missionId)?.budget;
    if (!budget) continue;
    if (runs.iterations.size > budget.maxRunsPerDay)
      violate(
        '6 budgets',
        `${missionId}: ${runs.iterations.size} claimed runs within a day, budget ${budget.maxRunsPerDay}`,
      );
    if (runs.tokens > budget.maxTokensPerDay + runs.largest)
      violate(
        '6 budgets',
        `${missionId}: ${runs.tokens} tokens within a day, budget ${budget.maxTokensPerDay} (+ one run of ${runs.largest})`,
      );
  }

  // 7. Nothing dropped in silence: every device change is at the relay, or listed as refused.
  let dropped = 0;
  for (const entry of ledger.entries.values()) {
    if (entry.deviceId === undefined || server.seen.has(entry.change.id)) continue;
    const device = devices.list.find((candidate) => candidate.id === entry.deviceId);
    if (device?.refused.some((refused) => refused.id === entry.change.id)) continue;
    if (dropped++ < 3)
      violate(
        '7 nothing dropped',
        `${entry.issuer}'s change ${entry.change.id} (${entry.change.table}/${entry.change.rowId}) never reached the relay and is not listed as refused`,
      );
  }

  // 8. Catch-up never floods: a `latest` mission plans only the newest due slot.
  const failedBefore = new Set<string>();
  for (const conversation of models.conversations) {
    const mission = missions.get(conversation.missionId);
    const row = serverRows.get(`missions/${conversation.missionId}`);
    if (
      !mission ||
      !row ||
      mission.catchUp.mode !== 'latest' ||
      // Judged by the mission as it was created: an edit of its schedule or catch-up (or a
      // pause) changes which slots were due when.
      row.stamps.schedule !== row.stamps._createdBy ||
      row.stamps.catchUp !== row.stamps._createdBy ||
      row.stamps.state !== row.stamps._createdBy
    )
      continue;
    if (failedBefore.has(conversation.iterationId)) continue;
    if (conversation.failed) failedBefore.add(conversation.iterationId);
    const scheduled = nextSlot(mission.schedule, conversation.slotMs - 1) === conversation.slotMs;
    const newer = nextSlot(mission.schedule, conversation.slotMs);
    if (
      scheduled &&
      newer !== undefined &&
      newer <= conversation.toldNowMs &&
      conversation.toldNowMs - conversation.slotMs > 5 * 60_000
    )
      violate(
        '8 catch-up',
        `${conversation.iterationId} was planned at ${new Date(conversation.toldNowMs).toISOString()} although the newer slot ${new Date(newer).toISOString()} was due`,
      );
  }

  const relayNow = Math.min(...server.processes.map((process) => process.now()));
  // Judged by the device's leader, the one host that plans (the others only wait to lead, and
  // nothing takes leadership from it once every fault healed): an open tab that never planned
  // keeps an older clock without making the leader's claims any less refused.
  const fastClock = (device: (typeof devices.list)[number]) =>
    (device.leader ? [device.leader] : device.hosts).every(
      (host) =>
        !host.node.alive || hlcWallMs(host.hlc.last()) > relayNow - options.healMs + maxDriftMs,
    );
  // 10. Transient failures are retried within the slot's lateness window (the engine's rule).
  const healthyUntil = options.healedAt + options.healMs;
  /** When the relay first held `iteration`'s failure (its last attempt), true time. */
  const failureKnownAt = (iteration: RowOf<'iterations'>) =>
    Math.min(
      ...[...ledger.entries.values()]
        .filter(
          ({ change }) =>
            change.table === 'iterations' &&
            change.rowId === iteration.id &&
            change.fields.status === 'failed' &&
            change.fields.attempts === iteration.attempts,
        )
        .map(
          (entry) =>
            server.arrivals.get(entry.change.id) ??
            (entry.deviceId === undefined ? entry.at : Infinity),
        ),
    );
  for (const iteration of iterations) {
    const mission = missions.get(iteration.missionId);
    const row = serverRows.get(`missions/${iteration.missionId}`);
    if (!mission || !row || mission.state !== 'active') continue;
    const retryAt = nextRetryAt({ iteration, catchUp: mission.catchUp });
    // Due again well inside the healthy time (ticks every minute, backoff already counted).
    if (retryAt === undefined || retryAt > healthyUntil - 5 * 60_000) continue;
    const slot = Date.parse(iteration.slot);
    // A slot of a schedule since edited away is no slot any more.
    if (slot <= scheduleSince(row) || nextSlot(mission.schedule, slot - 1) !== slot) continue;
    // Only its writer knew of the failure until it reached the relay: a device that failed
    // offline and closed before it could sync leaves the retry to others only from then on, and
    // nobody can retry once the slot's lateness window has closed. A retry that comes due in the
    // window's last minutes may find no tick before it closes (runners tick once a minute, after
    // a tick that may wait minutes on a slow model): the backoff, not a runner, left no time.
    const lateFrom = slot + mission.catchUp.maxLateMs - 5 * 60_000;
    if (failureKnownAt(iteration) > lateFrom || retryAt > lateFrom) continue;
    // Under `latest` and `none` a newer slot makes the retry moot (dueSlots).
    const newer = nextSlot(mission.schedule, slot);
    if (mission.catchUp.mode !== 'all' && newer !== undefined && newer <= healthyUntil) continue;
    // A device-only mission whose devices' clocks (HLCs) still run far ahead of the relay's:
    // the relay refuses their claims until its clock gets there (claim-rule.ts), and nobody
    // else may plan it.
    if (mission.runOn === 'device' && devices.list.every(fastClock)) continue;
    violate(
      '10 retries',
      `${iteration.id} failed with ${iteration.error?.code} (${iteration.error?.message}) after ${iteration.attempts} attempt(s), was due again at ${new Date(retryAt).toISOString()} and was never planned again`,
    );
  }
  return violations;
}

function describeDifference(row: StoredRow, there: StoredRow | undefined): string {
  if (!there) return 'the relay has no such row';
  const names = new Set([
    ...Object.keys(row.fields),
    ...Object.keys(there.fields),
    ...Object.keys(row.stamps),
    ...Object.keys(there.stamps),
  ]);
  for (const name of names) {
    if (
      stableJson(row.fields[name]) !== stableJson(there.fields[name]) ||
      row.stamps[name] !== there.stamps[name]
    )
      return `${name}: ${stableJson(row.fields[name])?.slice(0, 80)} at ${row.stamps[name]} here, ${stableJson(there.fields[name])?.slice(0, 80)} at ${there.stamps[name]} there`;
  }
  return 'same values';
}
