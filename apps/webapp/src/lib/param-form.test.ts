import { builtinTools, defineWriteTool, type Tool } from '@baton/engine';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formValues, paramFields, paramsFromForm } from './param-form.ts';

const toolNamed = (name: string) => builtinTools.find((tool) => tool.name === name)!;

describe('the parameter form', () => {
  it('renders a field per parameter with its kind, options and bounds', () => {
    const fields = paramFields(toolNamed('update_task'))!;
    expect(fields.map((field) => [field.name, field.kind, field.required])).toEqual([
      ['taskId', 'row', true],
      ['title', 'text', false],
      ['notes', 'textarea', false],
      ['due', 'date', false],
      ['priority', 'select', false],
    ]);
    expect(fields.find((field) => field.name === 'priority')?.options).toEqual([
      'low',
      'normal',
      'high',
    ]);
    expect(fields.find((field) => field.name === 'due')?.nullable).toBe(true);
    const progress = paramFields(toolNamed('log_goal_progress'))!.find(
      (field) => field.name === 'progress',
    );
    expect(progress).toMatchObject({ kind: 'number', min: 0, max: 100, required: true });
  });

  it('renders booleans as checkboxes and date-times as date-time inputs', () => {
    const tool = defineWriteTool({
      name: 'remind',
      table: 'tasks',
      description: 'test',
      params: z.object({ at: z.iso.datetime(), loud: z.boolean().optional() }),
      execute: async () => ({ kind: 'stale', reason: 'test' }),
    }) as unknown as Tool;
    expect(paramFields(tool)?.map((field) => field.kind)).toEqual(['datetime', 'checkbox']);
  });

  it('offers no form for shapes it cannot render', () => {
    const tool = defineWriteTool({
      name: 'tag',
      table: 'tasks',
      description: 'test',
      params: z.object({ tags: z.array(z.string()) }),
      execute: async () => ({ kind: 'stale', reason: 'test' }),
    }) as unknown as Tool;
    expect(paramFields(tool)).toBeUndefined();
  });

  it('sends only what changed, and null for a cleared nullable field', () => {
    const tool = toolNamed('create_task');
    const fields = paramFields(tool)!;
    const original = { title: 'Buy milk', due: '2026-12-01' };
    const values = formValues(fields, original);
    expect(values).toEqual({ title: 'Buy milk', notes: '', due: '2026-12-01', priority: 'normal' });
    const result = paramsFromForm({
      tool,
      fields,
      original,
      values: { ...values, title: 'Buy oat milk', due: '', priority: 'high' },
    });
    expect(result).toEqual({
      edited: { title: 'Buy oat milk', due: null, priority: 'high' },
      errors: {},
    });
  });

  it('leaves a field the step did not set unset while it holds the default', () => {
    const tool = toolNamed('create_task');
    const fields = paramFields(tool)!;
    const original = { title: 'Water the plants' };
    const values = formValues(fields, original);
    expect(values['priority']).toBe('normal');
    expect(paramsFromForm({ tool, fields, original, values })).toEqual({ edited: {}, errors: {} });
  });

  it('takes away an optional field the step set when it is cleared, and validates (bug: "required")', () => {
    const tool = toolNamed('update_task');
    const fields = paramFields(tool)!;
    const original = { taskId: 'task_1', title: 'Write the report', priority: 'high' };
    const values = formValues(fields, original);
    expect(values['priority']).toBe('high');
    // null is how an edit takes a parameter away (the engine's applyEditedParams removes it).
    expect(paramsFromForm({ tool, fields, original, values: { ...values, priority: '' } })).toEqual(
      { edited: { priority: null }, errors: {} },
    );
    expect(
      paramsFromForm({ tool, fields, original, values: { ...values, title: '', priority: '' } }),
    ).toEqual({ edited: { title: null, priority: null }, errors: {} });
    // A required one still says so.
    const progress = toolNamed('log_goal_progress');
    expect(
      paramsFromForm({
        tool: progress,
        fields: paramFields(progress)!,
        original: { goalId: 'goal_1', progress: 40 },
        values: { goalId: '', progress: '40' },
      }).errors,
    ).toEqual({ goalId: 'required' });
  });

  it('checks the values with the tool schema, in words', () => {
    const tool = toolNamed('log_goal_progress');
    const fields = paramFields(tool)!;
    const original = { goalId: 'goal_1', progress: 40 };
    const check = (progress: string) =>
      paramsFromForm({ tool, fields, original, values: { goalId: 'goal_1', progress } }).errors;
    expect(check('140')).toEqual({ progress: 'at most 100' });
    expect(check('')).toEqual({ progress: 'required' });
    expect(check('60')).toEqual({});
    const title = paramsFromForm({
      tool: toolNamed('create_task'),
      fields: paramFields(toolNamed('create_task'))!,
      original: { title: 'x' },
      values: { title: '', notes: '', due: '', priority: '' },
    });
    expect(title.errors).toEqual({ title: 'title is required' });
    const due = paramsFromForm({
      tool: toolNamed('create_task'),
      fields: paramFields(toolNamed('create_task'))!,
      original: { title: 'x' },
      values: { title: 'x', notes: '', due: '12/01', priority: '' },
    });
    expect(due.errors).toEqual({ due: 'due must be YYYY-MM-DD' });
  });
});
