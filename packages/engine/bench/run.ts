/**
 * Engine benchmark: `npm run bench -w @baton/engine`.
 * (a) merge throughput: 100k changes over 10k rows folded into a Map with mergeChanges;
 * (b) tick overhead per mission: 10k due missions on the memory store with an instant model.
 * Prints one line per measurement; medians over several runs.
 */
import { performance } from 'node:perf_hooks';
import { createEngine } from '../src/engine.ts';
import type { Actor } from '../src/model/actor.ts';
import type { LanguageModel } from '../src/ports.ts';
import type { Change } from '../src/sync/change.ts';
import { formatHlc } from '../src/sync/hlc.ts';
import { mergeChanges, type StoredRow } from '../src/sync/merge.ts';
import { createFixedClock, createSequentialIds } from '../src/testing/fixed-clock.ts';
import { createMemoryStore } from '../src/testing/memory-store.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const person: Actor = { kind: 'user', deviceId: 'dev_a' };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** A small deterministic PRNG (mulberry32), so every run merges the same log. */
function createRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function mergeLog(changeCount: number, rowCount: number): Change[] {
  const random = createRandom(42);
  const ids = createSequentialIds();
  const nodes = ['dev_a', 'dev_b', 'relay_1'];
  const changes: Change[] = [];
  for (let index = 0; index < changeCount; index += 1) {
    const node = nodes[Math.floor(random() * nodes.length)]!;
    const pick = random();
    const fields: Record<string, unknown> =
      pick < 0.4
        ? { title: `Task ${Math.floor(random() * 1_000)}` }
        : pick < 0.7
          ? { done: random() < 0.5 }
          : pick < 0.98
            ? { title: `Task ${index}`, notes: 'some notes', priority: 'normal', done: false }
            : { _deleted: true };
    changes.push({
      id: ids.ulid(),
      table: 'tasks',
      rowId: `task_${Math.floor(random() * rowCount)}`,
      fields,
      hlc: formatHlc({
        wallMs: start + Math.floor(random() * 86_400_000),
        counter: Math.floor(random() * 3),
        nodeId: node,
      }),
      actor: { kind: 'user', deviceId: node },
      deviceId: node,
    });
  }
  return changes;
}

function benchMerge(): void {
  const changeCount = 100_000;
  const rowCount = 10_000;
  const changes = mergeLog(changeCount, rowCount);
  const times: number[] = [];
  let rows = new Map<string, StoredRow>();
  for (let run = 0; run < 5; run += 1) {
    const began = performance.now();
    rows = mergeChanges(new Map(), changes);
    times.push(performance.now() - began);
  }
  const ms = median(times);
  console.log(
    `merge: ${changeCount.toLocaleString('en')} changes over ${rows.size.toLocaleString('en')} rows ` +
      `in ${ms.toFixed(1)} ms (median of ${times.length}) = ${Math.round((changeCount / ms) * 1_000).toLocaleString('en')} changes/s`,
  );
}

const instantModel: LanguageModel = {
  defaultModel: 'instant',
  async complete(request) {
    return {
      message: { content: 'Nothing to do today.', tool_calls: [] },
      usage: { promptTokens: 0, completionTokens: 0 },
      model: request.model,
      raw: null,
    };
  },
};

async function benchTick(missionCount: number): Promise<void> {
  const times: number[] = [];
  let planned = 0;
  for (let run = 0; run < 5; run += 1) {
    const store = createMemoryStore();
    const clock = createFixedClock(start - 60_000);
    const engine = createEngine({
      store,
      clock,
      ids: createSequentialIds(),
      model: instantModel,
      nodeId: 'relay_1',
      runner: { kind: 'relay', instanceId: 'relay_1' },
    });
    for (let index = 0; index < missionCount; index += 1) {
      await engine.createMission({
        id: `m_${String(index).padStart(6, '0')}`,
        draft: {
          title: `Mission ${index}`,
          objective: 'Look at my open tasks and propose what to do today.',
          schedule: { kind: 'interval', everyMs: 3_600_000, anchor: start },
          inputs: [{ table: 'tasks', where: 'open' }],
          tools: { list_tasks: 'auto', create_task: 'propose', complete_task: 'propose' },
        },
        actor: person,
      });
    }
    clock.set(start + 1_000);
    const began = performance.now();
    const report = await engine.tick();
    times.push(performance.now() - began);
    planned = report.planned.length;
    if (planned !== missionCount || report.errors.length > 0)
      throw new Error(
        `expected ${missionCount} planned, got ${planned}: ${JSON.stringify(report.errors[0])}`,
      );
  }
  const ms = median(times);
  console.log(
    `tick: ${missionCount.toLocaleString('en')} due missions, instant model, memory store: ` +
      `${ms.toFixed(0)} ms per tick (median of ${times.length}) = ${(ms / missionCount).toFixed(3)} ms per mission`,
  );
}

console.log(`@baton/engine bench (node ${process.version})`);
benchMerge();
await benchTick(10_000);
