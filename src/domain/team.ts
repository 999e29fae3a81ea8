import { and, asc, eq } from 'drizzle-orm'
import { invitations, memberships, type ScopeRoleMap, users } from '../db/schema'
import { authorizeIn } from './authorize'
import type { Deps } from './context'
import type { Principal } from './principal'
import { effectiveRole, hasScopeMap, type Membership } from './roles'

export type TeamMember = {
  user: { id: number; publicId: string; email: string; displayName: string | null }
  membership: Membership
  /** The role held in the request's scope. */
  roleName: string
}

export type PendingInvitation = { issuerUserId: number | null; email: string; scopeRoles: ScopeRoleMap }

/** Members and pending invitations of the caller's workspace, in one round trip. */
export const listTeam = async (deps: Deps, p: Principal) => {
  const ws = await authorizeIn(deps, p, 'listTeam')
  const [members, pending] = await deps.db.batch([
    deps.db
      // Plain columns, not `named`: a batch maps rows by column name, and these six names are
      // distinct; Drizzle decodes plain columns far faster than aliases (a hundred rows here).
      .select({
        user: {
          id: users.id,
          publicId: users.publicId,
          email: users.email,
          displayName: users.displayName,
        },
        membership: { role: memberships.role, scopeRoles: memberships.scopeRoles },
      })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.workspaceId, ws.id))
      .orderBy(asc(users.id)),
    deps.db
      .select({ issuerUserId: invitations.issuerUserId, email: invitations.email, scopeRoles: invitations.scopeRoles })
      .from(invitations)
      .where(and(eq(invitations.workspaceId, ws.id), eq(invitations.status, 'pending')))
      .orderBy(asc(invitations.id)),
  ])
  const memberEmails = new Set(members.map((m) => m.user.email))
  return {
    members: members.map(
      (m): TeamMember => ({
        ...m,
        membership: { role: m.membership.role, scopeRoles: hasScopeMap(m.membership) ? m.membership.scopeRoles : null },
        roleName: effectiveRole(m.membership, p.scope, ws.customRoles).name,
      }),
    ),
    invitations: pending.filter((i) => !memberEmails.has(i.email)) as PendingInvitation[],
  }
}
