import { and, asc, eq, gt } from 'drizzle-orm'
import { logins, trustedDevices } from '../db/schema'
import { authorizeUser } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { notFound } from './errors'
import { type MarkerQuery, markerPage } from './listing'
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
