import { newPublicId } from '../auth/crypto'
import { signSession, verifySession } from '../auth/tokens'
import { logins } from '../db/schema'
import type { Deps } from './context'
import { AppError, unauthenticated } from './errors'
import type { Principal } from './principal'
import { principalOfSession, SESSION_ENDED } from './principals'
import type { Scope } from './roles'

/**
 * Sessions: a login row in D1 (the truth, and the list a user can revoke from), named by a
 * signed token; the principal it carries is kept in KV (see principals.ts).
 */
export const authSecret = (deps: Deps) => {
  const secret = deps.env.AUTH_SECRET
  if (!secret || secret.length < 32)
    throw new AppError('UNAVAILABLE', 'Sign-in is not configured: AUTH_SECRET must be set (32+ characters)')
  return secret
}

/** A new login for a user: its token, and the row to insert in the sign-in's batch. */
export const newSession = async (
  deps: Deps,
  user: { id: number; publicId: string },
  workspaceId: number | null,
  deviceId: string = crypto.randomUUID(),
) => {
  const now = deps.now()
  const loginId = newPublicId()
  const expiresAt = new Date(now.getTime() + deps.config.sessionTtlSeconds * 1000)
  const token = await signSession(authSecret(deps), { loginId, userPublicId: user.publicId }, expiresAt)
  const insert = deps.db.insert(logins).values({
    id: loginId,
    userId: user.id,
    workspaceId,
    deviceId,
    authTime: now,
    lastUsedAt: now,
    expiresAt,
    remoteIp: deps.meta.ip,
    userAgent: deps.meta.userAgent?.slice(0, 512) ?? null,
    nonce: crypto.randomUUID(),
  })
  return { loginId, token, expiresAt, insert }
}

/** The principal behind a session token; a forged, expired or revoked token is a 401. */
export const principalFromSessionToken = async (deps: Deps, token: string, scope: Scope): Promise<Principal> => {
  const claims = await verifySession(authSecret(deps), token)
  if (!claims) throw unauthenticated(SESSION_ENDED)
  return principalOfSession(deps, claims.loginId, scope)
}

/** Whether a bearer credential is shaped like a session token (a JWT) rather than an API key. */
export const looksLikeSessionToken = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)
