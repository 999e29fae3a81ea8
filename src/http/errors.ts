import { HTTPException } from 'hono/http-exception'
import { AppError, type ErrorCode } from '../domain/errors'

const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
}

export const STATUS_OF_CODE: Record<ErrorCode, 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 503> = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
}

/** A short title per code, for error bodies that carry one. */
export const TITLES: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'Validation failed',
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Forbidden',
  NOT_FOUND: 'Not found',
  CONFLICT: 'Conflict',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  RATE_LIMITED: 'Too many requests',
  UNAVAILABLE: 'Service unavailable',
  INTERNAL: 'Internal server error',
}

/** Anything thrown, as an AppError; unknown failures are logged and become a bare INTERNAL. */
export const toAppError = (err: unknown, requestId?: string): AppError => {
  if (err instanceof AppError) return err
  if (err instanceof HTTPException) {
    const code = CODE_OF_STATUS[err.status]
    if (code) {
      const message = err.status === 415 ? 'Content-Type must be application/json' : err.message || 'Bad request'
      return new AppError(code, message)
    }
  }
  console.error(JSON.stringify({ level: 'error', requestId, error: String(err), stack: (err as Error)?.stack }))
  return new AppError('INTERNAL', 'Internal server error')
}

/** Headers every error answer carries for its code. */
export const errorHeaders = (err: AppError): Record<string, string> => {
  if (err.code === 'RATE_LIMITED') return { 'Retry-After': String(err.retryAfter ?? 60) }
  if (err.code === 'UNAUTHENTICATED') return { 'WWW-Authenticate': 'Bearer realm="edge-iam"' }
  // The dashboard redirects to a product the user can reach when it sees this header.
  if (err.detailCode === 'NO_ACCESS') return { 'X-No-Access-Error': 'true' }
  return {}
}
