import { z } from 'zod';
import { NoteSchema } from '../model/domain.ts';
import type { RowOf } from '../model/read-row.ts';
import { createdRowId, defineReadTool, defineWriteTool } from './tool.ts';

/** The compact view of a note the model sees in lists and searches. */
function noteExcerpt(note: RowOf<'notes'>) {
  return { id: note.id, title: note.title, excerpt: note.body.slice(0, 200) };
}

export const listNotes = defineReadTool({
  name: 'list_notes',
  table: 'notes',
  description: "List the person's notes (titles and the start of each body).",
  params: z.object({ limit: z.number().int().min(1).max(200).default(50) }),
  async execute(params, context) {
    const notes = await context.list('notes');
    return notes.slice(0, params.limit).map(noteExcerpt);
  },
});

export const readNote = defineReadTool({
  name: 'read_note',
  table: 'notes',
  description: 'Read one note in full by id.',
  params: z.object({ noteId: z.string().min(1) }),
  async execute(params, context) {
    const note = await context.get('notes', params.noteId);
    return note
      ? { id: note.id, title: note.title, body: note.body }
      : { error: `no note with id ${params.noteId}` };
  },
});

export const createNote = defineWriteTool({
  name: 'create_note',
  table: 'notes',
  description: 'Create a new note.',
  params: NoteSchema.pick({ title: true, body: true }).partial({ body: true }),
  async execute(params, context) {
    const rowId = createdRowId(context.proposalId, 'notes');
    return {
      kind: 'edits',
      edits: [{ table: 'notes', rowId, fields: NoteSchema.parse(params) }],
      result: { table: 'notes', rowId },
    };
  },
});

export const appendNote = defineWriteTool({
  name: 'append_note',
  table: 'notes',
  description: 'Append a paragraph to the end of an existing note.',
  params: z.object({ noteId: z.string().min(1), text: z.string().min(1).max(20_000) }),
  async execute(params, context) {
    const note = await context.get('notes', params.noteId);
    if (!note) return { kind: 'stale', reason: `the note ${params.noteId} no longer exists` };
    if (note.body.endsWith(params.text))
      return { kind: 'stale', reason: 'the note already ends with this text' };
    const body = note.body ? `${note.body}\n\n${params.text}` : params.text;
    return {
      kind: 'edits',
      edits: [{ table: 'notes', rowId: note.id, fields: { body } }],
      result: { table: 'notes', rowId: note.id },
    };
  },
});

export const searchNotes = defineReadTool({
  name: 'search_notes',
  table: 'notes',
  description: 'Find notes whose title or body contains the query (case-insensitive).',
  params: z.object({
    query: z.string().trim().min(1).max(200),
    limit: z.number().int().min(1).max(200).default(50),
  }),
  async execute(params, context) {
    const needle = params.query.toLowerCase();
    const notes = await context.list('notes');
    return notes
      .filter((note) => `${note.title}\n${note.body}`.toLowerCase().includes(needle))
      .slice(0, params.limit)
      .map(noteExcerpt);
  },
});

export const updateNote = defineWriteTool({
  name: 'update_note',
  table: 'notes',
  description:
    'Replace the title and/or the whole body of an existing note (to add to it, use append_note).',
  params: z.object({
    noteId: z.string().min(1),
    title: NoteSchema.shape.title.optional(),
    body: z.string().max(100_000).optional(),
  }),
  async execute({ noteId, ...patch }, context) {
    const note = await context.get('notes', noteId);
    if (!note) return { kind: 'stale', reason: `the note ${noteId} no longer exists` };
    const fields = Object.fromEntries(
      Object.entries(patch).filter(
        ([name, value]) => value !== undefined && note[name as keyof typeof note] !== value,
      ),
    );
    if (Object.keys(fields).length === 0)
      return { kind: 'stale', reason: 'the note already has these values' };
    return {
      kind: 'edits',
      edits: [{ table: 'notes', rowId: noteId, fields }],
      result: { table: 'notes', rowId: noteId },
    };
  },
});
