import { and, count, eq, inArray, type SQL, sql } from 'drizzle-orm'
import type { ScopeRoleMap } from '../db/schema'
import { memberships, serviceAccounts, users } from '../db/schema'
import { authorize } from './authorize'
import type { Deps } from './context'
import { notFound } from './errors'
import { type ListQuery, type ListSpec, type Page, type Target, toOrderBy, toWhere } from './listing'
import type { Principal } from './principal'

export type User = typeof users.$inferSelect
export type ServiceAccount = typeof serviceAccounts.$inferSelect

export type Identity =
  | { kind: 'root' }
  | { kind: 'user'; user: User }
  | { kind: 'serviceAccount'; serviceAccount: ServiceAccount }

/** Who the caller is: exactly one of root, a user, or a service account. */
export const describeCurrentIdentity = async (deps: Deps, p: Principal): Promise<Identity> => {
  await authorize(deps, p, 'readMe')
  if (p.kind === 'root' || p.id === null) return { kind: 'root' }
  if (p.kind === 'user') {
    const [user] = await deps.db.select().from(users).where(eq(users.id, p.id))
    if (!user) throw notFound('User not found')
    return { kind: 'user', user }
  }
  const [serviceAccount] = await deps.db.select().from(serviceAccounts).where(eq(serviceAccounts.id, p.id))
  if (!serviceAccount) throw notFound('Service account not found')
  return { kind: 'serviceAccount', serviceAccount }
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

export type Account = User & { roleName: string | null; roleScope: ScopeRoleMap | null }

/**
 * Users visible to the caller: root sees everyone, an ADMIN the members of the current
 * workspace, anyone else only themselves.
 */
export const listAccounts = async (deps: Deps, p: Principal, q: ListQuery): Promise<Page<Account>> => {
  await authorize(deps, p, 'listAccounts')
  const ws = p.workspace
  // The role held in the caller's workspace (-1: none, for root without a workspace). The outer
  // id is qualified by hand: Drizzle leaves columns of single-table queries unqualified.
  const membershipValue = (column: typeof memberships.role | typeof memberships.scopeRoles) =>
    sql`(SELECT ${column} FROM ${memberships} WHERE ${memberships.userId} = ${users}.${sql.identifier('id')} AND ${memberships.workspaceId} = ${ws?.id ?? -1})`
  const roleName = membershipValue(memberships.role).mapWith((v: string | null) => v)
  const roleScope = membershipValue(memberships.scopeRoles).mapWith((v: string | null) =>
    v === null ? null : (JSON.parse(v) as ScopeRoleMap),
  )

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
  if (p.kind !== 'root') {
    visible =
      ws?.role === 'ADMIN'
        ? inArray(
            users.id,
            deps.db.select({ id: memberships.userId }).from(memberships).where(eq(memberships.workspaceId, ws.id)),
          )
        : eq(users.id, p.kind === 'user' && p.id !== null ? p.id : -1)
  }
  const where = and(visible, toWhere(targets, q.filters))
  const itemsQuery = deps.db
    .select({ user: users, roleName, roleScope })
    .from(users)
    .where(where)
    .orderBy(...toOrderBy(targets, q.sort, users.id))
    .limit(q.page.size + 1)
    .offset((q.page.number - 1) * q.page.size)
  const toAccount = (r: { user: User; roleName: string | null; roleScope: ScopeRoleMap | null }) => ({
    ...r.user,
    roleName: r.roleName,
    roleScope: r.roleScope,
  })
  const page = (rows: Awaited<typeof itemsQuery>) => ({
    items: rows.slice(0, q.page.size).map(toAccount),
    more: rows.length > q.page.size,
  })
  if (!q.count) return page(await itemsQuery)
  const [rows, [total]] = await deps.db.batch([itemsQuery, deps.db.select({ n: count() }).from(users).where(where)])
  return { ...page(rows), count: total?.n ?? 0 }
}
