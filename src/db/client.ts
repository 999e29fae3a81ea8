import { type SQL, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/d1'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'

/**
 * Drizzle over D1, or over a D1 session (which has the `prepare` and `batch` Drizzle uses).
 * `casing` must match drizzle.config.ts. No `schema`: nothing uses the relational query API, and
 * with it every request (one Drizzle instance per D1 session) would rebuild the relations map.
 */
export const createDb = (d1: D1Database | D1DatabaseSession) => drizzle(d1 as D1Database, { casing: 'snake_case' })
export type Db = ReturnType<typeof createDb>

type ValueOf<C extends SQLiteColumn> = C['_']['notNull'] extends true ? C['_']['data'] : C['_']['data'] | null

/**
 * Columns selected under names of their own (`<prefix>_<key>`). Inside `db.batch`, Drizzle maps
 * D1's rows by column name, so two selected columns with one name (`users.id`, `logins.id`)
 * would shift values (drizzle-orm#6038); each column keeps its own decoder.
 */
export const named = <T extends Record<string, SQLiteColumn>>(prefix: string, columns: T) =>
  Object.fromEntries(
    Object.entries(columns).map(([key, column]) => [key, sql`${column}`.mapWith(column).as(`${prefix}_${key}`)]),
  ) as { [K in keyof T]: SQL.Aliased<ValueOf<T[K]>> }

/** D1 binds at most 100 parameters per statement. */
export const D1_MAX_PARAMETERS = 100

/**
 * Rows split so that a statement binding `perRow` parameters for each row (and `fixed` besides)
 * stays within D1's limit.
 */
export const chunksFor = <T>(rows: readonly T[], perRow: number, fixed = 0): T[][] => {
  const size = Math.max(1, Math.floor((D1_MAX_PARAMETERS - fixed) / perRow))
  const chunks: T[][] = []
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size))
  return chunks
}
