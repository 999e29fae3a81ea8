import { and, count, eq } from 'drizzle-orm'
import { newApiKey, newSecretToken, sha256 } from '../auth/crypto'
import { apiTokens, logins, passwordResets } from '../db/schema'
import { auditInsert } from './audit'
import { authorize } from './authorize'
import { allowedUrl } from './config'
import type { Deps } from './context'
import { invalid, rateLimited } from './errors'
import { requireMember } from './members'
import type { ApiTokenUtility, Principal } from './principal'
import { userIdOf, workspaceOf } from './principal'
import { dropHotCopies } from './sessions'

const RESET_WINDOW_SECONDS = 2 * 60 * 60

/**
 * A single-use password reset link for a member of the caller's workspace, valid two hours; at
 * most one per user every two hours (counted in KV). Only the token's hash is stored.
 */
export const resetUserPassword = async (deps: Deps, p: Principal, userEmail: string) => {
  await authorize(deps, p, 'resetUserPassword')
  const ws = workspaceOf(p)
  if (userEmail.trim() === '') throw invalid('Email cannot be null or empty')
  const { user } = await requireMember(deps, ws.id, userEmail, 'User not found.')

  const kvKey = `password-reset:${user.id}`
  const last = Number(await deps.env.SESSIONS.get(kvKey))
  const now = deps.now()
  const elapsed = Math.floor((now.getTime() - last) / 1000)
  if (last && elapsed < RESET_WINDOW_SECONDS) {
    const minutes = Math.floor((RESET_WINDOW_SECONDS - elapsed) / 60)
    throw rateLimited(
      RESET_WINDOW_SECONDS - elapsed,
      `Please wait ${minutes} ${minutes <= 1 ? 'minute' : 'minutes'} for another password reset.`,
    )
  }

  const token = newSecretToken()
  await deps.db.batch([
    deps.db.delete(passwordResets).where(eq(passwordResets.userId, user.id)),
    deps.db.insert(passwordResets).values({
      userId: user.id,
      tokenHash: await sha256(token),
      expiresAt: new Date(now.getTime() + RESET_WINDOW_SECONDS * 1000),
      createdAt: now,
      createdBy: p.publicId,
    }),
    auditInsert(deps, p, { action: 'resetUserPassword', targetType: 'user', targetId: user.publicId }),
  ])
  // The link is stored: a refused KV write (one per second per key) only loses the throttle mark.
  await deps.env.SESSIONS.put(kvKey, String(now.getTime()), { expirationTtl: RESET_WINDOW_SECONDS }).catch((err) =>
    console.warn(JSON.stringify({ level: 'warn', message: 'reset throttle not recorded', error: String(err) })),
  )
  return `${deps.config.appOrigin}/login?token=${token}`
}

const MAX_TOKENS_PER_USER = 50

/** Plan features a token utility needs (an empty plan grants all). */
const UTILITY_FEATURES: Partial<Record<ApiTokenUtility, string>> = {
  EXTERNAL_API: 'AKTO_EXTERNAL_API',
  CICD: 'CI_CD_INTEGRATION',
}

/** A new API token of the caller in the current workspace; the key is shown once, kept hashed. */
export const addApiToken = async (deps: Deps, p: Principal, utility: ApiTokenUtility) => {
  await authorize(deps, p, 'addApiToken', UTILITY_FEATURES[utility])
  const ws = workspaceOf(p)
  const userId = userIdOf(p)
  const mine = and(eq(apiTokens.userId, userId), eq(apiTokens.workspaceId, ws.id))
  const [held] = await deps.db.select({ n: count() }).from(apiTokens).where(mine)
  if ((held?.n ?? 0) >= MAX_TOKENS_PER_USER)
    throw invalid(`You already have ${MAX_TOKENS_PER_USER} API tokens in this account; delete one first`)
  const key = newApiKey()
  const now = deps.now()
  const [[token]] = await deps.db.batch([
    deps.db
      .insert(apiTokens)
      .values({
        workspaceId: ws.id,
        userId,
        utility,
        name: utility.toLowerCase(),
        keyHash: await sha256(key),
        keyPrefix: key.slice(0, 4),
        createdAt: now,
      })
      .returning(),
    auditInsert(deps, p, { action: 'addApiToken', targetType: 'apiToken', detail: { utility } }),
  ])
  return { token: token!, key }
}

/** Deletes one of the caller's own API tokens; false when there is no such token of theirs. */
export const deleteApiToken = async (deps: Deps, p: Principal, apiTokenId: number) => {
  await authorize(deps, p, 'deleteApiToken')
  const mine = and(eq(apiTokens.id, apiTokenId), eq(apiTokens.userId, userIdOf(p)))
  const [token] = await deps.db.select({ workspaceId: apiTokens.workspaceId }).from(apiTokens).where(mine)
  if (!token) return false
  await deps.db.batch([
    deps.db.delete(apiTokens).where(mine),
    auditInsert(deps, p, {
      action: 'deleteApiToken',
      targetType: 'apiToken',
      targetId: apiTokenId,
      workspaceId: token.workspaceId,
    }),
  ])
  return true
}

/**
 * Ends the caller's session in D1 and KV and says where to send the browser: LOGOUT_URL (an SSO
 * provider's logout) when configured, otherwise the dashboard's login page.
 */
export const logout = async (deps: Deps, p: Principal, redirectUrl?: string) => {
  await authorize(deps, p, 'logout')
  const target = allowedUrl(deps.config, redirectUrl ?? '/login')
  if (!target) throw invalid('redirectUrl must be a path of this site or an address on an allowed origin')
  if (p.loginId) {
    await deps.db.batch([
      deps.db.delete(logins).where(eq(logins.id, p.loginId)),
      auditInsert(deps, p, { action: 'logout', targetType: 'login', targetId: p.loginId }),
    ])
    await dropHotCopies(deps, [p.loginId])
  }
  const sso = deps.config.logoutUrl
  if (!sso) return target
  const url = new URL(sso)
  url.searchParams.set('returnTo', target)
  return url.toString()
}
