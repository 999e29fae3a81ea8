import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppError, ErrorCode } from '../../domain/errors'
import type { AppEnv } from '../../http/env'
import { errorHeaders, STATUS_OF_CODE } from '../../http/errors'
import { errorResponses } from '../../http/openapi'

const TITLES: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'Validation failed',
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Forbidden',
  NOT_FOUND: 'Not found',
  CONFLICT: 'Conflict',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  RATE_LIMITED: 'Too many requests',
  UNAVAILABLE: 'Service unavailable',
  INTERNAL: 'Internal server error',
}

/** RFC 9457 problem details, plus the `message` member that LakeSail clients read. */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: z.string(),
    message: z.string(),
    requestId: z.string().optional(),
    errors: z
      .array(
        z.object({
          detail: z.string(),
          pointer: z.string().optional(),
          parameter: z.string().optional(),
          header: z.string().optional(),
        }),
      )
      .optional(),
  })
  .openapi('Problem')

const location = (i: AppError['issues'][number]) => {
  const path = i.path.map(String)
  if (i.in === 'query' || i.in === 'path') return { parameter: path.join('.') }
  if (i.in === 'header') return { header: path.join('.') }
  return { pointer: `#/${path.join('/')}` }
}

export const renderProblem = (c: Context<AppEnv>, err: AppError) => {
  const status = STATUS_OF_CODE[err.code]
  const body: z.infer<typeof Problem> = {
    type: `urn:edge-iam:problem:${err.code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[err.code],
    status,
    detail: err.message,
    instance: c.req.path,
    code: err.code,
    message: err.message,
    requestId: c.var.requestId,
    ...(err.issues.length ? { errors: err.issues.map((i) => ({ detail: i.message, ...location(i) })) } : {}),
  }
  return c.json(body, status, { 'Content-Type': 'application/problem+json', ...errorHeaders(err) })
}

export const problems = <S extends number>(...statuses: S[]) =>
  errorResponses(Problem, 'application/problem+json', statuses)
