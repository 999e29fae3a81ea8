import { and, eq, type SQL, sql } from 'drizzle-orm'
import { newPublicId, sha256 } from '../auth/crypto'
import { hashPassword, verifyPassword } from '../auth/passwords'
import { signInvitation, verifyInvitation } from '../auth/tokens'
import { named } from '../db/client'
import { invitations, memberships, organizations, type ScopeRoleMap, userEmails, users } from '../db/schema'
import { authorizeIn, refuse } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { emailJob } from './emails'
import { conflict, forbidden, invalid, isUniqueViolation, notFound, unauthenticated } from './errors'
import { mayInvite } from './members'
import type { Principal } from './principal'
import { roleIn } from './principal'
import { releaseClaims, signInAddress } from './profile'
import {
  accessibleScopes,
  canAssign,
  customRolesOf,
  grantableBy,
  invalidScope,
  resolveRole,
  unknownRole,
} from './roles'
import { normalizeEmail, validEmail, validName, validUsername } from './rules'
import { authSecret } from './sessions'
import { startSession, validPassword } from './sign-in'
import { checkWindow, limitSignIn, recordInWindow } from './throttle'

const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000
/** Invitations one IP may send per hour (as in Akto). */
const INVITES_PER_HOUR = 10

export type InviteInput = { email: string; name?: string; scopeRoles: ScopeRoleMap }

/** A pending invitation, as sent. */
export type SentInvitation = { email: string; scopeRoles: ScopeRoleMap; link: string; expiresAt: Date }

/** The invitee's domain must be the workspace's own (or `consulting-for.` it). */
const sameOrganisation = (invitee: string, reference: string) => {
  const domain = invitee.split('@')[1] ?? ''
  const own = (reference.split('@')[1] ?? '').toLowerCase()
  return domain === own || domain === `consulting-for.${own}`
}

/** The dashboard page that accepts an invitation; the code is its `signupInvitationCode`. */
const invitationLink = (deps: Deps, code: string, email: string) =>
  `${deps.config.appOrigin}/addUserToAccount?signupInvitationCode=${code}&signupEmailId=${encodeURIComponent(email)}`

/**
 * Invites someone to the caller's workspace, within the caller's own standing in each scope: a
 * signed one-week code (a new one replaces any earlier invitation to the same address), and the
 * email through the job queue. The link is built from APP_ORIGIN, never from the request. Only
 * invitations actually sent count against the hourly limit per IP.
 */
export const inviteMember = async (deps: Deps, p: Principal, input: InviteInput): Promise<SentInvitation> => {
  const ws = await authorizeIn(deps, p, 'inviteMember')
  const throttleKey = `invite:ip:${deps.meta.ip ?? 'unknown'}`
  const window = await checkWindow(deps, throttleKey, INVITES_PER_HOUR, 3600)
  if (window.exceeded) await refuse(deps, p, 'inviteMember', window.exceeded)
  const email = validEmail(input.email)
  const name = input.name === undefined || input.name.trim() === '' ? null : validName(input.name, 'inviteeName', 100)

  const [[org], [inviter], existing, [reference]] = await deps.db.batch([
    deps.db.select({ name: organizations.name }).from(organizations).where(eq(organizations.id, ws.organizationId)),
    deps.db
      .select({ sso: users.ssoChannel })
      .from(users)
      .where(eq(users.id, p.kind === 'user' && p.id !== null ? p.id : -1)),
    deps.db
      .select({ id: memberships.id })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.workspaceId, ws.id), eq(users.email, email))),
    deps.db
      .select({ email: users.email })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.workspaceId, ws.id))
      .orderBy(users.id)
      .limit(1),
  ])
  if (ws.entitlements.SSO_ONLY_LOGIN === true && inviter?.sso)
    throw invalid('Inviting new users is not allowed for this account')
  if (existing.length) throw invalid('User already exists')
  if (reference && !sameOrganisation(email, reference.email)) throw invalid('Email must belong to same organisation')

  // Each scope is judged by the inviter's own role in it, so nobody invites above their standing.
  const accessible = accessibleScopes(ws.entitlements)
  const scopeRoles: Record<string, string> = {}
  for (const [scope, roleName] of Object.entries(input.scopeRoles)) {
    const role = resolveRole(roleName, ws.customRoles)
    if (!role) throw unknownRole('Invalid role', roleName, ws.customRoles)
    if (!accessible.includes(scope)) throw invalidScope(scope)
    const mine = roleIn(ws, scope)
    if (role.base === 'NO_ACCESS' || !canAssign(mine, role.base))
      await refuse(
        deps,
        p,
        'inviteMember',
        invalid(
          `User not allowed to invite for this role: ${role.name}. Roles you may invite for in ${scope}: ${grantableBy(mine, ws.customRoles).join(', ') || 'none'}`,
        ),
      )
    scopeRoles[scope] = role.name
  }

  const now = deps.now()
  const expiresAt = new Date(now.getTime() + INVITATION_TTL_MS)
  const code = await signInvitation(authSecret(deps), { email, workspaceId: ws.id }, expiresAt)
  const link = invitationLink(deps, code, email)
  const values = {
    scopeRoles,
    name,
    issuerKind: p.kind === 'root' ? ('root' as const) : ('user' as const),
    issuerUserId: p.kind === 'user' ? p.id : null,
    codeHash: await sha256(code),
    status: 'pending' as const,
    expiresAt,
    updatedAt: now,
  }
  const orgName = org?.name ?? 'edge-iam'
  const job = emailJob(deps, p, 'invitation', {
    to: email,
    subject: `You are invited to ${orgName}`,
    text: `${name ? `Hello ${name},\n\n` : ''}You have been invited to join ${orgName}. Accept the invitation within a week:\n\n${link}\n`,
  })
  await commit(deps, p, {
    event: { action: 'inviteMember', targetType: 'invitation', targetId: email, detail: { scopeRoles } },
    writes: [
      deps.db
        .insert(invitations)
        .values({ workspaceId: ws.id, email, ...values })
        .onConflictDoUpdate({ target: [invitations.workspaceId, invitations.email], set: values }),
      job.insert,
    ],
  })
  await recordInWindow(deps, throttleKey, window)
  // The invitation is complete without its email: the link is in the answer, and a failed send
  // is recorded on the job row.
  await job.send().catch(() => {})
  return { email, scopeRoles, link, expiresAt }
}

