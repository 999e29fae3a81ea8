import { z } from '@hono/zod-openapi'
import { AppError } from '../../domain/errors'
import type { Page } from '../../domain/listing'
import { ContextHeaders, jsonResponse, secured } from '../../http/openapi'
import { JSON_API, jsonApiErrors } from './render'

type Attributes = Record<string, unknown>
type Relationships = Record<string, { data: { type: string; id: string } | null }>

/** What a presenter gives for one record. */
export type Presented = { id: string; attributes: Attributes; relationships?: Relationships }

/** `fields`: the sparse fieldset of each type asked for. */
type Fields = Record<string, string[]>

/** A resource object, its attributes trimmed to the sparse fieldset of its type when one was asked for. */
export const resource = (type: string, r: Presented, fields: Fields = {}) => {
  const wanted = fields[type]
  return {
    type,
    id: r.id,
    attributes: wanted
      ? Object.fromEntries(Object.entries(r.attributes).filter(([k]) => wanted.includes(k)))
      : r.attributes,
    ...(r.relationships ? { relationships: r.relationships } : {}),
  }
}

const pageLink = (url: URL, number: number, size: number) => {
  const link = new URL(url)
  link.searchParams.set('page[number]', String(number))
  link.searchParams.set('page[size]', String(size))
  return link.toString()
}

/**
 * A collection document: data, meta (always; `count` and `more` when counted), paging links (self,
 * first, prev, next, and last when counted) and the included records.
 */
export const collection = <T>(
  requestUrl: string,
  type: string,
  page: Page<T>,
  q: { page: { number: number; size: number }; fields: Fields },
  toResource: (item: T) => Presented,
  included: { type: string; resource: Presented }[] = [],
) => {
  const url = new URL(requestUrl)
  const { number, size } = q.page
  const last = page.count === undefined ? undefined : Math.max(1, Math.ceil(page.count / size))
  return {
    data: page.items.map((item) => resource(type, toResource(item), q.fields)),
    ...(included.length ? { included: included.map((i) => resource(i.type, i.resource, q.fields)) } : {}),
    meta: page.count === undefined ? {} : { count: page.count, more: page.more },
    links: {
      self: url.toString(),
      first: pageLink(url, 1, size),
      ...(number > 1 ? { prev: pageLink(url, number - 1, size) } : {}),
      ...(page.more ? { next: pageLink(url, number + 1, size) } : {}),
      ...(last === undefined ? {} : { last: pageLink(url, last, size) }),
    },
  }
}

/** A single-resource document. */
export const single = (type: string, r: Presented, fields: Fields = {}, meta?: Record<string, unknown>) => ({
  data: resource(type, r, fields),
  ...(meta ? { meta } : {}),
})

const ResourceObject = (type: string, attributes: z.ZodObject) =>
  z.object({
    type: z.literal(type),
    id: z.string(),
    attributes: attributes.partial(),
    relationships: z
      .record(z.string(), z.object({ data: z.object({ type: z.string(), id: z.string() }).nullable() }))
      .optional(),
  })

/** The OpenAPI schema of a collection of one resource type. */
export const CollectionSchema = (name: string, type: string, attributes: z.ZodObject) =>
  z
    .object({
      data: z.array(ResourceObject(type, attributes)),
      included: z
        .array(z.object({ type: z.string(), id: z.string(), attributes: z.record(z.string(), z.unknown()) }))
        .optional(),
      meta: z.object({ count: z.number().int().optional(), more: z.boolean().optional() }),
      links: z.object({
        self: z.string(),
        first: z.string(),
        prev: z.string().optional(),
        next: z.string().optional(),
        last: z.string().optional(),
      }),
    })
    .openapi(name)

/** The OpenAPI schema of one resource document. */
export const SingleSchema = (name: string, type: string, attributes: z.ZodObject, meta?: z.ZodObject) =>
  z.object({ data: ResourceObject(type, attributes), ...(meta ? { meta } : {}) }).openapi(name)

/** An attribute a client may read but never set: present in a body, it is a 422 naming it. */
export const readOnly = z
  .unknown()
  .optional()
  .refine((v) => v === undefined, { message: 'is read-only and cannot be set' })
  .openapi({ readOnly: true })

/**
 * A request document `{data: {type, id?, attributes}}` whose attributes are checked strictly:
 * unknown ones are refused, never dropped. Accepted as application/vnd.api+json and as JSON.
 */
export const requestDocument = <S extends z.ZodRawShape>(type: string, attributes: S, example: Attributes) => {
  const schema = z
    .object({
      data: z.object({
        type: z.literal(type),
        id: z.string().max(64).optional(),
        attributes: z.strictObject(attributes),
      }),
    })
    .openapi({ example: { data: { type, attributes: example } } })
  return { content: { 'application/vnd.api+json': { schema }, 'application/json': { schema } }, required: true }
}

/** The route parts every JSON:API operation shares: its names and, unless public, its credentials. */
export const jsonApiRoute = (config: {
  tag: string
  operationId: string
  summary: string
  description: string
  public?: boolean
}) => ({
  operationId: config.operationId,
  tags: [`JSON:API · ${config.tag}`],
  summary: config.summary,
  description: config.description,
  ...(config.public ? {} : secured()),
})

export const headers = ContextHeaders

export const documentResponse = <T extends z.ZodType>(schema: T, description: string, example: unknown) =>
  jsonResponse(schema, description, JSON_API, example)

export const errorsFor = (publicRoute: boolean, ...statuses: number[]) =>
  jsonApiErrors(...new Set([400, ...(publicRoute ? [] : [401]), ...statuses]))

/** A domain error about body fields, pointed at where a JSON:API document holds them. */
export const underAttributes = (err: unknown) =>
  err instanceof AppError
    ? new AppError(err.code, err.message, {
        issues: err.issues.map((i) => (i.in === 'body' ? { ...i, path: ['data', 'attributes', ...i.path] } : i)),
      })
    : err
