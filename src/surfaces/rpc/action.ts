import { createRoute, z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, secured } from '../../http/openapi'
import { rpcErrors } from './render'

/** An empty body: the action takes no parameters (unknown keys are ignored, as in Akto). */
const NoParameters = z.object({}).openapi({ description: 'No request parameters required' })

/** What most actions answer: an empty object. */
export const Empty = z.object({}).openapi('Empty', { description: 'Empty response body on success' })

const hasRequiredKeys = (schema: z.ZodObject) =>
  Object.values(schema.shape).some((field) => !(field as z.ZodType).safeParse(undefined).success)

/**
 * The contract of one dashboard action: `POST /api/<name>`, authenticated, JSON in and out, errors
 * as `{error, actionErrors}`. A body is required exactly when its schema has required keys.
 */
export const rpcAction = <N extends string, B extends z.ZodObject, R extends z.ZodType>(config: {
  name: N
  tag: string
  summary: string
  body?: B
  response: R
  description?: string
  /** Reads may trust the session's KV copy. */
  readOnly?: boolean
}) =>
  createRoute({
    method: 'post',
    path: `/api/${config.name}` as `/api/${N}`,
    tags: [`RPC · ${config.tag}`],
    summary: config.summary,
    ...secured({ readOnly: config.readOnly }),
    request: {
      body: jsonBody((config.body ?? NoParameters) as B, config.body ? hasRequiredKeys(config.body) : false),
    },
    responses: {
      200: jsonResponse(config.response, config.description ?? 'Done'),
      ...rpcErrors(400, 401, 403, 404, 413, 415, 429, 503),
    },
  })
