import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppError } from '../domain/errors'
import type { AppEnv } from './env'
import { errorHeaders, STATUS_OF_CODE, TITLES } from './errors'
import { errorResponses } from './openapi'

/**
 * RFC 9457 problem details, plus the `message` member that LakeSail clients read: the error
 * dialect of the REST surface, and of every route that belongs to no other surface.
 */
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
  .openapi('Problem', {
    example: {
      type: 'urn:edge-iam:problem:validation-failed',
      title: 'Validation failed',
      status: 400,
      detail: 'email must be a valid email address',
      instance: '/me/emails',
      code: 'VALIDATION_FAILED',
      message: 'email must be a valid email address',
      errors: [{ detail: 'must be a valid email address', pointer: '#/email' }],
    },
  })

const location = (i: AppError['issues'][number]) => {
  const path = i.path.map(String)
  if (i.in === 'query' || i.in === 'path') return { parameter: path.join('.') }
  if (i.in === 'header') return { header: path.join('.') }
  return { pointer: `#/${path.join('/')}` }
}

export const renderProblem = (c: Context<AppEnv>, err: AppError, headers: Record<string, string> = {}) => {
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
  return c.json(body, status, { 'Content-Type': 'application/problem+json', ...errorHeaders(err), ...headers })
}

/** Documented problem responses for the given statuses. */
export const problems = <S extends number>(...statuses: S[]) =>
  errorResponses(Problem, 'application/problem+json', statuses)
