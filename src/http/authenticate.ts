import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import { safeEqual, sha256 } from '../auth/crypto'
import { audit } from '../domain/audit'
import { refuse } from '../domain/authorize'
import { AppError, forbidden, unauthenticated } from '../domain/errors'
import type { Principal } from '../domain/principal'
import { principalOfApiKey, rootPrincipal } from '../domain/principals'
import { parseScope, type Scope } from '../domain/roles'
import { looksLikeSessionToken, principalFromSessionToken } from '../domain/sessions'
import type { AppEnv } from './env'

export const SESSION_COOKIE = 'session'
/** How this service's cookies are set: `__Host-`, HttpOnly, Secure, SameSite=Lax, the whole site. */
export const HOST_COOKIE = { prefix: 'host', httpOnly: true, secure: true, sameSite: 'Lax', path: '/' } as const
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Finds who is calling and sets `c.var.principal`, from (in this order) `X-API-KEY`,
 * `Authorization: Bearer` (the root token, a session token, or an API key), the `access-token`
 * header, or the session cookie. Reads cost one KV get; writes re-check the caller in D1 within
 * their own batch (see domain/commit.ts).
 */
export const authenticate = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  c.set('principal', await resolvePrincipal(c))
  await next()
}

const resolvePrincipal = async (c: Context<AppEnv>): Promise<Principal> => {
  const deps = c.var.deps
  const scope = parseScope(c.req.header('x-context-source'))

  const apiKey = c.req.header('x-api-key')
  if (apiKey) return byApiKey(c, apiKey, scope)

  const bearer = bearerOf(c)
  if (bearer) {
    const root = deps.env.ROOT_TOKEN
    // A short root token would be guessable: it is ignored.
    if (root && root.length >= 32 && (await safeEqual(bearer, root))) {
      const workspaceId = Number.parseInt(c.req.header('account') ?? '', 10)
      const p = await rootPrincipal(deps, Number.isInteger(workspaceId) ? workspaceId : null, scope)
      deps.defer(audit(deps, p, { action: 'root.request', detail: { method: c.req.method, path: c.req.path } }))
      return p
    }
    // REST clients send API keys as bearer tokens; session tokens are JWTs.
    if (!looksLikeSessionToken(bearer)) return byApiKey(c, bearer, scope)
    return principalFromSessionToken(deps, bearer, scope)
  }

  const accessToken = c.req.header('access-token')
  if (accessToken) return principalFromSessionToken(deps, accessToken, scope)

  const cookieToken = getCookie(c, SESSION_COOKIE, 'host')
  if (cookieToken) {
    if (!SAFE_METHODS.has(c.req.method)) await checkSameOrigin(c)
    return principalFromSessionToken(deps, cookieToken, scope)
  }
  throw unauthenticated()
}

/** An API key's owner; a key that names nothing (a wrong key, or a wrong root token) is recorded. */
const byApiKey = async (c: Context<AppEnv>, key: string, scope: Scope) => {
  try {
    return await principalOfApiKey(c.var.deps, await sha256(key), scope)
  } catch (err) {
    if (err instanceof AppError && err.code === 'UNAUTHENTICATED') {
      const deps = c.var.deps
      deps.defer(
        audit(deps, null, {
          action: 'authenticate',
          outcome: 'denied',
          detail: { reason: 'unknown API key or root token', prefix: key.slice(0, 4), path: c.req.path },
        }),
      )
    }
    throw err
  }
}

/** The token of an `Authorization: Bearer` header. */
export const bearerOf = (c: Context<AppEnv>) =>
  /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? null

/**
 * CSRF protection for cookie-authenticated writes: the browser must say it came from this
 * service or from the dashboard at APP_ORIGIN.
 */
const checkSameOrigin = async (c: Context<AppEnv>) => {
  const origin = c.req.header('origin')
  if (origin) {
    if ([new URL(c.req.url).origin, c.var.deps.config.appOrigin].includes(origin)) return
  } else if (['same-origin', 'none'].includes(c.req.header('sec-fetch-site') ?? '')) {
    return
  }
  await refuse(
    c.var.deps,
    null,
    'authenticate',
    forbidden('Cross-site request refused: the Origin of a cookie-authenticated request must be this service'),
  )
}

/** The principal that `authenticate` set; a route without it is a programming error. */
export const principalOf = (c: Context<AppEnv>): Principal => {
  const p = c.var.principal
  if (!p) throw unauthenticated()
  return p
}
