import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import { safeEqual, sha256 } from '../auth/crypto'
import { audit } from '../domain/audit'
import { forbidden, unauthenticated } from '../domain/errors'
import type { Principal } from '../domain/principal'
import { parseScope } from '../domain/roles'
import { principalFromApiKey, principalFromSession, rootPrincipal } from '../domain/sessions'
import type { AppEnv } from './env'

export const SESSION_COOKIE = 'session'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Finds who is calling, from `X-API-KEY`, `Authorization: Bearer` (a session token or the root
 * token), the `access-token` header, or the session cookie, and sets `c.var.principal`.
 * State-changing requests re-check the session in D1; `readOnly` routes (RPC reads sent as POST)
 * may use the KV copy.
 */
export const authenticate =
  (options: { readOnly?: boolean } = {}): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    c.set('principal', await resolvePrincipal(c, options.readOnly ?? SAFE_METHODS.has(c.req.method)))
    await next()
  }

const resolvePrincipal = async (c: Context<AppEnv>, readOnly: boolean): Promise<Principal> => {
  const deps = c.var.deps
  const scope = parseScope(c.req.header('x-context-source'))

  const apiKey = c.req.header('x-api-key')
  if (apiKey) return principalFromApiKey(deps, await sha256(apiKey), scope)

  const bearer = bearerOf(c)
  const root = deps.env.ROOT_TOKEN
  // A short root token would be guessable: it is ignored (and the bearer read as a session).
  if (bearer && root && root.length >= 32 && (await safeEqual(bearer, root))) {
    const workspaceId = Number.parseInt(c.req.header('account') ?? '', 10)
    const p = await rootPrincipal(deps, Number.isInteger(workspaceId) ? workspaceId : null, scope)
    deps.defer(audit(deps, p, { action: 'root.request', detail: { method: c.req.method, path: c.req.path } }))
    return p
  }

  const headerToken = bearer ?? c.req.header('access-token')
  if (headerToken) return principalFromSession(deps, headerToken, scope, !readOnly)

  const cookieToken = getCookie(c, SESSION_COOKIE, 'host')
  if (cookieToken) {
    if (!SAFE_METHODS.has(c.req.method)) checkSameOrigin(c)
    return principalFromSession(deps, cookieToken, scope, !readOnly)
  }
  throw unauthenticated()
}

/** The token of an `Authorization: Bearer` header. */
export const bearerOf = (c: Context<AppEnv>) =>
  /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? null

/**
 * CSRF protection for cookie-authenticated writes: the browser must say it came from this
 * service or from the dashboard at APP_ORIGIN.
 */
const checkSameOrigin = (c: Context<AppEnv>) => {
  const origin = c.req.header('origin')
  if (origin) {
    if ([new URL(c.req.url).origin, c.var.deps.config.appOrigin].includes(origin)) return
  } else if (['same-origin', 'none'].includes(c.req.header('sec-fetch-site') ?? '')) {
    return
  }
  throw forbidden('Cross-site request refused: the Origin of a cookie-authenticated request must be this service')
}

/** The principal that `authenticate` set; a route without it is a programming error. */
export const principalOf = (c: Context<AppEnv>): Principal => {
  const p = c.var.principal
  if (!p) throw unauthenticated()
  return p
}
