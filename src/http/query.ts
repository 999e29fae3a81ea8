import { z } from '@hono/zod-openapi'
import { AppError } from '../domain/errors'
import {
  coerce,
  type Filter,
  type FilterValue,
  isCoercionError,
  type ListQuery,
  type ListSpec,
  MAX_FILTER_VALUES,
  MAX_IN_VALUES,
  scopeMapOf,
} from '../domain/listing'

/** JSON:API 1.1 paging: `page[size]` defaults to and is capped at 1000. */
const MAX_PAGE_SIZE = 1000

const queryError = (parameter: string, message: string) =>
  new AppError('VALIDATION_FAILED', `${parameter} ${message}`, {
    issues: [{ path: [parameter], message, in: 'query' }],
  })

const stringOrList = z.union([z.string(), z.array(z.string())]).optional()

// A bare `filter[field]` means equality, or containment for a named scope-map filter.
const filterKey = (field: string, op: string) =>
  op === 'eq' || op === 'contains' ? `filter[${field}]` : `filter[${field}__${op}]`

/** `filter[with_role_scope][API]=ADMIN`: a scope map given as bracket pairs. */
const SCOPE_PAIR = /^(filter\[\w+\])\[([^\]]*)\]$/

/** `fields`: the sparse fieldset of each resource type asked for (`fields[iam:accounts]=name,email`). */
export type JsonApiListQuery = ListQuery & { fields: Record<string, string[]> }

const FIELDS_KEY = /^fields\[([\w:]+)\]$/

/**
 * The JSON:API list grammar for one resource type, from its ListSpec: a zod schema that
 * documents every parameter, and a parser that validates the raw query (unknown parameters,
 * filters and sort keys are rejected, never ignored) into a domain ListQuery.
 */
export const jsonApiListQuery = (type: string, spec: ListSpec, includedTypes: readonly string[] = []) => {
  const types = [type, ...includedTypes]
  const filterKeys = new Map<string, { field: string; op: Filter['op'] }>()
  for (const [field, { ops }] of Object.entries(spec.filters)) {
    for (const op of ops) filterKeys.set(filterKey(field, op), { field, op })
  }

  const schema = z.object({
    'page[number]': z.string().optional().openapi({ description: 'The page number, default 1', example: '1' }),
    'page[size]': z
      .string()
      .optional()
      .openapi({ description: `Items per page, 1 to ${MAX_PAGE_SIZE}, default ${MAX_PAGE_SIZE}` }),
    sort: z
      .string()
      .optional()
      .openapi({
        description: `Comma-separated sort keys, \`-\` for descending. Keys: ${spec.sort.join(', ')}`,
        example: '-created_at',
      }),
    count: z.string().optional().openapi({ description: 'true to return meta.count, the total number of items' }),
    ...Object.fromEntries(
      types.map((t) => [
        `fields[${t}]`,
        stringOrList.openapi({
          description: `Attributes of ${t} to return (sparse fieldset): fields[${t}][]=a or a comma list`,
        }),
      ]),
    ),
    included: stringOrList.openapi({
      description: spec.includes?.length
        ? `Related resources to include, as included[]=…: ${spec.includes.join(', ')}`
        : 'Related resources to include; none for this type',
    }),
    ...Object.fromEntries(
      [...filterKeys].map(([key, { field, op }]) => [
        key,
        stringOrList.openapi({ description: filterDescription(spec.filters[field]?.type ?? 'string', op) }),
      ]),
    ),
  })

  const parse = (raw: Record<string, string[]>): JsonApiListQuery => {
    const query: JsonApiListQuery = {
      filters: [],
      sort: [],
      page: { number: 1, size: MAX_PAGE_SIZE },
      count: false,
      fields: {},
      included: [],
    }
    const pairs = new Map<string, Record<string, string>>()
    for (const [rawKey, values] of Object.entries(raw)) {
      const key = rawKey.endsWith('[]') ? rawKey.slice(0, -2) : rawKey
      const pair = SCOPE_PAIR.exec(key)
      if (pair?.[1] && spec.filters[pair[1].slice(7, -1)]?.type === 'scopeMap') {
        const map = pairs.get(pair[1]) ?? {}
        map[pair[2] ?? ''] = values[0] ?? ''
        pairs.set(pair[1], map)
        continue
      }
      const secret = /^filter\[(\w+?)(__\w+)?\]$/.exec(key)?.[1]
      if (secret && spec.secret?.includes(secret)) throw queryError(key, 'is a secret: it cannot be filtered on')
      const single = () => {
        if (values.length !== 1) throw queryError(key, 'must be given once')
        return values[0] as string
      }
      if (key === 'page[number]') query.page.number = integerIn(key, single(), 1, Number.MAX_SAFE_INTEGER)
      else if (key === 'page[size]') query.page.size = integerIn(key, single(), 1, MAX_PAGE_SIZE)
      else if (key === 'count') query.count = booleanOf(key, single())
      else if (key === 'sort') query.sort = sortOf(spec, single())
      else if (FIELDS_KEY.test(key)) {
        const fieldsOf = FIELDS_KEY.exec(key)?.[1] ?? type
        if (!types.includes(fieldsOf))
          throw queryError(key, `names no type of this route; it takes ${types.map((t) => `fields[${t}]`).join(', ')}`)
        query.fields[fieldsOf] = values.flatMap(splitList)
      } else if (key === 'included') {
        query.included = values.flatMap(splitList)
        const unknown = query.included.find((name) => !spec.includes?.includes(name))
        if (unknown !== undefined)
          throw queryError(
            key,
            spec.includes?.length
              ? `cannot include ${unknown}; it may include: ${spec.includes.join(', ')}`
              : `cannot include anything for ${type}`,
          )
      } else {
        const filter = filterKeys.get(key)
        if (!filter) {
          const known = key.startsWith('filter[') ? `; filters: ${[...filterKeys.keys()].join(', ')}` : ''
          throw queryError(key, `is not a known parameter${known}`)
        }
        query.filters.push(filterOf(key, filter, spec.filters[filter.field]?.type ?? 'string', values))
      }
    }
    for (const [key, map] of pairs) {
      const filter = filterKeys.get(key)
      if (!filter) throw queryError(key, 'is not a known parameter')
      const value = scopeMapOf(map)
      if (isCoercionError(value)) throw queryError(key, value.error)
      query.filters.push({ ...filter, value })
    }
    const bound = query.filters.reduce(
      (n, f) =>
        n +
        (Array.isArray(f.value)
          ? f.value.length
          : typeof f.value === 'object' && !(f.value instanceof Date)
            ? Object.keys(f.value).length
            : 1),
      0,
    )
    if (bound > MAX_FILTER_VALUES) throw queryError('filter', `must have at most ${MAX_FILTER_VALUES} values in all`)
    return query
  }

  return { schema, parse }
}

