import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppError } from '../../domain/errors'
import type { AppEnv } from '../../http/env'
import { errorHeaders, STATUS_OF_CODE, TITLES } from '../../http/errors'
import { errorResponses } from '../../http/openapi'

export const JSON_API = 'application/vnd.api+json'

export const JsonApiErrors = z
  .object({
    errors: z.array(
      z.object({
        status: z.string(),
        code: z.string(),
        title: z.string(),
        detail: z.string(),
        source: z.object({
          pointer: z.string().optional(),
          parameter: z.string().optional(),
          header: z.string().optional(),
        }),
      }),
    ),
  })
  .openapi('JsonApiErrors')

/**
 * JSON:API error objects, one per issue. Query and path problems are 400 (JSON:API says so for
 * parameters); an invalid document body is 422.
 */
export const renderJsonApiError = (c: Context<AppEnv>, err: AppError, headers: Record<string, string> = {}) => {
  const bodyInvalid = err.code === 'VALIDATION_FAILED' && err.issues.some((i) => i.in === 'body')
  const status = bodyInvalid ? 422 : STATUS_OF_CODE[err.code]
  const base = { status: String(status), code: err.code, title: TITLES[err.code] }
  const errors = err.issues.length
    ? err.issues.map((i) => ({ ...base, detail: i.message, source: sourceOf(i) }))
    : [
        {
          ...base,
          detail: err.message,
          source: err.code === 'UNAUTHENTICATED' ? { header: 'Authorization' } : { pointer: '' },
        },
      ]
  return c.json({ errors }, status, { 'Content-Type': JSON_API, ...errorHeaders(err), ...headers })
}

const sourceOf = (i: AppError['issues'][number]) => {
  const path = i.path.map(String)
  if (i.in === 'query' || i.in === 'path') return { parameter: path.join('.') }
  if (i.in === 'header') return { header: path.join('.') }
  return { pointer: path.length ? `/${path.join('/')}` : '' }
}

export const jsonApiErrors = <S extends number>(...statuses: S[]) => errorResponses(JsonApiErrors, JSON_API, statuses)
