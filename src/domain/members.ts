import { and, eq } from 'drizzle-orm'
import { apiTokens, invitations, logins, memberships, users } from '../db/schema'
import { auditInsert } from './audit'
import { authorize } from './authorize'
import type { Deps } from './context'
import { defaultInviteRole } from './custom-roles'
import { forbidden, invalid, notFound } from './errors'
import { type Principal, roleIn, workspaceOf } from './principal'
import {
  accessibleScopes,
  baseRoleOf,
  canAssign,
  GRANTABLE_SCOPES,
  invalidScope,
  ROLE_HIERARCHY,
  resolveRole,
  roleNameInScope,
} from './roles'
import { normalizeEmail } from './rules'
import { dropHotCopies } from './sessions'

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

const NOT_ON_YOURSELF = 'You cannot perform this action on yourself'
const MAY_NOT_MODIFY = "User doesn't have access to modify this role."

const isSelf = (p: Principal, userId: number) => p.kind === 'user' && p.id === userId

/**
 * Removes a user from the caller's workspace, and at once their sessions in it and their API
 * tokens for it; with no such member, withdraws a pending invitation to that address instead.
 */
export const removeUser = async (deps: Deps, p: Principal, rawEmail: string) => {
  await authorize(deps, p, 'removeUser')
  const ws = workspaceOf(p)
  const email = normalizeEmail(rawEmail)
  const hierarchy = ROLE_HIERARCHY[ws.role]
  const member = await findMember(deps, ws.id, email)
  if (!member) {
    const [invitation] = await deps.db
      .select({ id: invitations.id })
      .from(invitations)
      .where(and(eq(invitations.workspaceId, ws.id), eq(invitations.email, email)))
    if (!invitation) throw invalid('User not found')
    await deps.db.batch([
      deps.db.delete(invitations).where(eq(invitations.id, invitation.id)),
      auditInsert(deps, p, { action: 'removeUser', targetType: 'invitation', targetId: email }),
    ])
    return { userId: 0, hierarchy }
  }
  const userId = member.user.id
  if (isSelf(p, userId)) throw invalid(NOT_ON_YOURSELF)
  const [, sessions] = await deps.db.batch([
    deps.db.delete(memberships).where(eq(memberships.id, member.membership.id)),
    deps.db
      .delete(logins)
      .where(and(eq(logins.userId, userId), eq(logins.workspaceId, ws.id)))
      .returning({ id: logins.id }),
    deps.db.delete(apiTokens).where(and(eq(apiTokens.userId, userId), eq(apiTokens.workspaceId, ws.id))),
    auditInsert(deps, p, { action: 'removeUser', targetType: 'user', targetId: member.user.publicId }),
  ])
  // The rows are gone; dropping the KV copies stops the sessions here at once.
  await dropHotCopies(
    deps,
    sessions.map((s) => s.id),
  )
  return { userId, hierarchy }
}

/**
 * Changes a member's role. With a scope map, only the request scope's entry changes; without one
 * the role applies to every scope, so the caller must be able to assign both the member's current
 * role and the new one in every scope.
 */
export const makeAdmin = async (deps: Deps, p: Principal, input: { email: string; userRole: string }) => {
  await authorize(deps, p, 'makeAdmin')
  const ws = workspaceOf(p)
  const target = await requireMember(deps, ws.id, input.email)
  if (isSelf(p, target.user.id)) throw invalid(NOT_ON_YOURSELF)
  const requested = resolveRole(input.userRole, ws.customRoles)
  if (!requested) throw invalid('Invalid user role')

  const { scopeRoles } = target.membership
  const mapped = scopeRoles !== null && Object.keys(scopeRoles).length > 0
  if (mapped && !accessibleScopes(ws.entitlements).includes(p.scope)) throw invalidScope(p.scope)
  for (const scope of mapped ? [p.scope] : GRANTABLE_SCOPES) {
    const mine = roleIn(ws, scope)
    const current = baseRoleOf(roleNameInScope(target.membership, scope), ws.customRoles)
    if (!canAssign(mine, current) || !canAssign(mine, requested.base)) throw forbidden(MAY_NOT_MODIFY)
  }
  await deps.db.batch([
    deps.db
      .update(memberships)
      .set({
        ...(mapped ? { scopeRoles: { ...scopeRoles, [p.scope]: requested.name } } : { role: requested.name }),
        updatedBy: p.publicId,
      })
      .where(eq(memberships.id, target.membership.id)),
    auditInsert(deps, p, {
      action: 'makeAdmin',
      targetType: 'user',
      targetId: target.user.publicId,
      detail: { scope: p.scope, from: roleNameInScope(target.membership, p.scope), to: requested.name },
    }),
  ])
}

/**
 * Replaces a member's scope-role map (a scope left out, or set to NO_ACCESS, is revoked). In every
 * scope it changes, the caller must be able to assign both the member's current role and the new
 * one, judged by the caller's own role in that scope, so nobody raises anyone, themselves
 * included, above their own standing. An empty map grants the default invite role everywhere.
 */
export const updateUserScopeRoleMapping = async (
  deps: Deps,
  p: Principal,
  input: { email: string; scopeRoleMapping: Record<string, string> },
) => {
  await authorize(deps, p, 'updateUserScopeRoleMapping')
  const ws = workspaceOf(p)
  const target = await requireMember(deps, ws.id, input.email)
  const accessible = accessibleScopes(ws.entitlements)
  let requested = input.scopeRoleMapping
  if (Object.keys(requested).length === 0) {
    const role = (await defaultInviteRole(deps, ws.id)) ?? 'MEMBER'
    requested = Object.fromEntries(accessible.map((s) => [s, role]))
  }

  const mapping: Record<string, string> = {}
  for (const [scope, roleName] of Object.entries(requested)) {
    if (!(GRANTABLE_SCOPES as readonly string[]).includes(scope)) throw invalidScope(scope)
    if (roleName.trim().toUpperCase() === 'NO_ACCESS') {
      mapping[scope] = 'NO_ACCESS'
      continue
    }
    const role = resolveRole(roleName, ws.customRoles)
    if (!role) throw invalid(`Invalid role: ${roleName}`)
    if (!accessible.includes(scope)) throw invalidScope(scope)
    if (!canAssign(roleIn(ws, scope), role.base)) throw forbidden(MAY_NOT_MODIFY)
    mapping[scope] = role.name
  }
  for (const scope of GRANTABLE_SCOPES) {
    const before = roleNameInScope(target.membership, scope)
    const current = baseRoleOf(before, ws.customRoles)
    const changed = before !== (mapping[scope] ?? 'NO_ACCESS')
    if (changed && current !== 'NO_ACCESS' && !canAssign(roleIn(ws, scope), current)) throw forbidden(MAY_NOT_MODIFY)
  }

  await deps.db.batch([
    deps.db
      .update(memberships)
      .set({ scopeRoles: mapping, updatedBy: p.publicId })
      .where(eq(memberships.id, target.membership.id)),
    auditInsert(deps, p, {
      action: 'updateUserScopeRoleMapping',
      targetType: 'user',
      targetId: target.user.publicId,
      detail: { from: target.membership.scopeRoles, to: mapping },
    }),
  ])
}
