import { builtinTools } from '@baton/engine';
import { describe, expect, it } from 'vitest';
import { applyPreset, matchingPreset, readToolsFor, toolPresets } from './tool-presets.ts';

const allowedNames = (allowed: Record<string, boolean>) =>
  Object.entries(allowed)
    .filter(([, on]) => on)
    .map(([name]) => name);
const preset = (id: string) => toolPresets.find((candidate) => candidate.id === id)!;

describe('readToolsFor', () => {
  it('allows the read tools of the data a mission reads, and no write tool', () => {
    const all = readToolsFor({ tasks: 'open', notes: true, goals: true });
    expect(allowedNames(all.allowed)).toEqual(
      builtinTools.filter((tool) => tool.kind === 'read').map((tool) => tool.name),
    );
    expect(allowedNames(all.allowed)).toHaveLength(9);
    expect(
      allowedNames(readToolsFor({ tasks: 'none', notes: true, goals: false }).allowed),
    ).toEqual(['list_notes', 'search_notes', 'read_note']);
    expect(
      allowedNames(readToolsFor({ tasks: 'none', notes: false, goals: false }).allowed),
    ).toEqual([]);
  });
});

describe('tool presets', () => {
  it('“Tasks only” reads open tasks and allows every task tool, writes asking first', () => {
    const chosen = applyPreset(preset('tasks'));
    expect(chosen.reads).toEqual({ tasks: 'open', notes: false, goals: false });
    expect(allowedNames(chosen.allowed)).toEqual([
      'list_tasks',
      'search_tasks',
      'get_task',
      'create_task',
      'update_task',
      'complete_task',
    ]);
    expect(chosen.policy['create_task']).toBe('propose');
  });

  it('“Notes only” reads notes and allows only note tools', () => {
    const chosen = applyPreset(preset('notes'));
    expect(chosen.reads).toEqual({ tasks: 'none', notes: true, goals: false });
    expect(allowedNames(chosen.allowed).every((name) => name.includes('note'))).toBe(true);
    expect(allowedNames(chosen.allowed)).toHaveLength(6);
  });

  it('“Everything, asking first” allows all 19 tools with no write acting on its own', () => {
    const chosen = applyPreset(preset('everything'));
    expect(allowedNames(chosen.allowed)).toHaveLength(builtinTools.length);
    expect(Object.values(chosen.policy).every((policy) => policy === 'propose')).toBe(true);
  });

  it('names the preset the fields match, and none once a field departs from it', () => {
    const chosen = applyPreset(preset('tasks'));
    expect(matchingPreset(chosen)).toBe('tasks');
    expect(matchingPreset({ ...chosen, policy: { ...chosen.policy, create_task: 'auto' } })).toBe(
      null,
    );
    expect(matchingPreset({ ...chosen, reads: { ...chosen.reads, notes: true } })).toBe(null);
    expect(
      matchingPreset({
        reads: { tasks: 'open', notes: true, goals: true },
        ...readToolsFor(chosen.reads),
      }),
    ).toBe(null);
  });
});
