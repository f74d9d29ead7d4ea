import { toolDefinition, type Tool } from '@baton/engine';
import { zodFieldErrors, type FieldErrors } from './forms.ts';

/**
 * The form for a step's parameters, derived from its tool's zod schema (through the JSON schema
 * the model sees, which names every field's type, enum values and bounds). Pure: the Inbox
 * renders the fields, and the same schema checks what the person typed.
 */
export type ParamFieldKind =
  | 'text'
  | 'textarea'
  | 'number'
  | 'select'
  | 'checkbox'
  | 'date'
  | 'datetime'
  /** The id of one of the person's rows (a task, note or goal), chosen by title. */
  | 'row';

export interface ParamField {
  name: string;
  label: string;
  kind: ParamFieldKind;
  /** The schema requires it. */
  required: boolean;
  /** `null` is a value: clearing the field sends null (e.g. "no due date"). */
  nullable: boolean;
  options?: readonly string[];
  /** Numbers: bounds and whether only whole numbers fit. */
  min?: number;
  max?: number;
  integer?: boolean;
  maxLength?: number;
  /** Text: fewest characters (1 or more: an empty text is no value). */
  minLength?: number;
  /** What the tool takes when the step leaves the field out. */
  default?: unknown;
  /** Rows of this table, for `row` fields. */
  table?: 'tasks' | 'notes' | 'goals';
}

/** What the inputs hold: text for every kind but checkboxes. */
export type ParamValues = Record<string, string | boolean>;

type JsonSchema = Record<string, unknown>;

const datePattern = '^\\d{4}-\\d{2}-\\d{2}$';
const referenceTables = { taskId: 'tasks', noteId: 'notes', goalId: 'goals' } as const;

const labels: Record<string, string> = {
  taskId: 'Task',
  noteId: 'Note',
  goalId: 'Goal',
  due: 'Due date',
  text: 'Text to add',
  progress: 'Progress (%)',
};

