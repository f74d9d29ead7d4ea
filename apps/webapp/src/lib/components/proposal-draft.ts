import { builtinTools, type Tool } from '@baton/engine';
import type { FieldErrors } from '../forms.ts';
import { formValues, paramFields, type ParamField, type ParamValues } from '../param-form.ts';
import type { ProposalRow } from '../queries.ts';

/** What the person typed on one pending proposal, kept by the Inbox across re-renders. */
export interface ProposalDraft {
  feedback: string;
  /** How the parameters are being edited: in the form, as JSON ("Advanced"), or not at all. */
  editing: 'form' | 'json' | null;
  /** The form's inputs, by parameter name. */
  values: ParamValues;
  /** The JSON editor's text. */
  json: string;
  /** By field: `feedback`, `params` (the JSON editor), or '' for the card as a whole. */
  errors: FieldErrors;
  /** The form's errors, by parameter name. */
  paramErrors: FieldErrors;
}

export function emptyDraft(): ProposalDraft {
  return { feedback: '', editing: null, values: {}, json: '', errors: {}, paramErrors: {} };
}

/** A proposal's tool and the form of its params (no form: unknown tool, or a shape it cannot show). */
export function stepForm(proposal: Pick<ProposalRow, 'tool'>): {
  tool: Tool | undefined;
  fields: ParamField[] | undefined;
} {
  const tool = builtinTools.find((candidate) => candidate.name === proposal.tool);
  return { tool, fields: tool ? paramFields(tool) : undefined };
}

/** Opens the editor on a draft: the form when the schema allows one, else the JSON. */
export function startEditing(draft: ProposalDraft, proposal: ProposalRow): void {
  const { fields } = stepForm(proposal);
  if (fields) {
    draft.values = formValues(fields, proposal.params);
    draft.editing = 'form';
  } else {
    draft.json = JSON.stringify(proposal.params, null, 2);
    draft.editing = 'json';
  }
  draft.paramErrors = {};
  delete draft.errors['params'];
}

export function cancelEditing(draft: ProposalDraft): void {
  draft.editing = null;
  draft.paramErrors = {};
  delete draft.errors['params'];
}

/** The JSON editor's text as params: a JSON object, or why not. */
export function jsonParams(text: string): { value: Record<string, unknown> } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { error: `Not valid JSON: ${(error as Error).message}` };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    return { error: 'The parameters must be a JSON object, e.g. {"title": "Buy milk"}.' };
  return { value: parsed as Record<string, unknown> };
}
