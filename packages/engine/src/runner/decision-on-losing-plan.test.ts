import { describe, expect, it } from 'vitest';
import type { Actor } from '../model/actor.ts';
import { decidedStep } from '../model/proposal.ts';
import { tableNames } from '../model/tables.ts';
import { iterationIdOf } from '../schedule/slots.ts';
import { createFixedClock } from '../testing/fixed-clock.ts';
import { createLink, createReplica, syncUntilQuiet } from '../testing/replicas.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';

const minute = 60_000;
const hour = 60 * minute;
const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const person: Actor = { kind: 'user', deviceId: 'dev_a' };

/** A model that proposes one task titled `title`, then answers. */
function oneTask(title: string) {
  return createScriptedModel((request) =>
    request.messages.length > 2
      ? { content: `Proposed ${title}.` }
      : { toolCalls: [{ name: 'create_task', arguments: { title } }] },
  );
}

describe('a decision on a plan that lost its slot', () => {
  it.each(['device first', 'relay first'] as const)(
    'keeps what was approved on the proposal and its task (%s to sync)',
    async (order) => {
      const clock = createFixedClock(start - minute);
      const device = createReplica({
        runner: { kind: 'device', deviceId: 'dev_a' },
        clock,
        idPrefix: 'D',
        model: oneTask('DEVICE'),
      });
      const relay = createReplica({
        runner: { kind: 'relay', instanceId: 'relay_1' },
        clock,
        idPrefix: 'R',
        model: oneTask('RELAY'),
      });
      const missionId = await device.engine.createMission({
        draft: {
          title: 'Daily plan',
          objective: 'Plan the day',
          schedule: { kind: 'interval', everyMs: hour, anchor: start },
          tools: { create_task: 'propose' },
        },
        actor: person,
      });
      const toRelay = createLink(device, relay);
      const toDevice = createLink(relay, device);
      await toRelay.deliver();

      // The relay plans the slot first; the offline device plans it later and approves step #0.
      clock.set(start + minute);
      expect((await relay.engine.tick()).planned).toHaveLength(1);
      clock.advance(1_000);
      expect((await device.engine.tick()).planned).toHaveLength(1);
      const proposalId = `${iterationIdOf(missionId, start)}#0`;
      clock.advance(1_000);
      await device.engine.decide({ proposalId, verdict: 'approved', actor: person });

      if (order === 'device first') await syncUntilQuiet({ there: toRelay, back: toDevice });
      else await syncUntilQuiet({ there: toDevice, back: toRelay });

      for (const table of tableNames)
        expect(await relay.store.list(table), table).toEqual(await device.store.list(table));
      for (const side of [device, relay]) {
        const [iteration] = await side.engine.rows('iterations');
        // The relay's plan won the slot...
        expect(iteration!.runner).toEqual({ kind: 'relay', instanceId: 'relay_1' });
        expect(iteration!.plan!.steps[0]!.params).toMatchObject({ title: 'RELAY' });
        // ...but #0 was decided on the device's step, and stays as that history.
        const [proposal] = await side.engine.rows('proposals');
        expect(proposal).toMatchObject({ id: proposalId, status: 'executed' });
        expect(decidedStep(proposal!)).toMatchObject({
          tool: 'create_task',
          params: { title: 'DEVICE' },
        });
        const tasks = await side.engine.rows('tasks');
        expect(tasks.map((task) => task.title)).toEqual(['DEVICE']);
        const pending = (await side.engine.rows('proposals')).filter(
          (row) => row.status === 'pending',
        );
        expect(pending).toEqual([]);
      }
    },
  );

  it('reads the step from the row when the decision does not record one (older rows)', () => {
    const row = { tool: 'create_task', params: { title: 'A' }, rationale: 'why' };
    expect(decidedStep({ ...row, decision: null })).toEqual(row);
    expect(
      decidedStep({
        ...row,
        decision: { verdict: 'rejected', by: person, at: '001795545100000-000003-dev_a' },
      }),
    ).toEqual(row);
    const step = { tool: 'create_note', params: { title: 'B' }, rationale: '' };
    expect(
      decidedStep({
        ...row,
        decision: { verdict: 'approved', by: person, at: '001795545100000-000003-dev_a', step },
      }),
    ).toEqual(step);
  });
});
