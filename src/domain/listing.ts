import { and, asc, Column, desc, eq, gte, inArray, is, lte, notInArray, type SQL, sql } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'
import { fromBase64Url, hmacKey, toBase64Url } from '../auth/crypto'
import { AppError, invalid } from './errors'

/**
 * The list grammar every list route shares: typed filters with a closed set of operators,
 * allow-listed sort keys, offset pages (JSON:API) and opaque markers (REST).
 */
/** `email`: a string compared as stored, in lower case. */
export type FieldType = 'string' | 'email' | 'boolean' | 'datetime' | 'integer' | 'scopeMap'
/** `contains`: a scope map holding at least the given scope → role pairs (JSON containment). */
export type FilterOp = 'eq' | 'match' | 'in' | 'nin' | 'gte' | 'lte' | 'contains'
export type ScopeMapValue = Record<string, string>
export type FilterValue = string | number | boolean | Date | ScopeMapValue
export type Filter = { field: string; op: FilterOp; value: FilterValue | FilterValue[] }

/** What a list accepts, by wire name: declared once per resource, read by surfaces and SQL. */
export type ListSpec = {
  filters: Record<string, { type: FieldType; ops: readonly FilterOp[] }>
  sort: readonly string[]
  /** Names that must never be filtered on (secrets), refused with a reason rather than as unknown. */
  secret?: readonly string[]
  /** Related resources `included` may ask for. */
  includes?: readonly string[]
}

/** Where a wire field lives in SQL: a column, or an expression over the row. */
export type Target = SQLiteColumn | SQL

export type SortKey = { field: string; desc: boolean }

export type ListQuery = {
  filters: Filter[]
  sort: SortKey[]
  page: { number: number; size: number }
  count: boolean
  /** Related resources to return alongside, from the spec's `includes`. */
  included: string[]
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
  // An expression has no encoder: a date is bound as the epoch milliseconds every time column holds.
  const bound = (v: FilterValue) => (v instanceof Date && !is(where, Column) ? v.getTime() : v)
  const values = (Array.isArray(f.value) ? f.value : [f.value]).map(bound)
  if (isScopeMap(f.value)) {
    // Keys were checked against the scope names by the parser; values are bound parameters.
    const pairs = Object.entries(f.value).map(
      ([scope, role]) => sql`json_extract(${target}, ${`$.${scope}`}) = ${role}`,
    )
    const contained = and(...pairs) ?? sql`1`
    if (f.op === 'contains') return contained
    return sql`(${contained} AND (SELECT count(*) FROM json_each(${target})) = ${pairs.length})`
  }
  switch (f.op) {
    case 'contains':
      throw invalid(`Only scope maps can be filtered by containment: ${f.field}`)
    case 'eq':
      return Array.isArray(f.value) ? inArray(target, values) : eq(target, bound(f.value))
    case 'in':
      return inArray(target, values)
    case 'nin':
      return notInArray(target, values)
    case 'gte':
      return gte(target, values[0])
    case 'lte':
      return lte(target, values[0])
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

/** Whether `coerce` or `scopeMapOf` said what is wrong (scope maps have upper-case keys only). */
export const isCoercionError = (v: unknown): v is { error: string } =>
  typeof v === 'object' && v !== null && typeof (v as { error?: unknown }).error === 'string'

const isScopeMap = (v: unknown): v is ScopeMapValue =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)

const SCOPE_KEY = /^[A-Z][A-Z_]{0,31}$/

/** A scope map from its JSON form or from bracket pairs, or what is wrong with it. */
export const scopeMapOf = (raw: unknown): ScopeMapValue | { error: string } => {
  let value = raw
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw)
    } catch {
      return { error: 'must be an object of scope → role, like {"API":"ADMIN"}' }
    }
  }
  if (!isScopeMap(value)) return { error: 'must be an object of scope → role, like {"API":"ADMIN"}' }
  const entries = Object.entries(value)
  if (entries.length === 0 || entries.length > 8) return { error: 'must name 1 to 8 scopes' }
  for (const [scope, role] of entries)
    if (!SCOPE_KEY.test(scope) || typeof role !== 'string' || role.length > 64)
      return { error: `has a bad entry for ${scope}: scopes are upper-case names, roles strings` }
  return value as ScopeMapValue
}

