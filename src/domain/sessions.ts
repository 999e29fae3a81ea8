import { and, eq, or, type SQL, type SQLWrapper, sql } from 'drizzle-orm'
import { newPublicId } from '../auth/crypto'
import { signSession, verifySession } from '../auth/tokens'
import {
  apiTokens,
  customRoles,
  logins,
  memberships,
  organizations,
  serviceAccounts,
  users,
  workspaces,
} from '../db/schema'
import type { Deps } from './context'
import { AppError, unauthenticated } from './errors'
import type { Principal, WorkspaceAccess } from './principal'
import { baseRoleOf, roleNameInScope, type Scope } from './roles'

/**
 * Sessions: the login row in D1 is the truth, KV (`login:<id>`) holds a hot copy for reads.
 * KV is eventually consistent (up to about 60 s between locations), so state-changing requests
 * always re-check D1, and revoking deletes both.
 */
type HotSession = { userId: number; workspaceId: number | null; expiresAt: number }

const kvKey = (loginId: string) => `login:${loginId}`

export const authSecret = (deps: Deps) => {
  const secret = deps.env.AUTH_SECRET
  if (!secret || secret.length < 32)
    throw new AppError('UNAVAILABLE', 'Sign-in is not configured: AUTH_SECRET must be set (32+ characters)')
  return secret
}

type NewSession = {
  loginId: string
  token: string
  expiresAt: Date
  /** The row to insert, in the same batch as the rest of the sign-in. */
  insert: ReturnType<typeof insertLogin>
}

const insertLogin = (deps: Deps, row: typeof logins.$inferInsert) => deps.db.insert(logins).values(row)