/** "dueDate" → "Due date". */
function labelOf(name: string): string {
  if (labels[name]) return labels[name];
  const words = name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** One property of the JSON schema as a field, or undefined when no input fits it. */
function fieldOf(name: string, schema: JsonSchema, required: boolean): ParamField | undefined {
  let nullable = false;
  let base = schema;
  if (Array.isArray(schema.anyOf)) {
    const variants = schema.anyOf as JsonSchema[];
    const others = variants.filter((variant) => variant.type !== 'null');
    if (others.length !== 1 || others.length === variants.length) return undefined;
    nullable = true;
    base = others[0]!;
  }
  const common = {
    name,
    label: labelOf(name),
    required,
    nullable,
    ...('default' in schema ? { default: schema.default } : {}),
  };
  if (base.type === 'string' && Array.isArray(base.enum))
    return { ...common, kind: 'select', options: base.enum as string[] };
  if (base.type === 'string') {
    const maxLength = typeof base.maxLength === 'number' ? base.maxLength : undefined;
    const minLength = typeof base.minLength === 'number' ? base.minLength : undefined;
    const bounds = {
      ...(maxLength === undefined ? {} : { maxLength }),
      ...(minLength === undefined ? {} : { minLength }),
    };
    if (base.format === 'date' || base.pattern === datePattern)
      return { ...common, kind: 'date', ...bounds };
    if (base.format === 'date-time') return { ...common, kind: 'datetime' };
    const table = referenceTables[name as keyof typeof referenceTables];
    if (table) return { ...common, kind: 'row', table };
    return {
      ...common,
      kind: maxLength === undefined || maxLength > 1_000 ? 'textarea' : 'text',
      ...bounds,
    };
  }
  if (base.type === 'number' || base.type === 'integer')
    return {
      ...common,
      kind: 'number',
      integer: base.type === 'integer',
      ...(typeof base.minimum === 'number' ? { min: base.minimum } : {}),
      ...(typeof base.maximum === 'number' ? { max: base.maximum } : {}),
    };
  if (base.type === 'boolean') return { ...common, kind: 'checkbox' };
  return undefined;
}

/**
 * The fields of a tool's parameters in schema order, or undefined when some field has a shape
 * the form cannot render (an array, an object, a union): the Inbox then offers JSON only.
 */
export function paramFields(tool: Tool): ParamField[] | undefined {
  const schema = toolDefinition(tool).function.parameters as JsonSchema;
  if (schema.type !== 'object' || typeof schema.properties !== 'object') return undefined;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const fields: ParamField[] = [];
  for (const [name, property] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
    const field = fieldOf(name, property, required.has(name));
    if (!field) return undefined;
    fields.push(field);
  }
  return fields;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** An ISO instant as a `datetime-local` input shows it (local time, to the minute). */
function localDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The inputs' starting values for a step's parameters (the tool's default where it has none). */
export function formValues(
  fields: readonly ParamField[],
  params: Record<string, unknown>,
): ParamValues {
  const values: ParamValues = {};
  for (const field of fields) {
    const value = params[field.name] === undefined ? field.default : params[field.name];
    if (field.kind === 'checkbox') values[field.name] = value === true;
    else if (value === undefined || value === null) values[field.name] = '';
    else if (field.kind === 'datetime' && typeof value === 'string')
      values[field.name] = localDateTime(value);
    else values[field.name] = String(value);
  }
  return values;
}

const omit = Symbol('omit');
const remove = Symbol('remove');

/**
 * One input as the parameter value: `omit` when an optional field the step does not set is left
 * empty, `remove` when an optional field the step sets is cleared (the step no longer sets it;
 * an empty text stays '' where the schema takes it), null when a nullable field is cleared,
 * undefined when a required field has none (the schema, or the form, then says it is required).
 */
function valueOf(field: ParamField, raw: string | boolean, original: unknown): unknown {
  if (field.kind === 'checkbox') return raw === true;
  const text = String(raw);
  const words = field.kind === 'text' || field.kind === 'textarea';
  if (words ? text === '' : text.trim() === '') {
    if (field.nullable) return null;
    if (!field.required && original === undefined) return omit;
    if (!field.required && !(words && (field.minLength ?? 0) === 0)) return remove;
    return words ? '' : undefined;
  }
  if (field.kind === 'number') return Number(text.trim());
  if (field.kind === 'datetime') {
    const date = new Date(text);
    return Number.isNaN(date.getTime()) ? text : date.toISOString();
  }
  return text;
}

/** Friendlier words than zod's defaults for what a form field can get wrong. */
function issueMessage(issue: {
  code: string;
  minimum?: unknown;
  maximum?: unknown;
  origin?: unknown;
  expected?: unknown;
  input?: unknown;
}): string | undefined {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'required';
  if (issue.code === 'invalid_type' && issue.expected === 'number') return 'enter a number';
  if (issue.code === 'invalid_type' && issue.expected === 'int') return 'enter a whole number';
  if (issue.code === 'too_small' && issue.origin === 'string')
    return Number(issue.minimum) <= 1 ? 'required' : `at least ${String(issue.minimum)} characters`;
  if (issue.code === 'too_big' && issue.origin === 'string')
    return `at most ${Number(issue.maximum).toLocaleString()} characters`;
  if (issue.code === 'too_small' && issue.origin === 'number')
    return `at least ${String(issue.minimum)}`;
  if (issue.code === 'too_big' && issue.origin === 'number')
    return `at most ${String(issue.maximum)}`;
  if (issue.code === 'invalid_value') return 'choose one of the options';
  return undefined;
}

/**
 * What the form says: the parameters that differ from the step's (what "Approve with edits"
 * sends, merged over the step's own by the engine), and errors by field name from the tool's
 * zod schema, checked on the merged parameters as the engine will check them.
 */
export function paramsFromForm(options: {
  tool: Tool;
  fields: readonly ParamField[];
  values: ParamValues;
  original: Record<string, unknown>;
}): { edited: Record<string, unknown>; errors: FieldErrors } {
  const { fields, values, original } = options;
  const edited: Record<string, unknown> = {};
  const merged: Record<string, unknown> = { ...original };
  const missing: string[] = [];
  for (const field of fields) {
    const value = valueOf(field, values[field.name] ?? '', original[field.name]);
    // Left at the tool's default, a value the step did not set stays unset.
    if (value === omit) continue;
    if (value === remove) {
      // JSON has no undefined: an edit of null takes a parameter away (engine applyEditedParams).
      delete merged[field.name];
      edited[field.name] = null;
      continue;
    }
    if (
      original[field.name] === undefined &&
      JSON.stringify(value) === JSON.stringify(field.default)
    )
      continue;
    if (value === undefined) {
      // A required value the step sets cannot be taken away.
      if (original[field.name] !== undefined) missing.push(field.name);
      delete merged[field.name];
      continue;
    }
    merged[field.name] = value;
    if (JSON.stringify(value) !== JSON.stringify(original[field.name])) edited[field.name] = value;
  }
  const checked = options.tool.params.safeParse(merged, {
    error: (issue) => issueMessage(issue as Parameters<typeof issueMessage>[0]),
  });
  const errors = checked.success ? {} : zodFieldErrors(checked.error);
  for (const name of missing) errors[name] ??= 'required';
  return { edited, errors };
}

/** The form's values as JSON, for the "Advanced (JSON)" editor: the step's params, edited. */
export function valuesAsJson(options: {
  tool: Tool;
  fields: readonly ParamField[];
  values: ParamValues;
  original: Record<string, unknown>;
}): string {
  const { edited } = paramsFromForm(options);
  return JSON.stringify({ ...options.original, ...edited }, null, 2);
}
