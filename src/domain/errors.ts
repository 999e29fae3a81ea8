export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'METHOD_NOT_ALLOWED'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'INTERNAL'

/** One problem with the input: where it is and what a person should fix. */
export type Issue = {
  path: readonly (string | number)[]
  message: string
  in?: 'body' | 'query' | 'path' | 'header'
}

/** A domain failure. It knows nothing of HTTP; each surface renders it in its own dialect. */
export class AppError extends Error {
  readonly code: ErrorCode
  readonly issues: readonly Issue[]
  /** Seconds until a throttled caller may retry. */
  readonly retryAfter?: number
  /** A finer, stable reason, e.g. NO_ACCESS for a caller without access to the product scope. */
  readonly detailCode?: string
  constructor(
    code: ErrorCode,
    message: string,
    options: { issues?: readonly Issue[]; retryAfter?: number; detailCode?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.issues = options.issues ?? []
    this.retryAfter = options.retryAfter
    this.detailCode = options.detailCode
  }
}

export const invalid = (message: string, issues?: readonly Issue[]) =>
  new AppError('VALIDATION_FAILED', message, { issues })
export const unauthenticated = (message = 'Authentication required') => new AppError('UNAUTHENTICATED', message)
export const forbidden = (message: string) => new AppError('FORBIDDEN', message)
export const notFound = (message: string) => new AppError('NOT_FOUND', message)
export const conflict = (message: string) => new AppError('CONFLICT', message)
export const rateLimited = (retryAfter: number, message = `Too many requests: try again in ${retryAfter} seconds`) =>
  new AppError('RATE_LIMITED', message, { retryAfter })
export const unavailable = (message: string) => new AppError('UNAVAILABLE', message)

/** A UNIQUE violation from D1, wrapped by Drizzle or not. */
export const isUniqueViolation = (err: unknown): boolean => {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e.message.includes('UNIQUE constraint failed') || e.message.includes('SQLITE_CONSTRAINT_UNIQUE')) return true
  }
  return false
}
