import { and, count, eq, sql } from 'drizzle-orm'
import { memberships, organizations, users, workspaces } from '../db/schema'
import { auditInsert } from './audit'
import { authorize } from './authorize'
import type { Deps } from './context'
import { invalid, notFound } from './errors'
import type { Principal } from './principal'
import { memberKeyOf, userIdOf, workspaceOf } from './principal'
import { allScopes } from './roles'
import { validOrganizationName, validUsername, validWorkspaceName } from './rules'
import { moveSession, refreshHotCopy } from './sessions'

/**
 * Creates a workspace in the caller's organization with the caller as ADMIN on every scope, and
 * makes it the session's workspace.
 */
export const createNewAccount = async (deps: Deps, p: Principal, rawName: string) => {
  await authorize(deps, p, 'createNewAccount')
  const ws = workspaceOf(p)
  const member = memberKeyOf(p)
  const name = validWorkspaceName(rawName)
  const mine =
    'userId' in member
      ? eq(memberships.userId, member.userId)
      : eq(memberships.serviceAccountId, member.serviceAccountId)
  const [held] = await deps.db.select({ n: count() }).from(memberships).where(mine)
  const max = deps.config.maxWorkspacesPerUser
  if ((held?.n ?? 0) >= max) throw invalid(`You can belong to at most ${max} accounts`)

  // Ids count up from the highest. D1 runs a batch as one transaction, so `max(id)` in the later
  // statements is the workspace the first one inserted.
  const newWorkspace = sql`(SELECT max(id) FROM workspaces)`
  const [created] = await deps.db.batch([
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
    auditInsert(deps, p, { action: 'createNewAccount', targetType: 'workspace', targetId: name }),
    ...(p.loginId ? [moveSession(deps, p.loginId, newWorkspace)] : []),
  ])
  await refreshHotCopy(deps, p)
  return { id: created[0]!.id, name }
}

/** Points the session at another workspace the caller belongs to. */
export const goToAccount = async (deps: Deps, p: Principal, workspaceId: number) => {
  await authorize(deps, p, 'goToAccount')
  if (!p.loginId) throw invalid('Only a signed-in session can switch accounts; an API token is bound to its account')
  const [membership] = await deps.db
    .select({ id: memberships.id })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userIdOf(p))))
  if (!membership) throw notFound('Account not found')
  await deps.db.batch([
    moveSession(deps, p.loginId, workspaceId),
    auditInsert(deps, p, { action: 'goToAccount', targetType: 'workspace', targetId: workspaceId, workspaceId }),
  ])
  await refreshHotCopy(deps, p)
}

/**
 * Renames the caller and, for an ADMIN, the organization. Both are validated before anything is
 * saved.
 */
export const updateUsernameAndOrganization = async (
  deps: Deps,
  p: Principal,
  input: { username: string; organization?: string },
) => {
  await authorize(deps, p, 'updateUsernameAndOrganization')
  const ws = workspaceOf(p)
  const userId = userIdOf(p)
  const username = validUsername(input.username)
  const organization = ws.role === 'ADMIN' ? validOrganizationName(input.organization) : null
  const now = deps.now()
  await deps.db.batch([
    deps.db
      .update(users)
      .set({ displayName: username, nameUpdatedAt: now, updatedBy: p.publicId })
      .where(eq(users.id, userId)),
    ...(organization === null
      ? []
      : [
          deps.db
            .update(organizations)
            .set({ name: organization, updatedBy: p.publicId })
            .where(eq(organizations.id, ws.organizationId)),
        ]),
    auditInsert(deps, p, {
      action: 'updateUsernameAndOrganization',
      targetType: 'user',
      targetId: p.publicId,
      detail: organization === null ? { username } : { username, organization },
    }),
  ])
}
