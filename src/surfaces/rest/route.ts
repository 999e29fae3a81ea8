import { createRoute, type RouteConfig, z } from '@hono/zod-openapi'
import { ContextHeaders, jsonBody, jsonResponse, secured } from '../../http/openapi'
import { problems } from '../../http/problem'

/** A REST resource id: 10 upper-case letters and digits (anything else is a 400, never a 404). */
export const ResourceId = z
  .string()
  .regex(/^[A-Z0-9]{10}$/, { message: 'must be 10 upper-case letters and digits, like A1B2C3D4E5' })
  .openapi({ example: 'A1B2C3D4E5' })

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

// The parts as their own types, so that handlers get typed `c.req.valid('param' | 'query' | 'json')`.
type RequestOf<Params, Query, Body> = { headers?: typeof ContextHeaders } & (Params extends z.ZodObject
  ? { params: Params }
  : unknown) &
  (Query extends z.ZodObject ? { query: Query } : unknown) &
  (Body extends z.ZodObject
    ? { body: { content: { 'application/json': { schema: Body } }; required: boolean } }
    : unknown)

/**
 * The contract of one REST operation: authenticated unless `public`, errors as problem details,
 * `204` without a body. Path, query and body schemas validate and document at once.
 */
export const restRoute = <
  P extends string,
  M extends RouteConfig['method'],
  R extends z.ZodType | undefined = undefined,
  Params extends z.ZodObject | undefined = undefined,
  Query extends z.ZodObject | undefined = undefined,
  Body extends z.ZodObject | undefined = undefined,
>(config: {
  method: M
  path: P
  operationId: string
  tag: string
  summary: string
  description: string
  params?: Params
  query?: Query
  body?: Body
  status: Status
  response?: R
  example?: unknown
  errors: readonly number[]
  public?: boolean
}) =>
  createRoute({
    method: config.method,
    path: config.path,
    operationId: config.operationId,
    tags: [`REST · ${config.tag}`],
    summary: config.summary,
    description: config.description,
    ...(config.public ? {} : secured()),
    request: {
      ...(config.public ? {} : { headers: ContextHeaders }),
      ...(config.params ? { params: config.params } : {}),
      ...(config.query ? { query: config.query } : {}),
      ...(config.body ? { body: jsonBody(config.body) } : {}),
    } as RequestOf<Params, Query, Body>,
    responses: {
      [config.status]:
        config.response === undefined
          ? { description: 'Done; no content' }
          : jsonResponse(config.response, config.summary, 'application/json', config.example),
      ...problems(...new Set([400, ...(config.public ? [] : [401]), ...config.errors])),
    },
  })
