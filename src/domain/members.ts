import { and, eq } from 'drizzle-orm'
import { apiTokens, customRoles, invitations, logins, memberships } from '../db/schema'
import { auditInsert } from './audit'
import { authorize } from './authorize'
import type { Deps } from './context'
import { forbidden, invalid } from './errors'
import type { Principal } from './principal'
import {
  accessibleScopes,
  type BaseRole,
  baseRoleOf,
  canAssign,
  GRANTABLE_SCOPES,
  ROLE_HIERARCHY,
  resolveRole,
  roleNameInScope,
} from './roles'
import { normalizeEmail } from './rules'
import { revokeLogins } from './sessions'
import { customRolesOf, findMember, requireMember, workspaceOf } from './workspace'

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
    return { userId: 0, hierarchy: ROLE_HIERARCHY[ws.role] }
  }
  const userId = member.user.id
  if (isSelf(p, userId)) throw invalid(NOT_ON_YOURSELF)
  const inWorkspace = and(eq(logins.userId, userId), eq(logins.workspaceId, ws.id))
  const sessions = await deps.db.select({ id: logins.id }).from(logins).where(inWorkspace)
  const [, , tokens] = await deps.db.batch([
    deps.db.delete(memberships).where(eq(memberships.id, member.membership.id)),
    deps.db.delete(logins).where(inWorkspace),
    deps.db
      .delete(apiTokens)
      .where(and(eq(apiTokens.userId, userId), eq(apiTokens.workspaceId, ws.id)))
      .returning({ id: apiTokens.id }),
    auditInsert(deps, p, { action: 'removeUser', targetType: 'user', targetId: member.user.publicId }),
  ])
  // The rows are gone; the KV copies go too, so the sessions stop here at once.
  await revokeLogins(
    deps,
    sessions.map((s) => s.id),
  )
  return { userId, revokedSessions: sessions.length, revokedTokens: tokens.length, hierarchy: ROLE_HIERARCHY[ws.role] }
}

/**
 * Changes a member's role in the request's scope. The caller must be able to assign both the
 * member's current role and the new one.
 */
export const makeAdmin = async (deps: Deps, p: Principal, input: { email: string; userRole: string }) => {
  await authorize(deps, p, 'makeAdmin')
  const ws = workspaceOf(p)
  const target = await requireMember(deps, ws.id, input.email)
  if (isSelf(p, target.user.id)) throw invalid(NOT_ON_YOURSELF)
  const customs = await customRolesOf(deps, ws.id)
  const requested = resolveRole(input.userRole, customs)
  if (!requested) throw invalid('Invalid user role')
  const current = baseRoleOf(roleNameInScope(target.membership, p.scope), customs)
  if (!canAssign(ws.role, current) || !canAssign(ws.role, requested.base)) throw forbidden(MAY_NOT_MODIFY)

  const { scopeRoles } = target.membership
  const mapped = scopeRoles && Object.keys(scopeRoles).length > 0
  if (mapped && !(GRANTABLE_SCOPES as readonly string[]).includes(p.scope))
    throw invalid(`Invalid product scope: user account does not have access to this scope${p.scope}`)
  await deps.db.batch([
    deps.db
      .update(memberships)
      .set({
        role: requested.name,
        scopeRoles: mapped ? { ...scopeRoles, [p.scope]: requested.name } : scopeRoles,
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
 * scope it touches, the caller must be able to assign both the member's current role and the new
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
  const customs = await customRolesOf(deps, ws.id)
  const accessible = accessibleScopes(ws.entitlements)

  let requested = input.scopeRoleMapping
  if (Object.keys(requested).length === 0) {
    const fallback = customs.size ? await defaultInviteRole(deps, ws.id) : null
    requested = Object.fromEntries(accessible.map((s) => [s, fallback ?? 'MEMBER']))
  }

  const caller =
    p.kind === 'root' || p.id === null
      ? null
      : (
          await deps.db
            .select({ role: memberships.role, scopeRoles: memberships.scopeRoles })
            .from(memberships)
            .where(
              and(
                eq(memberships.workspaceId, ws.id),
                eq(p.kind === 'user' ? memberships.userId : memberships.serviceAccountId, p.id),
              ),
            )
        )[0]
  const callerRole = (scope: string): BaseRole =>
    caller ? baseRoleOf(roleNameInScope(caller, scope), customs) : 'ADMIN'
  const currentRole = (scope: string) => baseRoleOf(roleNameInScope(target.membership, scope), customs)

  const mapping: Record<string, string> = {}
  for (const [scope, roleName] of Object.entries(requested)) {
    if (!(GRANTABLE_SCOPES as readonly string[]).includes(scope))
      throw invalid(`Invalid product scope: user account does not have access to this scope${scope}`)
    const role = roleName.trim().toUpperCase() === 'NO_ACCESS' ? null : resolveRole(roleName, customs)
    if (roleName.trim().toUpperCase() !== 'NO_ACCESS' && !role) throw invalid(`Invalid role: ${roleName}`)
    if (role && !accessible.includes(scope))
      throw invalid(`Invalid product scope: user account does not have access to this scope${scope}`)
    if (role && !canAssign(callerRole(scope), role.base)) throw forbidden(MAY_NOT_MODIFY)
    mapping[scope] = role?.name ?? 'NO_ACCESS'
  }
  for (const scope of GRANTABLE_SCOPES) {
    const before = currentRole(scope)
    const after = mapping[scope] ?? 'NO_ACCESS'
    const changed = roleNameInScope(target.membership, scope) !== after
    if (changed && before !== 'NO_ACCESS' && !canAssign(callerRole(scope), before)) throw forbidden(MAY_NOT_MODIFY)
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
  return mapping
}

const defaultInviteRole = async (deps: Deps, workspaceId: number) => {
  const [row] = await deps.db
    .select({ name: customRoles.name })
    .from(customRoles)
    .where(and(eq(customRoles.workspaceId, workspaceId), eq(customRoles.defaultInviteRole, true)))
  return row?.name ?? null
}
