import { and, eq, inArray, type SQL } from 'drizzle-orm'
import { alias } from 'drizzle-orm/sqlite-core'
import { named } from '../db/client'
import { apiTokens, invitations, logins, memberships, type ScopeRoleMap, users, workspaces } from '../db/schema'
import { keepsAnAdmin } from './admins'
import { authorizeIn, refuse } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { defaultInviteRole } from './custom-roles'
import { forbidden, invalid, notFound } from './errors'
import { type Principal, roleIn, type WorkspaceAccess } from './principal'
import {
  accessibleScopes,
  type BaseRole,
  type CustomRoles,
  canAssign,
  customRolesOf,
  effectiveRole,
  GRANTABLE_SCOPES,
  grantableBy,
  hasScopeMap,
  invalidScope,
  type Membership,
  resolveRole,
  roleHasAccess,
  unknownRole,
} from './roles'
import { normalizeEmail } from './rules'

/** How a surface names a member: the dashboard by email, REST and JSON:API by public id. */
export type MemberRef = { email: string } | { publicId: string }

/** A member of a workspace: the person, and what the membership grants. */
export type Member = {
  user: { id: number; publicId: string; email: string; displayName: string | null }
  membership: Membership & { id: number; updatedAt: Date }
}

const memberColumns = {
  user: named('user', { id: users.id, publicId: users.publicId, email: users.email, displayName: users.displayName }),
  membership: named('membership', {
    id: memberships.id,
    role: memberships.role,
    scopeRoles: memberships.scopeRoles,
    updatedAt: memberships.updatedAt,
  }),
}

const refWhere = (ref: MemberRef): SQL =>
  'email' in ref ? eq(users.email, normalizeEmail(ref.email)) : eq(users.publicId, ref.publicId)

/** The statement that finds a member (batch-safe: every column has a name of its own). */
const memberQuery = (deps: Deps, workspaceId: number, ref: MemberRef) =>
  deps.db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), refWhere(ref)))

/** Pending invitations a member issued in the workspace. */
const issuedQuery = (deps: Deps, workspaceId: number, ref: MemberRef) =>
  deps.db
    .select({ id: invitations.id, scopeRoles: invitations.scopeRoles })
    .from(invitations)
    .innerJoin(users, eq(users.id, invitations.issuerUserId))
    .where(and(eq(invitations.workspaceId, workspaceId), eq(invitations.status, 'pending'), refWhere(ref)))

/** A user of the workspace; null when there is no such member. */
export const findMember = async (deps: Deps, workspaceId: number, ref: MemberRef): Promise<Member | null> =>
  (await memberQuery(deps, workspaceId, ref))[0] ?? null

/** A member and the pending invitations they issued, in one round trip; a user outside the workspace is a 404. */
const requireMemberAndIssued = async (deps: Deps, ws: WorkspaceAccess, ref: MemberRef) => {
  const [[member], issued] = await deps.db.batch([memberQuery(deps, ws.id, ref), issuedQuery(deps, ws.id, ref)])
  if (!member) throw notFound('User not found')
  return { member, issued }
}

export const NOT_ON_YOURSELF = 'You cannot perform this action on yourself'
const MAY_NOT_MODIFY = "User doesn't have access to modify this role."

const isSelf = (p: Principal, userId: number) => p.kind === 'user' && p.id === userId

/** Scopes in which a membership grants anything. */
const heldScopes = (m: Membership, custom: CustomRoles) =>
  GRANTABLE_SCOPES.filter((s) => effectiveRole(m, s, custom).base !== 'NO_ACCESS')

/**
 * Whether the caller stands at or above a member in every scope the member holds a role in:
 * the rule for removing them, changing their roles, or resetting their password.
 */
export const mayManage = (ws: WorkspaceAccess, target: Membership) =>
  heldScopes(target, ws.customRoles).every((s) =>
    canAssign(roleIn(ws, s), effectiveRole(target, s, ws.customRoles).base),
  )

/** Whether a membership entitles its holder to invite these scope roles (root: `null`, always). */
export const mayInvite = (issuer: Membership | null, scopeRoles: ScopeRoleMap, custom: CustomRoles) =>
  Object.entries(scopeRoles).every(([scope, name]) => {
    if (!issuer) return true
    const mine = effectiveRole(issuer, scope, custom).base
    const role = resolveRole(name, custom)
    return !!role && roleHasAccess(mine, 'INVITE_MEMBERS', 'READ_WRITE') && canAssign(mine, role.base)
  })

/** Deletes a member's pending invitations that their new standing (null: none) no longer allows. */
const revokeIssued = (
  deps: Deps,
  ws: WorkspaceAccess,
  issued: { id: number; scopeRoles: ScopeRoleMap }[],
  after: Membership | null,
) => {
  const dead = issued.filter((i) => !after || !mayInvite(after, i.scopeRoles, ws.customRoles)).map((i) => i.id)
  return dead.length ? [deps.db.delete(invitations).where(inArray(invitations.id, dead))] : []
}