/** Coerces one raw query value to a field's type, or says what is wrong with it. */
export const coerce = (type: FieldType, raw: string): FilterValue | { error: string } => {
  switch (type) {
    case 'scopeMap':
      return scopeMapOf(raw)
    case 'string':
      return raw.length > 256 ? { error: 'must be at most 256 characters' } : raw
    case 'email':
      return raw.length > 320 ? { error: 'must be at most 320 characters' } : raw.trim().toLowerCase()
    case 'integer':
      return /^-?\d{1,15}$/.test(raw) ? Number(raw) : { error: 'must be an integer' }
    case 'boolean': {
      const v = raw.toLowerCase()
      if (['true', 't', 'yes', 'y', '1'].includes(v)) return true
      if (['false', 'f', 'no', 'n', '0'].includes(v)) return false
      return { error: 'must be a boolean' }
    }
    case 'datetime': {
      const date = /^(\d{4})-(\d{2})-(\d{2})/.exec(raw)
      const ms = date ? Date.parse(raw) : Number.NaN
      if (!date || Number.isNaN(ms)) return { error: 'must be an ISO 8601 date or date-time' }
      // Date.parse rolls 2024-02-31 over to March 2: a day the calendar does not have is refused.
      const [, y, m, d] = date.map(Number) as [number, number, number, number]
      const day = new Date(Date.UTC(y, m - 1, d))
      if (day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return { error: `has no such day: ${date[0]}` }
      return new Date(ms)
    }
  }
}

// REST lists page with an opaque marker: the key the next page starts after, signed, so that a
// client can only echo markers back, never build one (keyset paging: stable under inserts).

type MarkerKey = number | string | null

/** A REST list request: at most `limit` items (0 to 100) after the marker's position. */
export type MarkerQuery = { limit: number; marker?: string }
export type MarkerPage<T> = { items: T[]; marker?: string }

const encoder = new TextEncoder()

const markerKey = (secret: string) => hmacKey(`marker:${secret}`)

const signature = async (secret: string, payload: string) =>
  toBase64Url(new Uint8Array(await crypto.subtle.sign('HMAC', await markerKey(secret), encoder.encode(payload))))

/** Whether `mac` is the payload's signature (checked in constant time). */
const signed = async (secret: string, payload: string, mac: string) => {
  try {
    return await crypto.subtle.verify('HMAC', await markerKey(secret), fromBase64Url(mac), encoder.encode(payload))
  } catch {
    return false // not base64url
  }
}

/** A marker for one list (`list` names it, so one list's marker means nothing to another). */
export const signMarker = async (secret: string, list: string, after: MarkerKey) => {
  const payload = toBase64Url(encoder.encode(JSON.stringify({ list, after })))
  return `${payload}.${await signature(secret, payload)}`
}

export const readMarker = async (secret: string, list: string, marker: string): Promise<MarkerKey> => {
  const [payload = '', mac = '', ...rest] = marker.split('.')
  if (rest.length === 0 && mac && (await signed(secret, payload, mac))) {
    try {
      const decoded = JSON.parse(new TextDecoder().decode(fromBase64Url(payload)))
      const { after } = decoded
      if (decoded.list === list && (after === null || typeof after === 'number' || typeof after === 'string'))
        return after
    } catch {}
  }
  throw new AppError(
    'VALIDATION_FAILED',
    'marker is not one this list issued: send back the marker of its previous page',
    {
      issues: [{ path: ['marker'], message: 'is not one this list issued', in: 'query' }],
    },
  )
}

/**
 * One page of a keyset-paged list: `fetch` returns up to `take` rows after a key (null: from the
 * start) in key order. With `limit` 0 the page is empty, and its marker, when rows follow, points
 * where this one started, so a client walking pages still moves on.
 */
export const markerPage = async <T>(
  secret: string,
  list: string,
  q: MarkerQuery,
  fetch: (after: MarkerKey, take: number) => Promise<T[]>,
  keyOf: (row: T) => number | string,
): Promise<MarkerPage<T>> => {
  const start = q.marker === undefined ? null : await readMarker(secret, list, q.marker)
  const rows = await fetch(start, q.limit + 1)
  const items = rows.slice(0, q.limit)
  if (rows.length <= q.limit) return { items }
  const last = items.at(-1)
  return { items, marker: await signMarker(secret, list, last === undefined ? start : keyOf(last)) }
}
