import { and, asc, eq, gt, sql } from 'drizzle-orm'
import { newPublicId, sha256 } from '../auth/crypto'
import { hashPassword, verifyPassword } from '../auth/passwords'
import { signInvitation, verifyInvitation } from '../auth/tokens'
import { invitations, memberships, organizations, users, workspaces } from '../db/schema'
import { auditInsert } from './audit'
import { authorize } from './authorize'
import type { Deps } from './context'
import { conflict, forbidden, invalid, isUniqueViolation, notFound, unauthenticated } from './errors'
import { prepareJob } from './jobs'
import { findMember } from './members'
import { type Principal, roleIn, workspaceOf } from './principal'
import { accessibleScopes, canAssign, invalidScope, resolveRole } from './roles'
import { normalizeEmail, validEmail, validUsername } from './rules'
import { authSecret } from './sessions'
import { startSession, validPassword } from './sign-in'
import { limitBurst, limitWindow } from './throttle'

const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000

export type InviteInput = {
  inviteeEmail: string
  inviteeName?: string
  inviteeRole?: string
  scopeRoleMapping?: Record<string, string>
}

/** The invitee's domain must be the workspace's own (or `consulting-for.` it). */
const sameOrganisation = (invitee: string, reference: string) => {
  const domain = invitee.split('@')[1] ?? ''
  const own = (reference.split('@')[1] ?? '').toLowerCase()
  return domain === own || domain === `consulting-for.${own}`
}

/**
 * Invites someone to the caller's workspace: checks, a signed one-week code (a new one replaces
 * any earlier invitation to the same address), and the email through the job queue. The link is
 * built from APP_ORIGIN, never from the request.
 */
export const inviteUsers = async (deps: Deps, p: Principal, input: InviteInput) => {
  await authorize(deps, p, 'inviteUsers')
  const ws = workspaceOf(p)
  await limitWindow(deps, `invite:ip:${deps.meta.ip ?? 'unknown'}`, 10, 3600)
  const email = validEmail(input.inviteeEmail)
  const name = input.inviteeName?.trim().slice(0, 100) || null

  const [org] = await deps.db
    .select({ name: organizations.name })
    .from(organizations)
    .where(eq(organizations.id, ws.organizationId))
  if (ws.entitlements.SSO_ONLY_LOGIN === true && p.kind === 'user' && p.id !== null) {
    const [inviter] = await deps.db.select({ sso: users.ssoChannel }).from(users).where(eq(users.id, p.id))
    if (inviter?.sso) throw invalid('Inviting new users is not allowed for this account')
  }
  if (await findMember(deps, ws.id, email)) throw invalid('User already exists')

  const [reference] = await deps.db
    .select({ email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.workspaceId, ws.id))
    .orderBy(asc(users.id))
    .limit(1)
  if (reference && !sameOrganisation(email, reference.email)) throw invalid('Email must belong to same organisation')

  const requested =
    input.scopeRoleMapping && Object.keys(input.scopeRoleMapping).length
      ? input.scopeRoleMapping
      : input.inviteeRole !== undefined
        ? { API: input.inviteeRole }
        : null
  if (!requested) throw invalid('Either scopeRoleMapping or inviteeRole must be provided')
  // Each scope is judged by the inviter's own role in it, so nobody invites above their standing.
  const accessible = accessibleScopes(ws.entitlements)
  const scopeRoles: Record<string, string> = {}
  for (const [scope, roleName] of Object.entries(requested)) {
    const role = resolveRole(roleName, ws.customRoles)
    if (!role) throw invalid('Invalid role')
    if (role.base === 'NO_ACCESS' || !canAssign(roleIn(ws, scope), role.base))
      throw invalid('User not allowed to invite for this role')
    if (!accessible.includes(scope)) throw invalidScope(scope)
    scopeRoles[scope] = role.name
  }

  const now = deps.now()
  const expiresAt = new Date(now.getTime() + INVITATION_TTL_MS)
  const code = await signInvitation(authSecret(deps), { email, workspaceId: ws.id }, expiresAt)
  const link = `${deps.config.appOrigin}/addUserToAccount?signupInvitationCode=${code}&signupEmailId=${encodeURIComponent(email)}`
  const values = {
    scopeRoles,
    name,
    issuerUserId: p.kind === 'user' ? p.id : null,
    codeHash: await sha256(code),
    status: 'pending' as const,
    expiresAt,
    updatedAt: now,
  }
  const job = prepareJob(deps, p, 'sendEmail', {
    payload: { to: email, template: 'invitation' },
    email: {
      to: email,
      subject: `You are invited to ${org?.name ?? 'edge-iam'}`,
      text: `${name ? `Hello ${name},\n\n` : ''}You have been invited to join ${org?.name ?? 'a workspace'}. Accept the invitation within a week:\n\n${link}\n`,
    },
  })
  await deps.db.batch([
    deps.db
      .insert(invitations)
      .values({ workspaceId: ws.id, email, ...values })
      .onConflictDoUpdate({ target: [invitations.workspaceId, invitations.email], set: values }),
    job.insert,
    auditInsert(deps, p, { action: 'inviteUsers', targetType: 'invitation', targetId: email, detail: { scopeRoles } }),
  ])
  // The invitation is complete without its email: the link is in the answer, and a failed send
  // is recorded on the job row.
  await job.send().catch(() => {})
  return { finalInviteCode: link, inviteeRole: input.inviteeRole, scopeRoleMapping: scopeRoles }
}

