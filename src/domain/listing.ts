import { and, asc, desc, eq, gte, inArray, lte, notInArray, type SQL, sql } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'
import { fromBase64Url, toBase64Url } from '../auth/crypto'
import { invalid } from './errors'

/**
 * The list grammar every list route shares: typed filters with a closed set of operators,
 * allow-listed sort keys, offset pages (JSON:API) and opaque markers (REST).
 */
export type FieldType = 'string' | 'boolean' | 'datetime' | 'integer'
export type FilterOp = 'eq' | 'match' | 'in' | 'nin' | 'gte' | 'lte'
export type FilterValue = string | number | boolean | Date
export type Filter = { field: string; op: FilterOp; value: FilterValue | FilterValue[] }

/** What a list accepts, by wire name: declared once per resource, read by surfaces and SQL. */
export type ListSpec = {
  filters: Record<string, { type: FieldType; ops: readonly FilterOp[] }>
  sort: readonly string[]
}

/** Where a wire field lives in SQL: a column, or an expression over the row. */
export type Target = SQLiteColumn | SQL

export type SortKey = { field: string; desc: boolean }

export type ListQuery = {
  filters: Filter[]
  sort: SortKey[]
  page: { number: number; size: number }
  count: boolean
}

/** One page; `more` says whether rows follow it, `count` totals all pages when asked for. */
export type Page<T> = { items: T[]; more: boolean; count?: number }

/**
 * D1 binds at most 100 parameters per query: one filter takes at most 50 values, all filters
 * together at most 60, which leaves room for paging and scoping.
 */
export const MAX_IN_VALUES = 50
export const MAX_FILTER_VALUES = 60

const condition = (where: Target, f: Filter): SQL => {
  // Drizzle's operators take a column or an SQL expression alike; its overloads only type them
  // apart. Columns keep their encoders (a Date becomes epoch milliseconds).
  const target = where as SQLiteColumn
  const values = Array.isArray(f.value) ? f.value : [f.value]
  switch (f.op) {
    case 'eq':
      return Array.isArray(f.value) ? inArray(target, values) : eq(target, f.value)
    case 'in':
      return inArray(target, values)
    case 'nin':
      return notInArray(target, values)
    case 'gte':
      return gte(target, f.value)
    case 'lte':
      return lte(target, f.value)
    case 'match':
      // instr() instead of LIKE: a literal, case-insensitive substring, free of D1's 50-byte
      // LIKE pattern limit and of wildcard escaping.
      return sql`instr(lower(${target}), lower(${String(f.value)})) > 0`
  }
}

/** The WHERE clause for parsed filters; only fields with a SQL target can be filtered. */
export const toWhere = (targets: Record<string, Target>, filters: readonly Filter[]) => {
  const parts = filters.map((f) => {
    const target = targets[f.field]
    if (!target) throw invalid(`Unknown filter: ${f.field}`)
    return condition(target, f)
  })
  return parts.length ? and(...parts) : undefined
}

/** ORDER BY for sort keys, ending with the unique `key` so that pages never overlap. */
export const toOrderBy = (targets: Record<string, Target>, sort: readonly SortKey[], key: Target) => [
  ...sort.map((s) => {
    const target = targets[s.field] as SQLiteColumn | undefined
    if (!target) throw invalid(`Unknown sort field: ${s.field}`)
    return s.desc ? desc(target) : asc(target)
  }),
  asc(key as SQLiteColumn),
]

/** Coerces one raw query value to a field's type, or says what is wrong with it. */
export const coerce = (type: FieldType, raw: string): FilterValue | { error: string } => {
  switch (type) {
    case 'string':
      return raw.length > 256 ? { error: 'must be at most 256 characters' } : raw
    case 'integer':
      return /^-?\d{1,15}$/.test(raw) ? Number(raw) : { error: 'must be an integer' }
    case 'boolean': {
      const v = raw.toLowerCase()
      if (['true', 't', 'yes', 'y', '1'].includes(v)) return true
      if (['false', 'f', 'no', 'n', '0'].includes(v)) return false
      return { error: 'must be a boolean' }
    }
    case 'datetime': {
      const ms = /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN
      return Number.isNaN(ms) ? { error: 'must be an ISO 8601 date or date-time' } : new Date(ms)
    }
  }
}

// REST lists page with an opaque marker: base64url of the key the next page starts after
// (null: from the beginning).

type MarkerKey = number | string | null

export const encodeMarker = (after: MarkerKey) => toBase64Url(new TextEncoder().encode(JSON.stringify({ after })))

export const decodeMarker = (marker: string): MarkerKey => {
  try {
    const { after } = JSON.parse(new TextDecoder().decode(fromBase64Url(marker)))
    if (after === null || typeof after === 'number' || typeof after === 'string') return after
  } catch {}
  throw invalid('marker is not one this service issued')
}

/**
 * Splits `limit + 1` rows fetched after `start` into a page and the marker of the next one.
 * With `limit` 0 the page is empty and the marker points where this one started.
 */
export const markerPage = <T>(
  rows: readonly T[],
  limit: number,
  keyOf: (row: T) => number | string,
  start: MarkerKey,
): { items: T[]; marker?: string } => {
  const items = rows.slice(0, limit)
  if (rows.length <= limit) return { items }
  const last = items.at(-1)
  return { items, marker: encodeMarker(last === undefined ? start : keyOf(last)) }
}