/** Refuses, unless the caller may manage the member (see `mayManage`). */
const requireManageable = async (deps: Deps, p: Principal, ws: WorkspaceAccess, action: string, target: Member) => {
  if (isSelf(p, target.user.id)) await refuse(deps, p, action, invalid(NOT_ON_YOURSELF))
  if (!mayManage(ws, target.membership)) await refuse(deps, p, action, forbidden(MAY_NOT_MODIFY))
}

export type Removal = { kind: 'member'; member: Member } | { kind: 'invitation'; email: string }

/**
 * Removes a member from the caller's workspace, and at once their sessions in it, their API tokens
 * for it and the invitations they issued there. Referenced by email, an address with no member
 * but a pending invitation withdraws that invitation.
 */
export const removeMember = async (deps: Deps, p: Principal, ref: MemberRef): Promise<Removal> => {
  const ws = await authorizeIn(deps, p, 'removeMember')
  const [[member], issued, [invitation]] = await deps.db.batch([
    memberQuery(deps, ws.id, ref),
    issuedQuery(deps, ws.id, ref),
    deps.db
      .select({ id: invitations.id })
      .from(invitations)
      .where(
        and(
          eq(invitations.workspaceId, ws.id),
          eq(invitations.status, 'pending'),
          eq(invitations.email, 'email' in ref ? normalizeEmail(ref.email) : ''),
        ),
      ),
  ])
  if (!member) {
    if (!invitation || !('email' in ref)) throw 'email' in ref ? invalid('User not found') : notFound('User not found')
    await commit(deps, p, {
      event: { action: 'withdrawInvitation', targetType: 'invitation', targetId: normalizeEmail(ref.email) },
      writes: [deps.db.delete(invitations).where(eq(invitations.id, invitation.id))],
    })
    return { kind: 'invitation', email: normalizeEmail(ref.email) }
  }
  await requireManageable(deps, p, ws, 'removeMember', member)
  const userId = member.user.id
  await commit(deps, p, {
    event: { action: 'removeMember', targetType: 'user', targetId: member.user.publicId },
    checks: keepsAnAdmin(deps, ws, member, null),
    writes: [
      deps.db.delete(memberships).where(eq(memberships.id, member.membership.id)),
      deps.db.delete(logins).where(and(eq(logins.userId, userId), eq(logins.workspaceId, ws.id))),
      deps.db.delete(apiTokens).where(and(eq(apiTokens.userId, userId), eq(apiTokens.workspaceId, ws.id))),
      ...revokeIssued(deps, ws, issued, null),
    ],
    affects: { userIds: [userId] },
  })
  return { kind: 'member', member }
}

/**
 * Changes a member's role. With a scope map, only the request scope's entry changes; without one
 * the role applies to every scope. In each scope it touches, the caller must be able to assign
 * both the member's current role and the new one.
 */
export const changeMemberRole = async (deps: Deps, p: Principal, ref: MemberRef, roleName: string) => {
  const ws = await authorizeIn(deps, p, 'changeMemberRole')
  const { member, issued } = await requireMemberAndIssued(deps, ws, ref)
  if (isSelf(p, member.user.id)) await refuse(deps, p, 'changeMemberRole', invalid(NOT_ON_YOURSELF))
  const requested = resolveRole(roleName, ws.customRoles)
  if (!requested) throw unknownRole('Invalid user role', roleName, ws.customRoles)

  const { membership } = member
  const mapped = hasScopeMap(membership)
  if (mapped && !accessibleScopes(ws.entitlements).includes(p.scope)) throw invalidScope(p.scope)
  for (const scope of mapped ? [p.scope] : GRANTABLE_SCOPES) {
    const mine = roleIn(ws, scope)
    const current = effectiveRole(membership, scope, ws.customRoles).base
    if (!canAssign(mine, current) || !canAssign(mine, requested.base))
      await refuse(deps, p, 'changeMemberRole', forbidden(mayNotModify(mine, ws.customRoles)))
  }
  const after: Membership = mapped
    ? { role: membership.role, scopeRoles: { ...membership.scopeRoles, [p.scope]: requested.name } }
    : { role: requested.name, scopeRoles: membership.scopeRoles }
  await commit(deps, p, {
    event: {
      action: 'changeMemberRole',
      targetType: 'user',
      targetId: member.user.publicId,
      detail: { scope: p.scope, from: effectiveRole(membership, p.scope, ws.customRoles).name, to: requested.name },
    },
    checks: keepsAnAdmin(deps, ws, member, after),
    writes: [
      deps.db
        .update(memberships)
        .set({ ...after, updatedBy: p.publicId })
        .where(eq(memberships.id, membership.id)),
      ...revokeIssued(deps, ws, issued, after),
    ],
    affects: { userIds: [member.user.id] },
  })
}

const mayNotModify = (mine: BaseRole, custom: CustomRoles) =>
  `${MAY_NOT_MODIFY} Roles you may assign here: ${grantableBy(mine, custom).join(', ') || 'none'}`

/**
 * Replaces a member's scope-role map (a scope left out, or set to NO_ACCESS, is revoked). In every
 * scope it changes, the caller must be able to assign both the member's current role and the new
 * one, judged by the caller's own role in that scope, so nobody raises anyone, themselves
 * included, above their own standing. An empty map grants the default invite role (else MEMBER)
 * in every scope the workspace may grant.
 */
