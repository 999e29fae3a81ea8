import { z } from '@hono/zod-openapi'
import type { Page } from '../../domain/listing'
import type { JsonApiListQuery } from '../../http/query'

type Attributes = Record<string, unknown>

/** A resource object, with attributes trimmed to the sparse fieldset when one was asked for. */
export const resource = (type: string, id: string, attributes: Attributes, fields: string[] | null) => ({
  type,
  id,
  attributes: fields ? Object.fromEntries(Object.entries(attributes).filter(([k]) => fields.includes(k))) : attributes,
})

const pageLink = (url: URL, number: number, size: number) => {
  const link = new URL(url)
  link.searchParams.set('page[number]', String(number))
  link.searchParams.set('page[size]', String(size))
  return link.toString()
}

/** A collection document: data, meta (`count` and `more` when counted), and paging links. */
export const collection = <T>(
  requestUrl: string,
  type: string,
  page: Page<T>,
  q: JsonApiListQuery,
  toResource: (item: T) => { id: string; attributes: Attributes },
) => {
  const url = new URL(requestUrl)
  const { number, size } = q.page
  const last = page.count === undefined ? undefined : Math.max(1, Math.ceil(page.count / size))
  return {
    data: page.items.map((item) => {
      const { id, attributes } = toResource(item)
      return resource(type, id, attributes, q.fields)
    }),
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

/** The OpenAPI schema of a collection of one resource type. */
export const CollectionSchema = (name: string, type: string, attributes: z.ZodObject) =>
  z
    .object({
      data: z.array(z.object({ type: z.literal(type), id: z.string(), attributes: attributes.partial() })),
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
