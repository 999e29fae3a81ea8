import { z } from '@hono/zod-openapi'
import { authenticate } from './authenticate'

/** Every way to authenticate, as OpenAPI security requirements (any one suffices). */
const SECURITY: Record<string, string[]>[] = [
  { Bearer: [] },
  { AccessToken: [] },
  { ApiKey: [] },
  { SessionCookie: [] },
]

/**
 * An email address as the wire carries it. Its format is checked by the domain, which answers
 * in each surface's own words (`Invalid email` for the dashboard).
 */
export const EmailAddress = z.string().max(320).openapi({ format: 'email', example: 'alice@example.com' })

/** A public id in a path: 10 upper-case letters and digits; anything else is a 400 saying `message`. */
export const PublicId = (message: string) => z.string().regex(/^[A-Z0-9]{10}$/, { message })

/** The headers that choose what an authenticated request acts on. */
export const ContextHeaders = z.object({
  account: z.string().max(20).optional().openapi({
    description: 'Root only: the id of the workspace to act in (other callers act in their session or token workspace)',
    example: '1000000',
  }),
  'x-context-source': z.string().max(20).optional().openapi({
    description:
      "The product scope whose role applies: API (default), AGENTIC, ENDPOINT, DAST, MCP or GEN_AI. A member's scope map decides their role in it.",
    example: 'API',
  }),
})

/** Spread into a route: documents its security and the context headers, and enforces them. */
export const secured = () => ({
  security: SECURITY,
  middleware: authenticate(),
})

export const SECURITY_SCHEMES = {
  Bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'A session token from POST /auth/login, an API key, or the ROOT_TOKEN secret.',
  },
  AccessToken: { type: 'apiKey', in: 'header', name: 'access-token', description: 'A session token, as Bearer.' },
  ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-KEY', description: 'An API token from /api/addApiToken.' },
  SessionCookie: { type: 'apiKey', in: 'cookie', name: '__Host-session', description: 'Set by POST /auth/login.' },
} as const

export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({
  content: { 'application/json': { schema } },
  required,
})

export const jsonResponse = <T extends z.ZodType>(
  schema: T,
  description: string,
  mediaType = 'application/json',
  example?: unknown,
) => ({
  content: { [mediaType]: { schema, ...(example === undefined ? {} : { example }) } },
  description,
})

/** Response entries for error statuses, sharing one schema. */
export const errorResponses = <S extends number>(schema: z.ZodType, mediaType: string, statuses: readonly S[]) =>
  Object.fromEntries(
    statuses.map((s) => [s, { content: { [mediaType]: { schema } }, description: STATUS_TEXT[s] ?? 'Error' }]),
  ) as Record<S, { content: Record<string, { schema: z.ZodType }>; description: string }>

const STATUS_TEXT: Record<number, string> = {
  400: 'The request was rejected; nothing was changed',
  401: 'No valid credentials',
  403: 'The caller may not do this',
  404: 'Not found, or not visible to the caller',
  405: 'The path exists, but not with this method (see Allow)',
  409: 'Conflicts with the current state',
  413: 'The request body is too large',
  415: 'The request body is not JSON',
  422: 'The request body is not valid',
  429: 'Throttled; see Retry-After',
  503: 'A service this needs is not configured',
}