/** Withdraws a pending invitation of the caller's workspace: its issuer or an ADMIN may. */
export const withdrawInvitation = async (deps: Deps, p: Principal, rawEmail: string) => {
  const ws = await authorizeIn(deps, p, 'withdrawInvitation')
  const email = normalizeEmail(rawEmail)
  const where = and(eq(invitations.workspaceId, ws.id), eq(invitations.email, email), eq(invitations.status, 'pending'))
  const [invitation] = await deps.db.select().from(invitations).where(where)
  if (!invitation) throw notFound('Invitation not found')
  const isIssuer = p.kind === 'user' && invitation.issuerUserId === p.id
  if (!isIssuer && ws.role !== 'ADMIN')
    await refuse(deps, p, 'withdrawInvitation', forbidden('User is not allowed to remove this invitation.'))
  await commit(deps, p, {
    event: { action: 'withdrawInvitation', targetType: 'invitation', targetId: email },
    writes: [deps.db.delete(invitations).where(eq(invitations.id, invitation.id))],
  })
}

const NOT_INVITED = 'This invitation is not valid any more: ask an admin to invite you again'

/** The code of an invitation, given bare or as the whole link that carries it. */
const codeOf = (value: string) => {
  const trimmed = value.trim()
  if (!/^https?:\/\//i.test(trimmed)) return trimmed
  try {
    const url = new URL(trimmed)
    return url.searchParams.get('signupInvitationCode') ?? url.searchParams.get('token') ?? trimmed
  } catch {
    return trimmed
  }
}

/** A pending invitation by its code (expired ones too: callers say so), with its issuer and invitee. */
export const openInvitation = async (deps: Deps, code: string) => {
  const [found] = await deps.db
    .select({
      invitation: named('invitation', {
        id: invitations.id,
        workspaceId: invitations.workspaceId,
        email: invitations.email,
        name: invitations.name,
        scopeRoles: invitations.scopeRoles,
        issuerKind: invitations.issuerKind,
        expiresAt: invitations.expiresAt,
      }),
      issuer: named('issuer', {
        id: memberships.id,
        role: memberships.role,
        scopeRoles: memberships.scopeRoles,
        updatedAt: memberships.updatedAt,
      }),
      invitee: named('invitee', {
        id: users.id,
        publicId: users.publicId,
        email: users.email,
        passwordHash: users.passwordHash,
        enabled: users.enabled,
        joinedAt: users.joinedAt,
      }),
      customRoles: customRolesOf(invitations.workspaceId).as('custom_roles'),
    })
    .from(invitations)
    .leftJoin(
      memberships,
      and(eq(memberships.workspaceId, invitations.workspaceId), eq(memberships.userId, invitations.issuerUserId)),
    )
    .leftJoin(users, eq(users.email, invitations.email))
    .where(and(eq(invitations.codeHash, await sha256(codeOf(code))), eq(invitations.status, 'pending')))
  if (!found) return null
  return { ...found, invitee: found.invitee.id === null ? null : found.invitee }
}

type Opened = NonNullable<Awaited<ReturnType<typeof openInvitation>>>

/**
 * Makes the invitee a member: an account that joined already proves its password; a pending one
 * (created by POST /accounts) joins now, with the password if one is given; an address without an
 * account gets one. The invitation is dead, and refused, when its issuer no longer may grant what
 * it offers; the issuer's membership is re-checked inside the batch.
 */
export const joinByInvitation = async (
  deps: Deps,
  found: Opened,
  input: { password?: string; name?: string },
  action: string,
): Promise<{ id: number; publicId: string; email: string; hasPassword: boolean }> => {
  const { invitation, issuer, customRoles: custom, invitee } = found
  const issuerStands =
    invitation.issuerKind === 'root' ||
    (issuer.id !== null &&
      mayInvite({ role: issuer.role, scopeRoles: issuer.scopeRoles }, invitation.scopeRoles, custom))
  if (!issuerStands) await refuse(deps, null, action, invalid(NOT_INVITED))
  const checks =
    invitation.issuerKind === 'root'
      ? []
      : [
          {
            reason: 'issuer',
            holds: sql`EXISTS (SELECT 1 FROM ${memberships} WHERE ${memberships.id} = ${issuer.id} AND ${memberships.updatedAt} = ${issuer.updatedAt?.getTime() ?? 0})`,
            refusal: invalid(NOT_INVITED),
          },
        ]
  const now = deps.now()
  const role = invitation.scopeRoles.API ?? Object.values(invitation.scopeRoles)[0] ?? 'GUEST'
  const accept = deps.db
    .update(invitations)
    .set({ status: 'accepted', updatedAt: now })
    .where(and(eq(invitations.id, invitation.id), eq(invitations.status, 'pending')))
  const member = (userId: number | SQL, by: string) =>
    deps.db
      .insert(memberships)
      .values({ workspaceId: invitation.workspaceId, userId, role, scopeRoles: invitation.scopeRoles, createdBy: by })
      .onConflictDoNothing()
  const event = (publicId: string, signUp: boolean) => ({
    action: signUp ? 'signUp' : 'acceptInvitation',
    actor: { publicId },
    targetType: 'user',
    targetId: publicId,
    workspaceId: invitation.workspaceId,
  })
  const password = input.password === undefined ? null : input.password
  try {
    if (invitee?.joinedAt) {
      // Joining another workspace with an account that exists: its password proves it is theirs.
      if (password === null) throw invalid('This address has an account already: send its password to join')
      await limitSignIn(deps, invitee.email)
      const { ok } = await verifyPassword(password, invitee.passwordHash, deps.env.PASSWORD_PEPPER)
      if (!ok || !invitee.enabled) throw unauthenticated('Invalid email or password')
      await commit(deps, null, {
        event: event(invitee.publicId, false),
        checks,
        writes: [member(invitee.id, invitee.publicId), accept],
        affects: { userIds: [invitee.id] },
      })
      return { ...invitee, hasPassword: true }
    }
    const hash = password === null ? null : await hashPassword(validPassword(password), deps.env.PASSWORD_PEPPER)
    const displayName = input.name === undefined ? invitation.name : validUsername(input.name)
    if (invitee) {
      // A pending account: it joins now; the invitation reached its address, which is verified.
      await commit(deps, null, {
        event: event(invitee.publicId, true),
        checks,
        writes: [
          deps.db
            .update(users)
            .set({
              joinedAt: now,
              ...(hash === null ? {} : { passwordHash: hash }),
              ...(input.name === undefined ? {} : { displayName }),
              updatedBy: invitee.publicId,
            })
            .where(eq(users.id, invitee.id)),
          deps.db
            .update(userEmails)
            .set({ verifiedAt: now })
            .where(and(eq(userEmails.userId, invitee.id), eq(userEmails.email, invitee.email))),
          member(invitee.id, invitee.publicId),
          accept,
        ],
        affects: { userIds: [invitee.id] },
      })
      return { ...invitee, hasPassword: hash !== null || invitee.passwordHash !== null }
    }
    const publicId = newPublicId()
    const id = sql`(SELECT id FROM users WHERE public_id = ${publicId})`
    const [created] = await commit(deps, null, {
      event: event(publicId, true),
      checks,
      writes: [
        deps.db
          .insert(users)
          .values({
            publicId,
            email: invitation.email,
            displayName,
            passwordHash: hash,
            joinedAt: now,
            createdBy: publicId,
            updatedBy: publicId,
          })
          .returning({ id: users.id }),
        member(id, publicId),
        // The invitation reached this address: it is verified, and nobody else's unproven claim on it stands.
        releaseClaims(deps, invitation.email),
        signInAddress(deps, { id, publicId, email: invitation.email }),
        accept,
      ],
    })
    return { id: created[0]?.id ?? 0, publicId, email: invitation.email, hasPassword: hash !== null }
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('This invitation was already accepted')
    throw err
  }
}

/**
 * Accepts a dashboard invitation (its code, or the whole link) and signs the invitee in: a new
 * user chooses a password; an existing one proves theirs.
 */
export const acceptInvitation = async (deps: Deps, input: { invitation: string; password: string; name?: string }) => {
  const claims = await verifyInvitation(authSecret(deps), codeOf(input.invitation))
  if (!claims) throw invalid(NOT_INVITED)
  // An existing account's password is checked here, so guesses are throttled like sign-ins.
  await limitSignIn(deps, claims.email)
  const found = await openInvitation(deps, input.invitation)
  if (
    !found ||
    found.invitation.expiresAt <= deps.now() ||
    found.invitation.email !== claims.email ||
    found.invitation.workspaceId !== claims.workspaceId
  )
    throw invalid(NOT_INVITED)
  const user = await joinByInvitation(deps, found, input, 'acceptInvitation')
  return startSession(deps, user, found.invitation.workspaceId)
}
