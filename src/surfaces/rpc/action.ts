import { createRoute, z } from '@hono/zod-openapi'
import { ContextHeaders, jsonBody, jsonResponse, secured } from '../../http/openapi'
import { rpcErrors } from './render'

/** An empty body: the action takes no parameters (unknown keys are ignored, as in Akto). */
const NoParameters = z.object({}).openapi({ description: 'No request parameters required', example: {} })

/** What most actions answer: an empty object. */
export const Empty = z.object({}).openapi('Empty', { description: 'Empty response body on success', example: {} })

const hasRequiredKeys = (schema: z.ZodObject) =>
  Object.values(schema.shape).some((field) => !(field as z.ZodType).safeParse(undefined).success)

/** Errors every action can answer: a rejected body, no credentials, a body too large or not JSON. */
const ALWAYS = [400, 401, 413, 415] as const

/**
 * The contract of one dashboard action: `POST /api/<name>`, authenticated, JSON in and out, errors
 * as `{error, actionErrors}`. A body is required exactly when its schema has required keys.
 */
export const rpcAction = <N extends string, B extends z.ZodObject, R extends z.ZodType>(config: {
  name: N
  tag: string
  summary: string
  description: string
  body?: B
  response: R
  example: z.infer<R>
  /** The 200 response's description. */
  answers?: string
  /** Error statuses this action may answer besides 400, 401, 413 and 415. */
  errors: readonly (403 | 404 | 429 | 503)[]
}) =>
  createRoute({
    method: 'post',
    path: `/api/${config.name}` as `/api/${N}`,
    operationId: config.name,
    tags: [`RPC · ${config.tag}`],
    summary: config.summary,
    description: config.description,
    ...secured(),
    request: {
      headers: ContextHeaders,
      body: jsonBody((config.body ?? NoParameters) as B, config.body ? hasRequiredKeys(config.body) : false),
    },
    responses: {
      200: jsonResponse(config.response, config.answers ?? 'Done', 'application/json', config.example),
      ...rpcErrors(...ALWAYS, ...config.errors),
    },
  })
