import type { Change } from '@baton/engine';
import type { SqlRunner } from '../db/database.ts';

/** A change of the log, read out of its page (change-log.ts) with its number in the user's log. */
export interface LoggedChange {
  user_id: string;
  user_seq: string;
  id: string;
  table_name: string;
  row_id: string;
  body: Change;
}

/**
 * Every change the log holds, one record per change, in each user's order (users by id): what
 * tests read where they would read a table of one row per change.
 */
export async function loggedChanges(runner: SqlRunner, userId?: string): Promise<LoggedChange[]> {
  return runner.query<LoggedChange>(
    `select page.user_id, (page.first_seq + given.n - 1)::text as user_seq,
            given.body ->> 'id' as id, given.body ->> 'table' as table_name,
            given.body ->> 'rowId' as row_id, given.body
       from change_pages as page,
            jsonb_array_elements(page.body::jsonb) with ordinality as given (body, n)
      where $1::text is null or page.user_id = $1
      order by page.user_id, page.last_seq, given.n`,
    [userId ?? null],
  );
}