/** Withdraws a pending invitation of the caller's workspace: its issuer or an ADMIN may. */
export const removeInvitation = async (deps: Deps, p: Principal, rawEmail: string) => {
  await authorize(deps, p, 'removeInvitation')
  const ws = workspaceOf(p)
  const email = normalizeEmail(rawEmail)
  const where = and(eq(invitations.workspaceId, ws.id), eq(invitations.email, email), eq(invitations.status, 'pending'))
  const [invitation] = await deps.db.select().from(invitations).where(where)
  if (!invitation) throw notFound('Invitation not found')
  const isIssuer = p.kind === 'user' && invitation.issuerUserId === p.id
  if (!isIssuer && ws.role !== 'ADMIN') throw forbidden('User is not allowed to remove this invitation.')
  await deps.db.batch([
    deps.db.delete(invitations).where(eq(invitations.id, invitation.id)),
    auditInsert(deps, p, { action: 'removeInvitation', targetType: 'invitation', targetId: email }),
  ])
}

const NOT_INVITED = 'This invitation is not valid any more: ask an admin to invite you again'

/**
 * Accepts an invitation: creates the user (or, for an existing user, checks their password and
 * adds the membership) with the invited roles, then signs them in.
 */
export const acceptInvitation = async (
  deps: Deps,
  input: { invitationCode: string; password: string; name?: string },
) => {
  const claims = await verifyInvitation(authSecret(deps), input.invitationCode)
  if (!claims) throw invalid(NOT_INVITED)
  // An existing account's password is checked here, so guesses are throttled like logins.
  await limitBurst(deps, [`login:ip:${deps.meta.ip ?? 'unknown'}`, `login:email:${claims.email}`])
  const [invitation] = await deps.db
    .select()
    .from(invitations)
    .where(
      and(
        eq(invitations.codeHash, await sha256(input.invitationCode)),
        eq(invitations.status, 'pending'),
        gt(invitations.expiresAt, deps.now()),
      ),
    )
  if (!invitation || invitation.email !== claims.email || invitation.workspaceId !== claims.workspaceId)
    throw invalid(NOT_INVITED)
  const [workspace] = await deps.db
    .select({ id: workspaces.id })
    .from(workspaces)
    .where(eq(workspaces.id, invitation.workspaceId))
  if (!workspace) throw invalid(NOT_INVITED)

  const [existing] = await deps.db.select().from(users).where(eq(users.email, invitation.email))
  let user: { id: number; publicId: string; email: string }
  const now = deps.now()
  const role = invitation.scopeRoles.API ?? Object.values(invitation.scopeRoles)[0] ?? 'GUEST'
  const accept = deps.db
    .update(invitations)
    .set({ status: 'accepted', updatedAt: now })
    .where(and(eq(invitations.id, invitation.id), eq(invitations.status, 'pending')))
  try {
    if (existing) {
      const { ok } = await verifyPassword(input.password, existing.passwordHash, deps.env.PASSWORD_PEPPER)
      if (!ok || !existing.enabled) throw unauthenticated('Invalid email or password')
      user = existing
      await deps.db.batch([
        deps.db.insert(memberships).values({
          workspaceId: invitation.workspaceId,
          userId: existing.id,
          role,
          scopeRoles: invitation.scopeRoles,
          createdBy: existing.publicId,
        }),
        accept,
        auditInsert(deps, null, {
          action: 'acceptInvitation',
          targetType: 'user',
          targetId: existing.publicId,
          workspaceId: invitation.workspaceId,
        }),
      ])
    } else {
      const publicId = newPublicId()
      const password = validPassword(input.password)
      const displayName = input.name === undefined ? null : validUsername(input.name)
      const [created] = await deps.db.batch([
        deps.db
          .insert(users)
          .values({
            publicId,
            email: invitation.email,
            displayName: displayName ?? invitation.name,
            passwordHash: await hashPassword(password, deps.env.PASSWORD_PEPPER),
            joinedAt: now,
            createdBy: publicId,
            updatedBy: publicId,
          })
          .returning({ id: users.id }),
        deps.db.insert(memberships).values({
          workspaceId: invitation.workspaceId,
          userId: sql`(SELECT id FROM users WHERE public_id = ${publicId})`,
          role,
          scopeRoles: invitation.scopeRoles,
          createdBy: publicId,
        }),
        accept,
        auditInsert(deps, null, {
          action: 'signup',
          targetType: 'user',
          targetId: publicId,
          workspaceId: invitation.workspaceId,
        }),
      ])
      user = { id: created[0]!.id, publicId, email: invitation.email }
    }
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('This invitation was already accepted')
    throw err
  }
  return startSession(deps, user, invitation.workspaceId)
}
