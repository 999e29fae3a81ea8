import { and, eq, isNotNull, ne, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/sqlite-core'
import { memberships } from '../db/schema'
import type { Check } from './commit'
import type { Deps } from './context'
import { invalid } from './errors'
import type { WorkspaceAccess } from './principal'
import { effectiveRole, effectiveRoleSql, GRANTABLE_SCOPES, type Membership } from './roles'

/** The rule that no change may leave a scope of a workspace without an ADMIN, as checks for `commit`. */

const others = alias(memberships, 'others')

/** Whether another person (not the membership `exceptId`) of the workspace is ADMIN in a scope, as SQL. */
const anotherAdmin = (deps: Deps, workspaceId: number, scope: string, exceptId: number, exceptRole?: string) => {
  const role = effectiveRoleSql(
    { role: others.role, scopeRoles: others.scopeRoles, workspaceId: others.workspaceId },
    scope,
  )
  return sql`EXISTS ${deps.db
    .select({ one: sql`1` })
    .from(others)
    .where(
      and(
        eq(others.workspaceId, workspaceId),
        ne(others.id, exceptId),
        isNotNull(others.userId),
        sql`${role.base} = 'ADMIN'`,
        exceptRole === undefined ? undefined : sql`${role.name} <> ${exceptRole}`,
      ),
    )}`
}

/**
 * No change may leave a scope of a workspace without an ADMIN: for each scope in which the member
 * is ADMIN and will not be after the change, another person must be ADMIN there. Checked inside the
 * change's batch, so two admins demoting each other at once cannot both succeed.
 */
export const keepsAnAdmin = (
  deps: Deps,
  ws: Pick<WorkspaceAccess, 'id' | 'customRoles'>,
  target: { membership: Membership & { id: number } },
  after: Membership | null,
): Check[] =>
  GRANTABLE_SCOPES.filter(
    (s) =>
      effectiveRole(target.membership, s, ws.customRoles).base === 'ADMIN' &&
      (after === null || effectiveRole(after, s, ws.customRoles).base !== 'ADMIN'),
  ).map((scope) => ({
    reason: `last-admin-${scope}`,
    holds: anotherAdmin(deps, ws.id, scope, target.membership.id),
    refusal: lastAdmin(scope),
  }))

const lastAdmin = (scope: string) =>
  invalid(`This would leave the ${scope} scope of this workspace without an ADMIN: make someone else ADMIN there first`)

/**
 * The same rule for a custom role whose base role stops being ADMIN: in each scope, either nobody
 * holds the role, or someone who does not hold it is ADMIN.
 */
export const keepsAnAdminWithout = (deps: Deps, workspaceId: number, roleName: string): Check[] =>
  GRANTABLE_SCOPES.map((scope) => {
    const role = effectiveRoleSql(
      { role: others.role, scopeRoles: others.scopeRoles, workspaceId: others.workspaceId },
      scope,
    )
    const holders = deps.db
      .select({ one: sql`1` })
      .from(others)
      .where(and(eq(others.workspaceId, workspaceId), isNotNull(others.userId), sql`${role.name} = ${roleName}`))
    return {
      reason: `last-admin-${scope}`,
      holds: sql`(NOT EXISTS ${holders} OR ${anotherAdmin(deps, workspaceId, scope, -1, roleName)})`,
      refusal: lastAdmin(scope),
    }
  })
