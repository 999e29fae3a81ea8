import { and, count, eq } from 'drizzle-orm'
import { newApiKey, sha256 } from '../auth/crypto'
import { apiTokens, logins } from '../db/schema'
import { authorize, authorizeIn, refuse } from './authorize'
import { commit } from './commit'
import { allowedUrl } from './config'
import type { Deps } from './context'
import { invalid, notFound, rateLimited } from './errors'
import { findMember, type MemberRef, requireManages } from './members'
import { newResetToken } from './passwords'
import type { ApiTokenUtility, Principal } from './principal'
import { userIdOf } from './principal'

const RESET_WINDOW_SECONDS = 2 * 60 * 60

/**
 * A single-use password reset link for a member of the caller's workspace, valid two hours; at
 * most one per user every two hours (counted in KV). Only the token's hash is stored. A password
 * is global to the user, so the caller must administer every workspace the user belongs to.
 */
export const issuePasswordReset = async (deps: Deps, p: Principal, ref: MemberRef) => {
  const ws = await authorizeIn(deps, p, 'issuePasswordReset')
  const member = await findMember(deps, ws.id, ref)
  if (!member) throw notFound('User not found.')
  const { user } = member
  await requireManages(deps, p, user.id, 'issuePasswordReset')

  const kvKey = `password-reset:${user.id}`
  const last = Number(await deps.env.SESSIONS.get(kvKey))
  const now = deps.now()
  const elapsed = Math.floor((now.getTime() - last) / 1000)
  if (last && elapsed < RESET_WINDOW_SECONDS) {
    const minutes = Math.floor((RESET_WINDOW_SECONDS - elapsed) / 60)
    await refuse(
      deps,
      p,
      'issuePasswordReset',
      rateLimited(
        RESET_WINDOW_SECONDS - elapsed,
        `Please wait ${minutes} ${minutes <= 1 ? 'minute' : 'minutes'} for another password reset.`,
      ),
    )
  }

  const reset = await newResetToken(deps, user.id, p.publicId, RESET_WINDOW_SECONDS * 1000)
  await commit(deps, p, {
    event: { action: 'issuePasswordReset', targetType: 'user', targetId: user.publicId },
    writes: reset.writes,
  })
  // The link is stored: a refused KV write (one per second per key) only loses the throttle mark.
  await deps.env.SESSIONS.put(kvKey, String(now.getTime()), { expirationTtl: RESET_WINDOW_SECONDS }).catch((err) =>
    console.warn(JSON.stringify({ level: 'warn', message: 'reset throttle not recorded', error: String(err) })),
  )
  return { link: `${deps.config.appOrigin}/login?token=${reset.token}` }
}

const MAX_TOKENS_PER_USER = 50

/** Plan features a token utility needs (an empty plan grants all). */
const UTILITY_FEATURES: Partial<Record<ApiTokenUtility, string>> = {
  EXTERNAL_API: 'AKTO_EXTERNAL_API',
  CICD: 'CI_CD_INTEGRATION',
}

/** A new API token of the caller in the current workspace; the key is shown once, kept hashed. */
export const createApiToken = async (deps: Deps, p: Principal, utility: ApiTokenUtility) => {
  const ws = await authorizeIn(deps, p, 'createApiToken', UTILITY_FEATURES[utility])
  const userId = userIdOf(p)
  const mine = and(eq(apiTokens.userId, userId), eq(apiTokens.workspaceId, ws.id))
  const [held] = await deps.db.select({ n: count() }).from(apiTokens).where(mine)
  if ((held?.n ?? 0) >= MAX_TOKENS_PER_USER)
    throw invalid(`You already have ${MAX_TOKENS_PER_USER} API tokens in this account; delete one first`)
  const key = newApiKey()
  const keyHash = await sha256(key)
  const [[token]] = await commit(deps, p, {
    event: { action: 'createApiToken', targetType: 'apiToken', detail: { utility } },
    writes: [
      deps.db
        .insert(apiTokens)
        .values({
          workspaceId: ws.id,
          userId,
          utility,
          name: utility.toLowerCase(),
          keyHash,
          keyPrefix: key.slice(0, 4),
          createdAt: deps.now(),
        })
        .returning(),
    ],
    affects: { userIds: [userId] },
  })
  if (!token) throw new Error('The API token was not stored')
  return { token, key }
}

/** Deletes one of the caller's own API tokens; false when there is no such token of theirs. */
export const deleteApiToken = async (deps: Deps, p: Principal, apiTokenId: number) => {
  await authorize(deps, p, 'deleteApiToken')
  const mine = and(eq(apiTokens.id, apiTokenId), eq(apiTokens.userId, userIdOf(p)))
  const [token] = await deps.db.select({ workspaceId: apiTokens.workspaceId }).from(apiTokens).where(mine)
  if (!token) return false
  await commit(deps, p, {
    event: { action: 'deleteApiToken', targetType: 'apiToken', targetId: apiTokenId, workspaceId: token.workspaceId },
    writes: [deps.db.delete(apiTokens).where(mine)],
    affects: { tokenIds: [apiTokenId] },
  })
  return true
}

/**
 * Ends the caller's session in D1 and KV and says where to send the browser: LOGOUT_URL (an SSO
 * provider's logout) when configured, otherwise `redirectUrl` or the dashboard's login page.
 */
export const endSession = async (deps: Deps, p: Principal, redirectUrl?: string) => {
  await authorize(deps, p, 'endSession')
  const target = allowedUrl(deps.config, redirectUrl ?? '/login')
  if (!target) throw invalid('redirectUrl must be a path of this site or an address on an allowed origin')
  if (p.loginId)
    await commit(deps, p, {
      event: { action: 'endSession', targetType: 'login', targetId: p.loginId },
      writes: [deps.db.delete(logins).where(eq(logins.id, p.loginId))],
      affects: { loginIds: [p.loginId] },
      credentialOnly: true,
    })
  const sso = deps.config.logoutUrl
  if (!sso) return target
  const url = new URL(sso)
  url.searchParams.set('returnTo', target)
  return url.toString()
}
