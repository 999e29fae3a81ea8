import { and, asc, eq } from 'drizzle-orm'
import type { ScopeRoleMap } from '../db/schema'
import { invitations, memberships, users } from '../db/schema'
import { authorize } from './authorize'
import type { Deps } from './context'
import type { Principal } from './principal'
import { roleNameInScope } from './roles'

export type TeamMember = {
  userId: number
  email: string
  name: string
  /** The role held in the request's scope. */
  roleName: string
  scopeRoles: ScopeRoleMap | null
}

export type PendingInvitation = { issuerUserId: number | null; email: string; scopeRoles: ScopeRoleMap }

/** Members and pending invitations of the caller's workspace. */
export const getTeamData = async (deps: Deps, p: Principal) => {
  await authorize(deps, p, 'getTeamData')
  const workspaceId = p.workspace?.id ?? -1
  const [members, pending] = await deps.db.batch([
    deps.db
      .select({
        userId: users.id,
        email: users.email,
        displayName: users.displayName,
        role: memberships.role,
        scopeRoles: memberships.scopeRoles,
      })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.workspaceId, workspaceId))
      .orderBy(asc(users.id)),
    deps.db
      .select({ issuerUserId: invitations.issuerUserId, email: invitations.email, scopeRoles: invitations.scopeRoles })
      .from(invitations)
      .where(and(eq(invitations.workspaceId, workspaceId), eq(invitations.status, 'pending')))
      .orderBy(asc(invitations.id)),
  ])
  const memberEmails = new Set(members.map((m) => m.email))
  return {
    members: members.map(
      (m): TeamMember => ({
        userId: m.userId,
        email: m.email,
        name: m.displayName ?? '',
        roleName: roleNameInScope(m, p.scope),
        scopeRoles: m.scopeRoles && Object.keys(m.scopeRoles).length ? m.scopeRoles : null,
      }),
    ),
    invitations: pending.filter((i) => !memberEmails.has(i.email)) as PendingInvitation[],
  }
}
