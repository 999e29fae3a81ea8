import { eq } from 'drizzle-orm'
import { memberships, organizations, workspaces } from '../db/schema'
import { commit } from './commit'
import type { Deps } from './context'
import type { Principal } from './principal'

/**
 * Replaces an organization's plan features (an empty map grants every feature). Every principal
 * in the organization carries them, so all of its workspaces' copies are rewritten.
 */
export const setEntitlements = async (
  deps: Deps,
  caller: Principal | null,
  organizationId: number,
  entitlements: Record<string, boolean>,
) => {
  const inOrganization = await deps.db
    .select({ id: workspaces.id })
    .from(workspaces)
    .where(eq(workspaces.organizationId, organizationId))
  await commit(deps, caller, {
    event: {
      action: 'setEntitlements',
      targetType: 'organization',
      targetId: organizationId,
      organizationId,
      detail: { entitlements },
    },
    writes: [deps.db.update(organizations).set({ entitlements }).where(eq(organizations.id, organizationId))],
    affects: { workspaceIds: inOrganization.map((w) => w.id) },
  })
}

/** The ids of the people of an organization (a membership in one of its workspaces), as a subquery. */
export const peopleOf = (deps: Deps, organizationId: number) =>
  deps.db
    .select({ id: memberships.userId })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(eq(workspaces.organizationId, organizationId))
