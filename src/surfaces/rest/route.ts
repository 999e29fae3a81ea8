import { createRoute, type RouteConfig, z } from '@hono/zod-openapi'
import { ContextHeaders, jsonBody, jsonResponse, PublicId, secured } from '../../http/openapi'
import { problems } from '../../http/problem'

/** A REST resource id: 10 upper-case letters and digits (anything else is a 400, never a 404). */
export const ResourceId = PublicId('must be 10 upper-case letters and digits, like A1B2C3D4E5').openapi({
  example: 'A1B2C3D4E5',
})

export const Timestamp = z.string().openapi({ format: 'date-time', example: '2026-11-23T10:00:00.000Z' })

/** `{items, marker?}`: one page of a list; `marker` is absent on the last page. */
export const ListOf = <T extends z.ZodType>(name: string, item: T) =>
  z
    .object({
      items: z.array(item),
      marker: z
        .string()
        .optional()
        .openapi({ description: 'Send back as `marker` for the next page; absent on the last page' }),
    })
    .openapi(name)

type Status = 200 | 201 | 204

/** The request part of a route, typed from what the operation declares, so handlers get typed input. */
type RequestOf<Pm, Q, B> = { headers?: typeof ContextHeaders } & (Pm extends z.ZodObject ? { params: Pm } : object) &
  (Q extends z.ZodObject ? { query: Q } : object) &
  (B extends z.ZodObject ? { body: { content: { 'application/json': { schema: B } }; required: boolean } } : object)

/**
 * The contract of one REST operation: authenticated unless `public`, errors as problem details,
 * `204` without a body. Path, query and body schemas validate and document at once.
 */
export const restRoute = <
  P extends string,
  M extends RouteConfig['method'],
  Pm extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  B extends z.ZodObject | undefined = undefined,
>(config: {
  method: M
  path: P
  operationId: string
  tag: string
  summary: string
  description: string
  params?: Pm
  query?: Q
  body?: B
  status: Status
  response?: z.ZodType
  example?: unknown
  errors: readonly number[]
  public?: boolean
}) => {
  const request = {
    ...(config.public ? {} : { headers: ContextHeaders }),
    ...(config.params ? { params: config.params } : {}),
    ...(config.query ? { query: config.query } : {}),
    ...(config.body ? { body: jsonBody(config.body) } : {}),
  } as RequestOf<Pm, Q, B>
  return createRoute({
    method: config.method,
    path: config.path,
    operationId: config.operationId,
    tags: [`REST · ${config.tag}`],
    summary: config.summary,
    description: config.description,
    ...(config.public ? {} : secured()),
    request,
    responses: {
      [config.status]:
        config.response === undefined
          ? { description: 'Done; no content' }
          : jsonResponse(config.response, config.summary, 'application/json', config.example),
      ...problems(...new Set([400, ...(config.public ? [] : [401]), ...config.errors])),
    },
  })
}