/** Prepares a login for a user; insert it, then call `cacheSession`. */
export const newSession = async (
  deps: Deps,
  user: { id: number; publicId: string },
  workspaceId: number | null,
  deviceId = crypto.randomUUID(),
): Promise<NewSession> => {
  const now = deps.now()
  const loginId = newPublicId()
  const expiresAt = new Date(now.getTime() + deps.config.sessionTtlSeconds * 1000)
  const token = await signSession(authSecret(deps), { loginId, userPublicId: user.publicId }, expiresAt)
  const insert = insertLogin(deps, {
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

/**
 * Writes the hot copy. KV allows one write per second per key: a refused write only leaves a
 * copy that is stale or missing, which is safe, because the membership is read from D1 on every
 * request and writes re-check the login there.
 */
export const cacheSession = async (deps: Deps, loginId: string, hot: HotSession) => {
  const seconds = Math.floor((hot.expiresAt - deps.now().getTime()) / 1000)
  if (seconds < 60) return // KV refuses TTLs under a minute; D1 answers for such sessions.
  try {
    await deps.env.SESSIONS.put(kvKey(loginId), JSON.stringify(hot), { expirationTtl: seconds })
  } catch (err) {
    console.warn(
      JSON.stringify({ level: 'warn', message: 'session hot copy not written', loginId, error: String(err) }),
    )
  }
}

/** Drops the KV copies of sessions whose rows are gone. */
export const dropHotCopies = async (deps: Deps, loginIds: readonly string[]) => {
  await Promise.all(loginIds.map((id) => deps.env.SESSIONS.delete(kvKey(id))))
}

/** The statement that points a session at another workspace, for the batch that needs it. */
export const moveSession = (deps: Deps, loginId: string, workspaceId: number | SQL) =>
  deps.db.update(logins).set({ workspaceId }).where(eq(logins.id, loginId))

/** Rewrites the caller's hot copy after its session moved in D1. */
export const refreshHotCopy = async (deps: Deps, p: Principal) => {
  const { loginId, id: userId } = p
  if (!loginId || userId === null) return
  const find = () =>
    deps.db
      .select({ workspaceId: logins.workspaceId, expiresAt: logins.expiresAt })
      .from(logins)
      .where(eq(logins.id, loginId))
  const [row] = await find()
  if (!row) return
  await cacheSession(deps, loginId, { userId, workspaceId: row.workspaceId, expiresAt: row.expiresAt.getTime() })
  // A revocation between the read and the write would be undone by it: look again.
  if ((await find()).length === 0) await deps.env.SESSIONS.delete(kvKey(loginId))
}

/** The custom roles of a workspace as one JSON object, so that a lookup stays one query. */
const customRolesOf = (workspaceId: SQLWrapper) =>
  sql`(SELECT json_group_object(${customRoles.name}, ${customRoles.baseRole}) FROM ${customRoles} WHERE ${customRoles.workspaceId} = ${workspaceId})`.mapWith(
    (v: string | null) => new Map(Object.entries(JSON.parse(v ?? '{}') as Record<string, string>)),
  )

/**
 * The caller's membership columns. (Single queries only: Drizzle's D1 batch mis-maps joined
 * columns that share a name, drizzle-orm#6038.)
 */
const accessColumns = {
  role: memberships.role,
  scopeRoles: memberships.scopeRoles,
  workspaceId: memberships.workspaceId,
  organizationId: workspaces.organizationId,
  entitlements: organizations.entitlements,
  customRoles: customRolesOf(memberships.workspaceId),
}

type AccessRow = {
  role: string | null
  scopeRoles: Record<string, string> | null
  workspaceId: number | null
  organizationId: number | null
  entitlements: Record<string, boolean> | null
  customRoles: Map<string, string>
}

const workspaceAccess = (row: AccessRow, scope: Scope): WorkspaceAccess | null => {
  if (row.role === null || row.workspaceId === null || row.organizationId === null) return null
  const membership = { role: row.role, scopeRoles: row.scopeRoles }
  const roleName = roleNameInScope(membership, scope)
  return {
    id: row.workspaceId,
    organizationId: row.organizationId,
    roleName,
    role: baseRoleOf(roleName, row.customRoles),
    entitlements: row.entitlements ?? {},
    membership,
    customRoles: row.customRoles,
  }
}

export const userPrincipal = (
  user: { id: number; publicId: string; email: string },
  access: WorkspaceAccess | null,
  scope: Scope,
  extra: Pick<Principal, 'loginId' | 'apiToken'>,
): Principal => ({
  kind: 'user',
  id: user.id,
  publicId: user.publicId,
  email: user.email,
  scope,
  workspace: access,
  ...extra,
})

const SESSION_ENDED = 'Session is invalid or has expired'
const LAST_USED_GRANULARITY_MS = 60 * 60 * 1000

/**
 * The principal behind a session token. `fresh` (state-changing requests) reads the login from
 * D1; otherwise the KV hot copy is trusted until it expires or is deleted, and D1 answers when
 * this location has no copy.
 */
export const principalFromSession = async (
  deps: Deps,
  token: string,
  scope: Scope,
  fresh: boolean,
): Promise<Principal> => {
  const claims = await verifySession(authSecret(deps), token)
  if (!claims) throw unauthenticated(SESSION_ENDED)
  const now = deps.now().getTime()
  const hot = fresh ? null : await deps.env.SESSIONS.get<HotSession>(kvKey(claims.loginId), 'json')

  if (hot && hot.expiresAt > now) {
    // -1 names no workspace: a session without one resolves to no membership.
    const [row] = await deps.db
      .select({ user: users, ...accessColumns })
      .from(users)
      .leftJoin(memberships, and(eq(memberships.userId, users.id), eq(memberships.workspaceId, hot.workspaceId ?? -1)))
      .leftJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
      .leftJoin(organizations, eq(organizations.id, workspaces.organizationId))
      .where(eq(users.id, hot.userId))
    if (!row?.user.enabled) throw unauthenticated(SESSION_ENDED)
    return userPrincipal(row.user, workspaceAccess(row, scope), scope, {
      loginId: claims.loginId,
      apiToken: null,
    })
  }

  const [row] = await deps.db
    .select({ login: logins, user: users, ...accessColumns })
    .from(logins)
    .innerJoin(users, eq(users.id, logins.userId))
    .leftJoin(memberships, and(eq(memberships.userId, logins.userId), eq(memberships.workspaceId, logins.workspaceId)))
    .leftJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .leftJoin(organizations, eq(organizations.id, workspaces.organizationId))
    .where(eq(logins.id, claims.loginId))
  if (!row || row.login.expiresAt.getTime() <= now || !row.user.enabled) throw unauthenticated(SESSION_ENDED)
  // No hot copy is written back here: one written after a concurrent revocation would outlive
  // it. The copy written at sign-in is readable from every location.
  const { login } = row
  if (now - login.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    deps.defer(
      deps.db
        .update(logins)
        .set({ lastUsedAt: new Date(now) })
        .where(eq(logins.id, login.id)),
    )
  }
  return userPrincipal(row.user, workspaceAccess(row, scope), scope, {
    loginId: login.id,
    apiToken: null,
  })
}

/** The principal behind an `X-API-KEY`: the token's owner, in the token's workspace. */
export const principalFromApiKey = async (deps: Deps, keyHash: string, scope: Scope): Promise<Principal> => {
  const [row] = await deps.db
    .select({ token: apiTokens, user: users, serviceAccount: serviceAccounts, ...accessColumns })
    .from(apiTokens)
    .leftJoin(users, eq(users.id, apiTokens.userId))
    .leftJoin(serviceAccounts, eq(serviceAccounts.id, apiTokens.serviceAccountId))
    .leftJoin(
      memberships,
      and(
        eq(memberships.workspaceId, apiTokens.workspaceId),
        or(eq(memberships.userId, apiTokens.userId), eq(memberships.serviceAccountId, apiTokens.serviceAccountId)),
      ),
    )
    .leftJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .leftJoin(organizations, eq(organizations.id, workspaces.organizationId))
    .where(eq(apiTokens.keyHash, keyHash))
  if (!row || (row.user && !row.user.enabled)) throw unauthenticated('Invalid API key')
  const { token } = row
  const now = deps.now()
  if (!token.lastUsedAt || now.getTime() - token.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    deps.defer(deps.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, token.id)))
  }
  const access = workspaceAccess(row, scope)
  const apiToken = { id: token.id, utility: token.utility }
  if (row.user) return userPrincipal(row.user, access, scope, { loginId: null, apiToken })
  if (row.serviceAccount)
    return {
      kind: 'serviceAccount',
      id: row.serviceAccount.id,
      publicId: row.serviceAccount.publicId,
      email: null,
      scope,
      workspace: access,
      loginId: null,
      apiToken,
    }
  throw unauthenticated('Invalid API key')
}

/** Root acts as ADMIN in the workspace named by the `account` header, or in none. */
export const rootPrincipal = async (deps: Deps, workspaceId: number | null, scope: Scope): Promise<Principal> => {
  const [row] =
    workspaceId === null
      ? []
      : await deps.db
          .select({
            organizationId: workspaces.organizationId,
            entitlements: organizations.entitlements,
            customRoles: customRolesOf(workspaces.id),
          })
          .from(workspaces)
          .innerJoin(organizations, eq(organizations.id, workspaces.organizationId))
          .where(eq(workspaces.id, workspaceId))
  const access: WorkspaceAccess | null =
    row && workspaceId !== null ? { id: workspaceId, roleName: 'ADMIN', role: 'ADMIN', membership: null, ...row } : null
  return {
    kind: 'root',
    id: null,
    publicId: null,
    email: null,
    scope,
    workspace: access,
    loginId: null,
    apiToken: null,
  }
}
