import { and, count, eq, type SQL, sql } from 'drizzle-orm'
import { logins, memberships, organizations, users, workspaces } from '../db/schema'
import { authorize, authorizeIn } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { invalid, notFound } from './errors'
import type { Principal } from './principal'
import { memberKeyOf, userIdOf } from './principal'
import { allScopes } from './roles'
import { validOrganizationName, validUsername, validWorkspaceName } from './rules'

/**
 * Creates a workspace in the caller's organization with the caller as ADMIN on every scope, and
 * makes it the session's workspace. The limit of workspaces per member is a check inside the
 * creating batch, so parallel requests cannot exceed it.
 */
export const createWorkspace = async (deps: Deps, p: Principal, rawName: string) => {
  const ws = await authorizeIn(deps, p, 'createWorkspace')
  const member = memberKeyOf(p)
  const name = validWorkspaceName(rawName)
  const mine =
    'userId' in member
      ? eq(memberships.userId, member.userId)
      : eq(memberships.serviceAccountId, member.serviceAccountId)
  const max = deps.config.maxWorkspacesPerUser
  // Ids count up from the highest. D1 runs a batch as one transaction, so `max(id)` in the later
  // statements is the workspace the first one inserted.
  const newWorkspace = sql`(SELECT max(id) FROM workspaces)`
  const [created] = await commit(deps, p, {
    event: { action: 'createWorkspace', targetType: 'workspace', targetId: name },
    checks: [
      {
        reason: 'workspace-limit',
        holds: sql`(${deps.db.select({ n: count() }).from(memberships).where(mine)}) < ${max}`,
        refusal: invalid(`You can belong to at most ${max} accounts`),
      },
    ],
    writes: [
      deps.db
        .insert(workspaces)
        .values({
          id: sql`(SELECT coalesce(max(id), 999999) + 1 FROM workspaces)`,
          organizationId: ws.organizationId,
          name,
          createdBy: p.publicId,
          updatedBy: p.publicId,
        })
        .returning({ id: workspaces.id }),
      deps.db.insert(memberships).values({
        workspaceId: newWorkspace,
        ...member,
        role: 'ADMIN',
        scopeRoles: allScopes('ADMIN'),
        createdBy: p.publicId,
      }),
      ...(p.loginId ? [moveSession(deps, p.loginId, newWorkspace)] : []),
    ],
    affects: p.loginId ? { loginIds: [p.loginId] } : undefined,
  })
  return { id: created[0]?.id ?? 0, name }
}

const moveSession = (deps: Deps, loginId: string, workspaceId: number | SQL) =>
  deps.db.update(logins).set({ workspaceId }).where(eq(logins.id, loginId))

/** Points the session at another workspace the caller belongs to. */
export const switchWorkspace = async (deps: Deps, p: Principal, workspaceId: number) => {
  await authorize(deps, p, 'switchWorkspace')
  if (!p.loginId) throw invalid('Only a signed-in session can switch accounts; an API token is bound to its account')
  const [membership] = await deps.db
    .select({ id: memberships.id })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userIdOf(p))))
  if (!membership) throw notFound('Account not found')
  await commit(deps, p, {
    event: { action: 'switchWorkspace', targetType: 'workspace', targetId: workspaceId, workspaceId },
    writes: [moveSession(deps, p.loginId, workspaceId)],
    affects: { loginIds: [p.loginId] },
    credentialOnly: true,
  })
}

/**
 * Renames the caller and, for an ADMIN, the organization. Both are validated before anything is
 * saved.
 */
export const renameSelf = async (
  deps: Deps,
  p: Principal,
  input: { displayName: string; organizationName?: string },
) => {
  const ws = await authorizeIn(deps, p, 'renameSelf')
  const userId = userIdOf(p)
  const displayName = validUsername(input.displayName)
  const organization = ws.role === 'ADMIN' ? validOrganizationName(input.organizationName) : null
  const now = deps.now()
  await commit(deps, p, {
    event: {
      action: 'renameSelf',
      targetType: 'user',
      targetId: p.publicId,
      detail: organization === null ? { displayName } : { displayName, organization },
    },
    writes: [
      deps.db.update(users).set({ displayName, nameUpdatedAt: now, updatedBy: p.publicId }).where(eq(users.id, userId)),
      ...(organization === null
        ? []
        : [
            deps.db
              .update(organizations)
              .set({ name: organization, updatedBy: p.publicId })
              .where(eq(organizations.id, ws.organizationId)),
          ]),
    ],
    affects: { userIds: [userId] },
  })
}
