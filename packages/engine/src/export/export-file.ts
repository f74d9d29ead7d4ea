import { z } from 'zod';
import { ActorSchema } from '../model/actor.ts';
import { tableNames, type TableName } from '../model/tables.ts';
import type { StoreReader } from '../ports.ts';
import { HlcStampSchema } from '../sync/hlc.ts';
import type { StoredRow } from '../sync/merge.ts';

export const exportFormat = 'baton-export';
/** The version this engine writes and reads. A newer file is refused, naming both versions. */
export const exportVersion = 1;

/** A row as every store keeps it: field values and the HLC stamp that wrote each. */
export const ExportRowSchema = z.strictObject({
  id: z.string().min(1).max(300),
  fields: z.record(z.string(), z.unknown()),
  stamps: z.record(z.string(), HlcStampSchema),
});
export type ExportRow = z.infer<typeof ExportRowSchema>;

const metaActors = ['_createdBy', '_updatedBy'] as const;

const TablesSchema = z.strictObject(
  Object.fromEntries(tableNames.map((table) => [table, z.array(ExportRowSchema).default([])])) as {
    [T in TableName]: z.ZodDefault<z.ZodArray<typeof ExportRowSchema>>;
  },
);

/**
 * What a file must say before anything else is read: that it is an export, of a version this
 * engine reads (so a newer file is named as newer, not as malformed).
 */
export const ExportHeadSchema = z
  .object({
    format: z.literal(exportFormat, { error: `format must be "${exportFormat}"` }),
    version: z.number({ error: 'version must be a number' }).int(),
  })
  .superRefine((head, context) => {
    if (head.version !== exportVersion)
      context.addIssue({
        code: 'custom',
        path: ['version'],
        message:
          head.version > exportVersion
            ? `the file is version ${head.version}, made by a newer Baton; this one reads version ${exportVersion}`
            : `unknown version ${head.version}; this Baton reads version ${exportVersion}`,
      });
  });

/**
 * One person's data as one JSON file (Settings → Your data): every row of every synced table as
 * stored, with its stamps, so an import merges (the newer write of each field wins) instead of
 * overwriting, and ids stay what they were. The values of each field are checked against their
 * table's schema when the rows are turned into changes (import-export.ts).
 */
export const ExportFileSchema = z
  .object({
    format: z.literal(exportFormat, { error: `format must be "${exportFormat}"` }),
    version: z.literal(exportVersion),
    exportedAt: z.iso.datetime(),
    /** The relay user signed in when the file was made, if any: shown, never trusted. */
    user: z.string().max(200).nullable().optional(),
    tables: TablesSchema,
  })
  .superRefine((file, context) => {
    for (const table of tableNames) {
      const seen = new Set<string>();
      file.tables[table].forEach((row, index) => {
        const at = ['tables', table, index];
        if (seen.has(row.id))
          context.addIssue({ code: 'custom', path: [...at, 'id'], message: 'id appears twice' });
        seen.add(row.id);
        for (const name of Object.keys(row.fields))
          if (!Object.hasOwn(row.stamps, name))
            context.addIssue({
              code: 'custom',
              path: [...at, 'stamps', name],
              message: 'a field without its stamp',
            });
        for (const name of Object.keys(row.stamps))
          if (!Object.hasOwn(row.fields, name))
            context.addIssue({
              code: 'custom',
              path: [...at, 'fields', name],
              message: 'a stamp without its field',
            });
        for (const name of metaActors) {
          if (!Object.hasOwn(row.fields, name)) continue;
          const actor = ActorSchema.safeParse(row.fields[name]);
          if (!actor.success)
            context.addIssue({
              code: 'custom',
              path: [...at, 'fields', name, ...(actor.error.issues[0]?.path ?? [])],
              message: actor.error.issues[0]?.message ?? 'not an actor',
            });
        }
      });
    }
  });

export type ExportFile = z.infer<typeof ExportFileSchema>;

/** Every row of every synced table in `store`, deleted ones too (so a delete travels). */
export async function buildExport(options: {
  store: StoreReader;
  exportedAt: number;
  user?: string | null | undefined;
}): Promise<ExportFile> {
  const tables = {} as Record<TableName, ExportRow[]>;
  for (const table of tableNames)
    tables[table] = (await options.store.list(table)).map((row: StoredRow) => ({
      id: row.id,
      fields: row.fields,
      stamps: row.stamps,
    }));
  return {
    format: exportFormat,
    version: exportVersion,
    exportedAt: new Date(options.exportedAt).toISOString(),
    ...(options.user ? { user: options.user } : {}),
    tables,
  };
}
