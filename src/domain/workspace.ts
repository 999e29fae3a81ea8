import { and, eq } from 'drizzle-orm'
import { customRoles, memberships, users } from '../db/schema'
import type { Deps } from './context'
import { invalid, notFound } from './errors'
import type { Principal, WorkspaceAccess } from './principal'
import { normalizeEmail } from './rules'

/** The workspace a request acts on; root names one with the `account` header. */
export const workspaceOf = (p: Principal): WorkspaceAccess => {
  if (!p.workspace) throw invalid('This action needs a workspace: send its id in the account header')
  return p.workspace
}

/** The calling user's id; service accounts and root have no user. */
export const userIdOf = (p: Principal): number => {
  if (p.kind !== 'user' || p.id === null) throw invalid('Only a signed-in user can do this')
  return p.id
}

/** Custom role name → base role, for one workspace. */
export const customRolesOf = async (deps: Deps, workspaceId: number) =>
  new Map(
    (
      await deps.db
        .select({ name: customRoles.name, baseRole: customRoles.baseRole })
        .from(customRoles)
        .where(eq(customRoles.workspaceId, workspaceId))
    ).map((r) => [r.name, r.baseRole]),
  )

export type Member = {
  user: typeof users.$inferSelect
  membership: typeof memberships.$inferSelect
}

/** A user of the workspace, by email; null when there is no such member. */
export const findMember = async (deps: Deps, workspaceId: number, email: string): Promise<Member | null> => {
  const [row] = await deps.db
    .select({ user: users, membership: memberships })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(users.email, normalizeEmail(email))))
  return row ?? null
}

/** Like `findMember`, but a user outside the workspace is a 404. */
export const requireMember = async (deps: Deps, workspaceId: number, email: string, message = 'User not found') => {
  const member = await findMember(deps, workspaceId, email)
  if (!member) throw notFound(message)
  return member
}
