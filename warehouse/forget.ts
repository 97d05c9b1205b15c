import type { ClickHouseClient } from '@clickhouse/client';
import { setTimeout as delay } from 'node:timers/promises';

/** A ClickHouse string literal (18.16 has no query parameters): backslashes and quotes escaped. */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** What {@link forgetUserRows} changed, per statement. */
export interface ForgetRowsResult {
  readonly statements: readonly string[];
  /** Playlists the user made whose rows (and tracks) were deleted. */
  readonly playlists: number;
}

/**
 * Removes a user from the warehouse: their listens, feedback and recommendation lists, the playlists they made (their
 * tracks go with the rows; `playlist_tracks` is a view of them) and when those were first seen, and their name from
 * other users' lists (buddy id blanked, the explanation rewritten). The hourly views hold no user ids and keep their
 * totals. ClickHouse applies these as mutations; this waits until they are done (or `timeoutMs` passes: then it throws).
 */
export async function forgetUserRows(client: ClickHouseClient, database: string, userId: string, opts: { readonly timeoutMs?: number } = {}): Promise<ForgetRowsResult> {
  const u = sqlString(userId);
  const owned = await (await client.query({ query: `SELECT DISTINCT playlist_id FROM playlists WHERE owner_id = ${u}`, format: 'JSONEachRow' })).json<{ playlist_id: string }>();
  const statements = [
    `ALTER TABLE listen_events DELETE WHERE user_id = ${u}`,
    `ALTER TABLE feedback_events DELETE WHERE user_id = ${u}`,
    `ALTER TABLE recommendations DELETE WHERE user_id = ${u}`,
    `ALTER TABLE recommendations UPDATE buddy_id = '', reason = replaceAll(reason, ${sqlString(`buddy ${userId},`)}, 'buddy (who left),') WHERE buddy_id = ${u}`,
  ];
  if (owned.length > 0) {
    const ids = owned.map((r) => sqlString(r.playlist_id)).join(', ');
    statements.push(`ALTER TABLE playlists DELETE WHERE playlist_id IN (${ids})`, `ALTER TABLE playlist_first_seen DELETE WHERE playlist_id IN (${ids})`);
  }
  for (const query of statements) await client.command({ query });
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const [row] = await (await client.query({
      query: `SELECT count() AS n FROM system.mutations WHERE database = ${sqlString(database)} AND is_done = 0`, format: 'JSONEachRow',
    })).json<{ n: string | number }>();
    if (Number(row?.n ?? 0) === 0) break;
    if (Date.now() > deadline) throw new Error(`ClickHouse has not finished deleting ${userId}'s rows in ${opts.timeoutMs ?? 60_000} ms; the mutations go on (SELECT * FROM system.mutations WHERE is_done = 0)`);
    await delay(200); // polling a server-side job's progress, not synchronising with our own code
  }
  return { statements, playlists: owned.length };
}

/** Rows that mention the user, per table (0 everywhere after {@link forgetUserRows}). */
export async function userRowCounts(client: ClickHouseClient, userId: string): Promise<Record<string, number>> {
  const u = sqlString(userId);
  const queries: Record<string, string> = {
    listen_events: `SELECT count() AS n FROM listen_events WHERE user_id = ${u}`,
    feedback_events: `SELECT count() AS n FROM feedback_events WHERE user_id = ${u}`,
    recommendations: `SELECT count() AS n FROM recommendations WHERE user_id = ${u} OR buddy_id = ${u}`,
    playlists: `SELECT count() AS n FROM playlists WHERE owner_id = ${u}`,
  };
  const out: Record<string, number> = {};
  for (const [table, query] of Object.entries(queries)) {
    const [row] = await (await client.query({ query, format: 'JSONEachRow' })).json<{ n: string | number }>();
    out[table] = Number(row?.n ?? 0);
  }
  return out;
}
