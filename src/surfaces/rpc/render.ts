import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppError } from '../../domain/errors'
import type { AppEnv } from '../../http/env'
import { errorHeaders, STATUS_OF_CODE } from '../../http/errors'
import { errorResponses } from '../../http/openapi'

/** The dashboard's error body: the message, and the same message as Akto's `actionErrors`. */
export const ActionErrors = z
  .object({ error: z.string(), actionErrors: z.array(z.string()) })
  .openapi('ActionErrors', { example: { error: 'Invalid email', actionErrors: ['Invalid email'] } })

/** Rejected input and conflicts are 400 here, as the dashboard expects. */
export const renderRpcError = (c: Context<AppEnv>, err: AppError, headers: Record<string, string> = {}) => {
  const status = err.code === 'VALIDATION_FAILED' || err.code === 'CONFLICT' ? 400 : STATUS_OF_CODE[err.code]
  return c.json({ error: err.message, actionErrors: [err.message] }, status, { ...errorHeaders(err), ...headers })
}

export const rpcErrors = <S extends number>(...statuses: S[]) =>
  errorResponses(ActionErrors, 'application/json', statuses)