/**
 * The query of a single-resource route: `fields[...]` and `included` only; anything else is a
 * 400 naming it.
 */
export const jsonApiShowQuery = (type: string) => {
  const list = jsonApiListQuery(type, { filters: {}, sort: [] })
  const schema = z.object({
    [`fields[${type}]`]: stringOrList.openapi({ description: `Attributes of ${type} to return` }),
    included: stringOrList.openapi({ description: 'Nothing to include' }),
  })
  const parse = (raw: Record<string, string[]>) => {
    const paging = Object.keys(raw).find(
      (k) => !FIELDS_KEY.test(k.replace(/\[\]$/, '')) && k.replace(/\[\]$/, '') !== 'included',
    )
    if (paging) throw queryError(paging, 'is not a known parameter here; this route takes fields[…] and included')
    const { fields, included } = list.parse(raw)
    return { fields, included }
  }
  return { schema, parse }
}

const splitList = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

const integerIn = (key: string, raw: string, min: number, max: number) => {
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw queryError(
      key,
      max === Number.MAX_SAFE_INTEGER ? 'must be a positive integer' : `must be between ${min} and ${max}`,
    )
  return n
}

const booleanOf = (key: string, raw: string) => {
  const v = coerce('boolean', raw)
  if (typeof v !== 'boolean') throw queryError(key, 'must be true or false')
  return v
}

const sortOf = (spec: ListSpec, raw: string) =>
  splitList(raw).map((part) => {
    const desc = part.startsWith('-')
    const field = desc ? part.slice(1) : part
    if (!spec.sort.includes(field))
      throw queryError('sort', `cannot sort by ${field}; sort keys: ${spec.sort.join(', ')}`)
    return { field, desc }
  })

const filterOf = (
  key: string,
  { field, op }: { field: string; op: Filter['op'] },
  type: Parameters<typeof coerce>[0],
  values: string[],
): Filter => {
  const list = type !== 'scopeMap' && (op === 'in' || op === 'nin' || (op === 'eq' && values.length > 1))
  const raws = list ? values.flatMap(splitList) : values
  if (!list && raws.length !== 1) throw queryError(key, 'must be given once')
  if (raws.length === 0) throw queryError(key, 'must not be empty')
  if (raws.length > MAX_IN_VALUES) throw queryError(key, `must have at most ${MAX_IN_VALUES} values`)
  const coerced = raws.map((raw): FilterValue => {
    const v = coerce(type, raw)
    if (isCoercionError(v)) throw queryError(key, v.error)
    return v
  })
  return { field, op, value: list ? coerced : (coerced[0] as FilterValue) }
}

const filterDescription = (type: string, op: string) =>
  ({
    eq: `equals (${type}); several values mean any of them`,
    match: 'contains, case-insensitive',
    in: `any of these comma-separated values (${type}), at most ${MAX_IN_VALUES}`,
    nin: `none of these comma-separated values (${type}), at most ${MAX_IN_VALUES}`,
    gte: `greater than or equal (${type})`,
    lte: `less than or equal (${type})`,
    contains: 'a scope map holding these scope → role pairs: filter[…][API]=ADMIN, or a JSON object',
  })[op] ?? op

/** REST lists: `limit` 0 to 100 (default 100) and the opaque `marker` of the previous page. */
export const markerQuery = z.object({
  limit: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return 100
      if (/^\d{1,3}$/.test(v) && Number(v) <= 100) return Number(v)
      ctx.addIssue({ code: 'custom', message: 'must be a whole number from 0 to 100' })
      return z.NEVER
    })
    .openapi({
      type: 'integer',
      format: 'int32',
      minimum: 0,
      maximum: 100,
      default: 100,
      description: 'The maximum number of items to list',
    }),
  marker: z
    .string()
    .max(512)
    .optional()
    .openapi({ description: 'The pagination token returned from the previous list operation' }),
})
