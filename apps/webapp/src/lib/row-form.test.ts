import { describe, expect, it } from 'vitest';
import { changedFields, checkRow, formValues, goalForm, noteForm, taskForm } from './row-form.ts';

describe('the forms of the person’s rows', () => {
  it('starts a new row from each field’s start and an edit from the row', () => {
    expect(formValues(taskForm.add)).toEqual({ title: '', due: '', priority: 'normal' });
    expect(formValues(goalForm.edit)).toEqual({ title: '', target: '', progress: 0 });
    const task = {
      id: 't1',
      title: 'Buy milk',
      notes: 'oat',
      due: null,
      priority: 'high',
      done: false,
    } as unknown as Parameters<typeof formValues>[1];
    expect(formValues(taskForm.edit, task)).toEqual({
      title: 'Buy milk',
      due: '',
      priority: 'high',
      notes: 'oat',
    });
  });

  it('checks a new row with the whole schema, so its defaults fill the rest', () => {
    const checked = checkRow({
      spec: taskForm,
      fields: taskForm.add,
      values: { title: 'Buy milk', due: '', priority: 'normal' },
      whole: true,
    });
    expect(checked).toEqual({
      ok: true,
      fields: { title: 'Buy milk', due: null, priority: 'normal', notes: '', done: false },
    });
  });

  it('checks an edit by the fields it shows, and words what is wrong', () => {
    expect(
      checkRow({
        spec: noteForm,
        fields: noteForm.edit,
        values: { title: ' ', body: 'x' },
        whole: false,
      }),
    ).toEqual({ ok: false, errors: { title: 'title is required' } });
    expect(
      checkRow({
        spec: goalForm,
        fields: goalForm.edit,
        values: { title: 'Run', target: '', progress: null },
        whole: false,
      }),
    ).toEqual({ ok: false, errors: { progress: 'progress must be a number from 0 to 100' } });
    expect(
      checkRow({
        spec: goalForm,
        fields: goalForm.edit,
        values: { title: 'Run', target: '5 km', progress: 40 },
        whole: false,
      }),
    ).toEqual({ ok: true, fields: { title: 'Run', target: '5 km', progress: 40 } });
  });

  it('saves only the fields an edit changed, so the others keep their author', () => {
    const task = {
      id: 't1',
      title: 'Call the bank at 9',
      notes: '',
      due: null,
      priority: 'high',
      done: false,
    } as unknown as Parameters<typeof changedFields>[1];
    expect(
      changedFields({ title: 'Call the bank at 9', due: null, priority: 'low', notes: '' }, task),
    ).toEqual({ priority: 'low' });
    expect(
      changedFields({ title: 'Call the bank at 9', due: null, priority: 'high', notes: '' }, task),
    ).toEqual({});
  });
});
