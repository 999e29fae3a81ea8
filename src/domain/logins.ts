import { and, asc, count, eq, gt, or } from 'drizzle-orm'
import { named } from '../db/client'
import { logins, trustedDevices, users } from '../db/schema'
import { type Account, accountsByIds } from './accounts'
import { authorize, authorizeUser } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { notFound } from './errors'
import {
  type ListQuery,
  type ListSpec,
  type MarkerQuery,
  markerPage,
  type Page,
  type Target,
  toOrderBy,
  toWhere,
} from './listing'
import type { Principal } from './principal'
import { authSecret } from './sessions'

export type Login = typeof logins.$inferSelect & { isCurrent: boolean }
export type TrustedDevice = typeof trustedDevices.$inferSelect

/** The caller's active sessions, the current one marked. */
export const listOwnLogins = async (deps: Deps, p: Principal, q: MarkerQuery) => {
  const { id: userId } = await authorizeUser(deps, p, 'manageOwnLogins')
  const page = await markerPage(
    authSecret(deps),
    'me/logins',
    q,
    (after, take) =>
      deps.db
        .select()
        .from(logins)
        .where(
          and(
            eq(logins.userId, userId),
            gt(logins.expiresAt, deps.now()),
            after === null ? undefined : gt(logins.id, String(after)),
          ),
        )
        .orderBy(asc(logins.id))
        .limit(take),
    (l) => l.id,
  )
  return { ...page, items: page.items.map((l): Login => ({ ...l, isCurrent: l.id === p.loginId })) }
}

/** Ends one of the caller's sessions: its token is refused from its next request, on every surface. */
export const revokeOwnLogin = async (deps: Deps, p: Principal, loginId: string) => {
  const me = await authorizeUser(deps, p, 'manageOwnLogins')
  const mine = and(eq(logins.id, loginId), eq(logins.userId, me.id), gt(logins.expiresAt, deps.now()))
  const [login] = await deps.db.select({ id: logins.id }).from(logins).where(mine)
  if (!login) throw notFound('Login not found')
  await commit(deps, p, {
    event: { action: 'revokeOwnLogin', targetType: 'login', targetId: loginId },
    writes: [deps.db.delete(logins).where(mine)],
    affects: { loginIds: [loginId] },
    credentialOnly: true,
  })
}

/** The caller's trusted devices that have not expired. */
export const listOwnTrustedDevices = async (deps: Deps, p: Principal, q: MarkerQuery) => {
  const { id: userId } = await authorizeUser(deps, p, 'manageOwnLogins')
  return markerPage(
    authSecret(deps),
    'me/trusted-devices',
    q,
    (after, take) =>
      deps.db
        .select()
        .from(trustedDevices)
        .where(
          and(
            eq(trustedDevices.userId, userId),
            gt(trustedDevices.expiresAt, deps.now()),
            after === null ? undefined : gt(trustedDevices.id, String(after)),
          ),
        )
        .orderBy(asc(trustedDevices.id))
        .limit(take),
    (d) => d.id,
  )
}

/** Forgets a trusted device: the next sign-in from it asks for the second factor again. */
export const revokeOwnTrustedDevice = async (deps: Deps, p: Principal, deviceId: string) => {
  const me = await authorizeUser(deps, p, 'manageOwnLogins')
  const mine = and(eq(trustedDevices.id, deviceId), eq(trustedDevices.userId, me.id))
  const [device] = await deps.db.select({ id: trustedDevices.id }).from(trustedDevices).where(mine)
  if (!device) throw notFound('Trusted device not found')
  await commit(deps, p, {
    event: { action: 'revokeOwnTrustedDevice', targetType: 'trustedDevice', targetId: deviceId },
    writes: [deps.db.delete(trustedDevices).where(mine)],
    credentialOnly: true,
  })
}

/** Sessions as the JSON:API lists them (`iam:account_sessions`). */
export const SESSION_LIST: ListSpec = {
  filters: {
    id: { type: 'string', ops: ['eq', 'in'] },
    account_id: { type: 'string', ops: ['eq', 'in'] },
    user_agent: { type: 'string', ops: ['eq', 'match'] },
    ip: { type: 'string', ops: ['eq', 'match'] },
  },
  sort: ['id', 'created_at', 'last_used_at', 'expires_at'],
  secret: ['refresh_seq', 'nonce'],
  includes: ['account'],
}

export type Session = typeof logins.$inferSelect & { accountPublicId: string }

const SESSION_TARGETS: Record<string, Target> = {
  id: logins.id,
  account_id: users.publicId,
  user_agent: logins.userAgent,
  ip: logins.remoteIp,
  created_at: logins.authTime,
  last_used_at: logins.lastUsedAt,
  expires_at: logins.expiresAt,
}

/**
 * The sessions a caller may see and end: their own, and for an ADMIN those in the current
 * workspace; root, every session.
 */
const sessionsVisibleTo = (p: Principal) => {
  if (p.kind === 'root') return undefined
  const own = eq(logins.userId, p.kind === 'user' && p.id !== null ? p.id : -1)
  return p.workspace?.role === 'ADMIN' ? or(own, eq(logins.workspaceId, p.workspace.id)) : own
}

export const listSessions = async (
  deps: Deps,
  p: Principal,
  q: ListQuery,
): Promise<Page<Session> & { accounts: Account[] }> => {
  await authorize(deps, p, 'listSessions')
  const where = and(gt(logins.expiresAt, deps.now()), sessionsVisibleTo(p), toWhere(SESSION_TARGETS, q.filters))
  const itemsQuery = deps.db
    .select({ login: logins, user: named('account', { publicId: users.publicId }) })
    .from(logins)
    .innerJoin(users, eq(users.id, logins.userId))
    .where(where)
    .orderBy(...toOrderBy(SESSION_TARGETS, q.sort, logins.id))
    .limit(q.page.size + 1)
    .offset((q.page.number - 1) * q.page.size)
  const countQuery = deps.db
    .select({ n: count() })
    .from(logins)
    .innerJoin(users, eq(users.id, logins.userId))
    .where(where)
  const [rows, total] = q.count
    ? await deps.db.batch([itemsQuery, countQuery]).then(([r, [t]]) => [r, t?.n ?? 0] as const)
    : ([await itemsQuery, undefined] as const)
  const items = rows.slice(0, q.page.size).map((r): Session => ({ ...r.login, accountPublicId: r.user.publicId }))
  const accounts = q.included.includes('account')
    ? await accountsByIds(deps, [...new Set(items.map((s) => s.userId))])
    : []
  return { items, more: rows.length > q.page.size, ...(total === undefined ? {} : { count: total }), accounts }
}

/** Ends a session the caller may see: its token is refused from its next request. */
export const endSession = async (deps: Deps, p: Principal, loginId: string) => {
  await authorize(deps, p, 'endOtherSession')
  const target = and(eq(logins.id, loginId), sessionsVisibleTo(p))
  const [login] = await deps.db.select({ id: logins.id }).from(logins).where(target)
  if (!login) throw notFound('Session not found')
  await commit(deps, p, {
    event: { action: 'endOtherSession', targetType: 'login', targetId: loginId },
    writes: [deps.db.delete(logins).where(eq(logins.id, loginId))],
    affects: { loginIds: [loginId] },
    credentialOnly: p.loginId === loginId,
  })
}