export const setMemberScopeRoles = async (
  deps: Deps,
  p: Principal,
  ref: MemberRef,
  requested: Record<string, string>,
) => {
  const ws = await authorizeIn(deps, p, 'setMemberScopeRoles')
  const { member, issued } = await requireMemberAndIssued(deps, ws, ref)
  const accessible = accessibleScopes(ws.entitlements)
  let wanted = requested
  if (Object.keys(wanted).length === 0) {
    const role = (await defaultInviteRole(deps, ws.id)) ?? 'MEMBER'
    wanted = Object.fromEntries(accessible.map((s) => [s, role]))
  }

  const mapping: Record<string, string> = {}
  for (const [scope, roleName] of Object.entries(wanted)) {
    if (!(GRANTABLE_SCOPES as readonly string[]).includes(scope)) throw invalidScope(scope)
    if (roleName.trim().toUpperCase() === 'NO_ACCESS') {
      mapping[scope] = 'NO_ACCESS'
      continue
    }
    const role = resolveRole(roleName, ws.customRoles)
    if (!role) throw unknownRole('Invalid role', roleName, ws.customRoles)
    if (!accessible.includes(scope)) throw invalidScope(scope)
    const mine = roleIn(ws, scope)
    if (!canAssign(mine, role.base))
      await refuse(deps, p, 'setMemberScopeRoles', forbidden(mayNotModify(mine, ws.customRoles)))
    mapping[scope] = role.name
  }
  const after: Membership = { role: member.membership.role, scopeRoles: mapping }
  for (const scope of GRANTABLE_SCOPES) {
    const before = effectiveRole(member.membership, scope, ws.customRoles)
    const changed = before.name !== effectiveRole(after, scope, ws.customRoles).name
    const mine = roleIn(ws, scope)
    if (changed && before.base !== 'NO_ACCESS' && !canAssign(mine, before.base))
      await refuse(deps, p, 'setMemberScopeRoles', forbidden(mayNotModify(mine, ws.customRoles)))
  }

  await commit(deps, p, {
    event: {
      action: 'setMemberScopeRoles',
      targetType: 'user',
      targetId: member.user.publicId,
      detail: { from: member.membership.scopeRoles, to: mapping },
    },
    checks: keepsAnAdmin(deps, ws, member, after),
    writes: [
      deps.db
        .update(memberships)
        .set({ scopeRoles: mapping, updatedBy: p.publicId })
        .where(eq(memberships.id, member.membership.id)),
      ...revokeIssued(deps, ws, issued, after),
    ],
    affects: { userIds: [member.user.id] },
  })
}

/**
 * Refuses unless the caller may act on a person across workspaces: in every workspace the person
 * belongs to (of one organization, or anywhere for what is global to them, like a password), the
 * caller must be a member with ADMIN in some scope, and stand at or above the person in every scope
 * they hold a role in. Answers those memberships.
 */
export const requireManages = async (
  deps: Deps,
  p: Principal,
  userId: number,
  action: string,
  organizationId?: number,
) => {
  const caller = alias(memberships, 'caller')
  const callerKey = p.kind === 'serviceAccount' ? caller.serviceAccountId : caller.userId
  const rows = await deps.db
    .select({
      target: named('target', {
        id: memberships.id,
        workspaceId: memberships.workspaceId,
        role: memberships.role,
        scopeRoles: memberships.scopeRoles,
      }),
      caller: named('caller', { role: caller.role, scopeRoles: caller.scopeRoles }),
      custom: customRolesOf(memberships.workspaceId).as('custom_roles'),
    })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .leftJoin(caller, and(eq(caller.workspaceId, memberships.workspaceId), eq(callerKey, p.id ?? -1)))
    .where(
      and(
        eq(memberships.userId, userId),
        organizationId === undefined ? undefined : eq(workspaces.organizationId, organizationId),
      ),
    )
  const manages = (row: (typeof rows)[number]) => {
    if (p.kind === 'root') return true
    if (row.caller.role === null) return false
    const { custom } = row
    const mine = { role: row.caller.role, scopeRoles: row.caller.scopeRoles }
    const theirs = { role: row.target.role, scopeRoles: row.target.scopeRoles }
    return (
      GRANTABLE_SCOPES.some((s) => effectiveRole(mine, s, custom).base === 'ADMIN') &&
      heldScopes(theirs, custom).every((s) =>
        canAssign(effectiveRole(mine, s, custom).base, effectiveRole(theirs, s, custom).base),
      )
    )
  }
  if (!rows.every(manages))
    await refuse(
      deps,
      p,
      action,
      forbidden(
        organizationId === undefined
          ? "This belongs to the user in every workspace: only an admin of each of the user's workspaces, at or above the user's role in every scope, may change it"
          : "Only an admin of each of the user's workspaces in this organization, at or above the user's role in every scope, may do this",
      ),
    )
  return rows.map((r) => ({
    workspace: { id: r.target.workspaceId, customRoles: r.custom },
    membership: { id: r.target.id, role: r.target.role, scopeRoles: r.target.scopeRoles },
  }))
}
