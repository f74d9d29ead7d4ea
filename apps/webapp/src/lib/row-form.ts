import { GoalSchema, NoteSchema, TaskSchema } from '@baton/engine';
import type { RowOf } from '@baton/engine';
import type { z } from 'zod';
import { zodFieldErrors, type FieldErrors } from './forms.ts';

/**
 * The one list-and-edit pattern of the person's own tables (tasks, notes, goals): each table is
 * described once here, by its zod schema (what a valid row is) and its fields (how each is typed
 * in); RowForm.svelte renders the new-row and the edit forms from that, and checks them with the
 * schema. Pure, so the checks are unit-tested.
 */
export type RowTable = 'tasks' | 'notes' | 'goals';

/** A row of one of those tables, as the lists read it. */
export type PersonRow = RowOf<'tasks'> | RowOf<'notes'> | RowOf<'goals'>;

export interface RowField {
  name: string;
  label: string;
  kind: 'text' | 'textarea' | 'date' | 'select' | 'number';
  options?: ReadonlyArray<{ value: string; label: string }>;
  placeholder?: string;
  min?: number;
  max?: number;
  /** Takes the whole width of the form's grid. */
  wide?: boolean;
  /** The message when the value does not fit, in place of the schema's. */
  invalid?: string;
  /** What a new row starts with. */
  initial: string | number | null;
}

/** What the inputs hold: text, or a number (null when a number input is emptied). */
export type RowValues = Record<string, string | number | null>;

export interface RowFormSpec {
  table: RowTable;
  /** One row in words ("task"): the add button, the form's name and its input ids. */
  noun: string;
  schema: z.ZodObject;
  /** The fields of the new-row form, then of the edit form, in order. */
  add: readonly RowField[];
  edit: readonly RowField[];
}

const title: RowField = { name: 'title', label: 'Title', kind: 'text', initial: '', wide: true };

const priority: RowField = {
  name: 'priority',
  label: 'Priority',
  kind: 'select',
  initial: 'normal',
  options: [
    { value: 'low', label: 'Low' },
    { value: 'normal', label: 'Normal' },
    { value: 'high', label: 'High' },
  ],
};
const due: RowField = { name: 'due', label: 'Due', kind: 'date', initial: '' };

export const taskForm: RowFormSpec = {
  table: 'tasks',
  noun: 'task',
  schema: TaskSchema,
  // One line on a wide screen: the title takes most of it (app.css `.add-task`).
  add: [{ ...title, wide: false, placeholder: 'What needs doing?' }, due, priority],
  edit: [
    title,
    due,
    priority,
    { name: 'notes', label: 'Notes', kind: 'textarea', initial: '', wide: true },
  ],
};

const noteFields: RowField[] = [
  title,
  { name: 'body', label: 'Body', kind: 'textarea', initial: '', wide: true },
];

export const noteForm: RowFormSpec = {
  table: 'notes',
  noun: 'note',
  schema: NoteSchema,
  add: noteFields,
  edit: noteFields,
};

const goalFields: RowField[] = [
  { ...title, wide: false },
  {
    name: 'target',
    label: 'Target',
    kind: 'text',
    initial: '',
    placeholder: 'e.g. run 5 km by June',
  },
  {
    name: 'progress',
    label: 'Progress (%)',
    kind: 'number',
    initial: 0,
    min: 0,
    max: 100,
    invalid: 'progress must be a number from 0 to 100',
  },
];

export const goalForm: RowFormSpec = {
  table: 'goals',
  noun: 'goal',
  schema: GoalSchema,
  add: goalFields,
  edit: goalFields,
};

/** The inputs of a form: a row's values (an edit), or each field's start (a new row). */
export function formValues(fields: readonly RowField[], row?: PersonRow): RowValues {
  const values: RowValues = {};
  const current = new Map<string, unknown>(row ? Object.entries(row) : []);
  for (const field of fields) {
    const value = row ? current.get(field.name) : field.initial;
    values[field.name] =
      value === undefined || value === null
        ? field.kind === 'number'
          ? null
          : ''
        : (value as string | number);
  }
  return values;
}

/**
 * The inputs as the row's fields, checked with the table's schema: a new row by the whole schema
 * (its defaults fill the rest), an edit by the fields it shows. An emptied date is null (no
 * date); an emptied number says so rather than saving 0.
 */
export function checkRow(options: {
  spec: RowFormSpec;
  fields: readonly RowField[];
  values: RowValues;
  whole: boolean;
}): { ok: true; fields: Record<string, unknown> } | { ok: false; errors: FieldErrors } {
  const { spec, fields, values } = options;
  const input: Record<string, unknown> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (field.kind === 'date') input[field.name] = value || null;
    else if (field.kind === 'number') input[field.name] = value ?? Number.NaN;
    else input[field.name] = value ?? '';
  }
  const schema = options.whole
    ? spec.schema
    : spec.schema.pick(
        Object.fromEntries(fields.map((field) => [field.name, true])) as Record<string, true>,
      );
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, fields: parsed.data as Record<string, unknown> };
  const errors = zodFieldErrors(parsed.error);
  for (const field of fields)
    if (field.invalid && errors[field.name]) errors[field.name] = field.invalid;
  return { ok: false, errors };
}

/**
 * The fields of an edit that differ from the row: only they are saved, so a field the form showed
 * but the person left alone keeps its author and stamp (a later revert of the AI's change to it
 * still applies, and the badge keeps saying who wrote it).
 */
export function changedFields(
  fields: Record<string, unknown>,
  row: PersonRow,
): Record<string, unknown> {
  const current = new Map<string, unknown>(Object.entries(row));
  return Object.fromEntries(
    Object.entries(fields).filter(
      ([name, value]) => JSON.stringify(value) !== JSON.stringify(current.get(name) ?? null),
    ),
  );
}
