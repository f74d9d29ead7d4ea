import { describe, expect, it } from 'vitest';
import type { Actor } from '../model/actor.ts';
import type { Runner } from '../model/iteration.ts';
import type { LanguageModel } from '../ports.ts';
import { iterationIdOf } from '../schedule/slots.ts';
import { createFixedClock } from '../testing/fixed-clock.ts';
import { createReplica } from '../testing/replicas.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';

const minute = 60_000;
const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const person: Actor = { kind: 'user', deviceId: 'dev_a' };

function stepsModel(name: string, steps: number): LanguageModel {
  return createScriptedModel((request) =>
    request.messages.length > 2
      ? { content: `${name} proposes ${steps} step(s).` }
      : {
          toolCalls: Array.from({ length: steps }, (_, index) => ({
            name: 'create_task',
            arguments: { title: `${name} step ${index}` },
          })),
        },
  );
}

describe('supersession after three plans of one slot', () => {
  it('follows the current winner whatever order the plans arrive in (bug: steps stayed superseded)', async () => {
    const clock = createFixedClock(start);
    const side = (runner: Runner, prefix: string, steps: number) =>
      createReplica({ runner, clock, idPrefix: prefix, model: stepsModel(prefix, steps) });
    // Device A plans first with 3 steps, the relay next with 1, device C last with 3: all cut off
    // from each other, so each plans the slot.
    const deviceA = side({ kind: 'device', deviceId: 'dev_a' }, 'A', 3);
    const relay = side({ kind: 'relay', instanceId: 'relay_1' }, 'R', 1);
    const deviceC = side({ kind: 'device', deviceId: 'dev_c' }, 'C', 3);
    const missionId = await deviceA.engine.createMission({
      actor: person,
      draft: {
        title: 'Daily',
        objective: 'Plan the day',
        schedule: { kind: 'interval', everyMs: 60 * minute, anchor: start },
        tools: { create_task: 'propose' },
      },
    });
    const mission = deviceA.store.recorded.slice();
    await relay.engine.applyRemote(mission);
    await deviceC.engine.applyRemote(mission);
    for (const [replica, at] of [
      [deviceA, 61],
      [relay, 62],
      [deviceC, 63],
    ] as const) {
      clock.set(start + at * minute);
      await replica.engine.tick();
    }
    // Another replica gets the relay's and C's plans first (C's steps 1 and 2 lose to the
    // relay's one-step plan), then A's, which wins and has steps 1 and 2.
    const observer = side({ kind: 'device', deviceId: 'dev_d' }, 'D', 0);
    await observer.engine.applyRemote(mission);
    await observer.engine.applyRemote(relay.store.recorded);
    await observer.engine.applyRemote(deviceC.store.recorded);
    const iterationId = iterationIdOf(missionId, start + 60 * minute);
    const statuses = async () =>
      (await observer.engine.rows('proposals', { field: 'iterationId', equals: iterationId }))
        .sort((a, b) => a.stepIndex - b.stepIndex)
        .map((proposal) => proposal.status);
    expect(await statuses()).toEqual(['pending', 'superseded', 'superseded']);
    await observer.engine.applyRemote(deviceA.store.recorded.slice(mission.length));
    const [iteration] = await observer.engine.rows('iterations');
    expect(iteration?.runner).toEqual({ kind: 'device', deviceId: 'dev_a' });
    expect(await statuses()).toEqual(['pending', 'pending', 'pending']);
  });
});
