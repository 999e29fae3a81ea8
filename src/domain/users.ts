import { and, count, eq, isNotNull, type SQL, sql } from 'drizzle-orm'
import { memberships, type ScopeRoleMap, users } from '../db/schema'
import { authorize } from './authorize'
import type { Deps } from './context'
import { type ListQuery, type ListSpec, type Page, type Target, toOrderBy, toWhere } from './listing'
import type { Identity, Principal } from './principal'
import { effectiveRoleSql } from './roles'

export type User = typeof users.$inferSelect

/** Who the caller is: exactly one of root, a user, or a service account (from the principal, no query). */
export const describeCurrentIdentity = async (deps: Deps, p: Principal): Promise<Identity> => {
  await authorize(deps, p, 'readSelf')
  return p.identity
}

export const ACCOUNT_LIST: ListSpec = {
  filters: {
    id: { type: 'string', ops: ['eq', 'in'] },
    name: { type: 'string', ops: ['eq', 'match'] },
    email: { type: 'string', ops: ['eq', 'match', 'in'] },
    enabled: { type: 'boolean', ops: ['eq'] },
    sso_channel: { type: 'string', ops: ['eq'] },
    picture_url: { type: 'string', ops: ['eq'] },
    role_name: { type: 'string', ops: ['eq', 'in', 'nin'] },
    joined_at: { type: 'datetime', ops: ['eq', 'gte', 'lte'] },
    created_at: { type: 'datetime', ops: ['eq', 'gte', 'lte'] },
    updated_at: { type: 'datetime', ops: ['eq', 'gte', 'lte'] },
  },
  sort: ['id', 'name', 'email', 'enabled', 'joined_at', 'created_at', 'updated_at'],
}

/** A user with their role in the caller's workspace and scope (null: not a member of it). */
export type Account = User & { roleName: string | null; roleScope: ScopeRoleMap | null }

/**
 * Users visible to the caller: root sees everyone, an ADMIN the members of the current
 * workspace, anyone else only themselves. `role_name` is the effective role in the caller's
 * workspace and scope, the same rule every check uses.
 */
export const listAccounts = async (deps: Deps, p: Principal, q: ListQuery): Promise<Page<Account>> => {
  await authorize(deps, p, 'listAccounts')
  const ws = p.workspace
  const member = isNotNull(memberships.id)
  const roleName = sql<string | null>`CASE WHEN ${member} THEN ${effectiveRoleSql(memberships, p.scope).name} END`
  const targets: Record<string, Target> = {
    id: users.publicId,
    name: users.displayName,
    email: users.email,
    enabled: users.enabled,
    sso_channel: users.ssoChannel,
    picture_url: users.pictureUrl,
    role_name: roleName,
    joined_at: users.joinedAt,
    created_at: users.createdAt,
    updated_at: users.updatedAt,
  }

  let visible: SQL | undefined
  if (p.kind !== 'root')
    visible = ws?.role === 'ADMIN' ? member : eq(users.id, p.kind === 'user' && p.id !== null ? p.id : -1)
  const where = and(visible, toWhere(targets, q.filters))
  const membershipHere = and(eq(memberships.userId, users.id), eq(memberships.workspaceId, ws?.id ?? -1))
  const itemsQuery = deps.db
    .select({ user: users, roleName, roleScope: memberships.scopeRoles })
    .from(users)
    .leftJoin(memberships, membershipHere)
    .where(where)
    .orderBy(...toOrderBy(targets, q.sort, users.id))
    .limit(q.page.size + 1)
    .offset((q.page.number - 1) * q.page.size)
  const page = (rows: Awaited<typeof itemsQuery>) => ({
    items: rows.slice(0, q.page.size).map((r) => ({ ...r.user, roleName: r.roleName, roleScope: r.roleScope })),
    more: rows.length > q.page.size,
  })
  if (!q.count) return page(await itemsQuery)
  const countQuery = deps.db.select({ n: count() }).from(users).leftJoin(memberships, membershipHere).where(where)
  const [rows, [total]] = await deps.db.batch([itemsQuery, countQuery])
  return { ...page(rows), count: total?.n ?? 0 }
}
