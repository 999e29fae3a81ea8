import { and, asc, eq, gt, inArray, isNull, ne, or, sql } from 'drizzle-orm'
import { newPublicId } from '../auth/crypto'
import {
  apiTokens,
  invitations,
  logins,
  memberships,
  teamMembers,
  teams,
  userEmails,
  users,
  workspaces,
} from '../db/schema'
import { keepsAnAdmin } from './admins'
import { authorizeIn, refuse } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { defaultInviteRole } from './custom-roles'
import { conflict, invalid, isUniqueViolation, notFound } from './errors'
import { type MarkerQuery, markerPage } from './listing'
import { requireManages } from './members'
import { forgetSecondFactor } from './mfa'
import { peopleOf } from './organizations'
import type { Principal, UserProfile } from './principal'
import { profileColumns } from './principals'
import { type ProfileChange, profileNames, releaseClaims, signInAddress } from './profile'
import { allScopes } from './roles'
import { validEmail } from './rules'
import { authSecret } from './sessions'

/** A person as the organization's admins see them: their profile, never their secrets. */
export type Person = UserProfile

/** A person of the organization by public id; anyone else, of another organization or none, is a 404. */
export const findPerson = async (deps: Deps, organizationId: number, publicId: string): Promise<Person> => {
  const [person] = await deps.db
    .select(profileColumns)
    .from(users)
    .where(and(eq(users.publicId, publicId), inArray(users.id, peopleOf(deps, organizationId))))
  if (!person) throw notFound('User not found')
  return person
}

/** The people of the caller's organization, in a stable order. */
export const listPeople = async (deps: Deps, p: Principal, q: MarkerQuery) => {
  const ws = await authorizeIn(deps, p, 'listOrgUsers')
  return markerPage(
    authSecret(deps),
    'org/users',
    q,
    (after, take) =>
      deps.db
        .select(profileColumns)
        .from(users)
        .where(
          and(
            inArray(users.id, peopleOf(deps, ws.organizationId)),
            after === null ? undefined : gt(users.id, Number(after)),
          ),
        )
        .orderBy(asc(users.id))
        .limit(take),
    (u) => u.id,
  )
}

export const readPerson = async (deps: Deps, p: Principal, publicId: string) => {
  const ws = await authorizeIn(deps, p, 'readOrgUser')
  return findPerson(deps, ws.organizationId, publicId)
}

const TAKEN = 'A user with this email address already exists'

/**
 * Creates a person in the caller's workspace, with the workspace's default invite role (else
 * GUEST) in every scope. No password is set: an admin gives a temporary one with the password
 * reset, which the person then replaces.
 */
export const createPerson = async (deps: Deps, p: Principal, input: ProfileChange & { email: string }) => {
  const ws = await authorizeIn(deps, p, 'createOrgUser')
  const email = validEmail(input.email)
  const role = (await defaultInviteRole(deps, ws.id)) ?? 'GUEST'
  const publicId = newPublicId()
  const now = deps.now()
  const id = sql`(SELECT id FROM users WHERE public_id = ${publicId})`
  try {
    const [[created]] = await commit(deps, p, {
      event: { action: 'createOrgUser', targetType: 'user', targetId: publicId, detail: { role } },
      checks: [
        {
          reason: 'email-taken',
          holds: sql`NOT EXISTS (SELECT 1 FROM ${userEmails} WHERE ${userEmails.email} = ${email} AND ${userEmails.verifiedAt} IS NOT NULL)`,
          refusal: conflict(TAKEN),
        },
      ],
      writes: [
        deps.db
          .insert(users)
          .values({
            publicId,
            email,
            ...profileNames(input),
            joinedAt: now,
            createdBy: p.publicId,
            updatedBy: p.publicId,
          })
          .returning(profileColumns),
        deps.db
          .insert(memberships)
          .values({ workspaceId: ws.id, userId: id, role, scopeRoles: allScopes(role), createdBy: p.publicId }),
        releaseClaims(deps, email),
        signInAddress(deps, { id, publicId, email }),
      ],
    })
    if (!created) throw new Error('The user was not stored')
    return created
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(TAKEN)
    throw err
  }
}

/**
 * Changes a person's profile. Their profile is theirs in every organization, so the caller must
 * administer every workspace they belong to. A new email address, which the admin vouches for,
 * replaces their sign-in address.
 */
export const updatePerson = async (deps: Deps, p: Principal, publicId: string, input: ProfileChange) => {
  const ws = await authorizeIn(deps, p, 'updateOrgUser')
  const person = await findPerson(deps, ws.organizationId, publicId)
  await requireManages(deps, p, person.id, 'updateOrgUser')
  const email = input.email === undefined ? undefined : validEmail(input.email)
  const set = Object.fromEntries(Object.entries({ ...profileNames(input), email }).filter(([, v]) => v !== undefined))
  const changesEmail = email !== undefined && email !== person.email
  try {
    const [[updated]] = await commit(deps, p, {
      event: { action: 'updateOrgUser', targetType: 'user', targetId: publicId, detail: { fields: Object.keys(set) } },
      checks: changesEmail
        ? [
            {
              reason: 'email-taken',
              holds: sql`NOT EXISTS (SELECT 1 FROM ${userEmails} WHERE ${userEmails.email} = ${email} AND ${userEmails.userId} <> ${person.id} AND ${userEmails.verifiedAt} IS NOT NULL)`,
              refusal: conflict(TAKEN),
            },
          ]
        : [],
      writes: [
        deps.db
          .update(users)
          .set({ ...set, updatedBy: p.publicId })
          .where(eq(users.id, person.id))
          .returning(profileColumns),
        // The new address replaces the sign-in one, verified (the admin vouches for it): it frees
        // the old address, and takes the place of any row of the same address (the person's own
        // second one, or someone's unproven claim).
        ...(changesEmail && email
          ? [
              deps.db
                .delete(userEmails)
                .where(
                  and(eq(userEmails.email, email), or(eq(userEmails.userId, person.id), isNull(userEmails.verifiedAt))),
                ),
              deps.db
                .update(userEmails)
                .set({ email, verifiedAt: deps.now(), updatedBy: p.publicId })
                .where(and(eq(userEmails.userId, person.id), eq(userEmails.email, person.email))),
            ]
          : []),
      ],
      affects: { userIds: [person.id] },
    })
    if (!updated) throw new Error('The user was not updated')
    return updated
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(TAKEN)
    throw err
  }
}

/**
 * Removes a person from the organization: their memberships, team memberships, API tokens,
 * issued invitations and sessions in it, at once. The person's account itself goes
 * only when no other organization has them. Nobody deletes themselves, and no workspace may be
 * left without an ADMIN.
 */
export const deletePerson = async (deps: Deps, p: Principal, publicId: string) => {
  const ws = await authorizeIn(deps, p, 'deleteOrgUser')
  const person = await findPerson(deps, ws.organizationId, publicId)
  if (p.kind === 'user' && p.id === person.id)
    await refuse(deps, p, 'deleteOrgUser', invalid('You cannot delete yourself'))
  const held = await requireManages(deps, p, person.id, 'deleteOrgUser', ws.organizationId)
  const orgWorkspaces = deps.db
    .select({ id: workspaces.id })
    .from(workspaces)
    .where(eq(workspaces.organizationId, ws.organizationId))
  const otherOrganizations = deps.db
    .select({ id: memberships.id })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(and(eq(memberships.userId, person.id), ne(workspaces.organizationId, ws.organizationId)))
  await commit(deps, p, {
    event: { action: 'deleteOrgUser', targetType: 'user', targetId: publicId },
    checks: held.flatMap((h) => keepsAnAdmin(deps, h.workspace, h, null)),
    writes: [
      deps.db
        .delete(memberships)
        .where(and(eq(memberships.userId, person.id), inArray(memberships.workspaceId, orgWorkspaces))),
      deps.db
        .delete(teamMembers)
        .where(
          and(
            eq(teamMembers.userId, person.id),
            inArray(
              teamMembers.teamId,
              deps.db.select({ id: teams.id }).from(teams).where(eq(teams.organizationId, ws.organizationId)),
            ),
          ),
        ),
      deps.db
        .delete(apiTokens)
        .where(and(eq(apiTokens.userId, person.id), inArray(apiTokens.workspaceId, orgWorkspaces))),
      deps.db
        .delete(invitations)
        .where(
          and(
            eq(invitations.issuerUserId, person.id),
            eq(invitations.status, 'pending'),
            inArray(invitations.workspaceId, orgWorkspaces),
          ),
        ),
      // Sessions in this organization end; those in another one it still belongs to go on (and all
      // of them go with the account, below).
      deps.db
        .delete(logins)
        .where(
          and(eq(logins.userId, person.id), or(isNull(logins.workspaceId), inArray(logins.workspaceId, orgWorkspaces))),
        ),
      // The account goes with its last organization (D1 cascades its addresses, factors, devices).
      deps.db.delete(users).where(and(eq(users.id, person.id), sql`NOT EXISTS ${otherOrganizations}`)),
    ],
    affects: { userIds: [person.id] },
  })
}

/**
 * Removes a person's second factor (TOTP secret, recovery codes, trusted devices) and ends their
 * sessions: they sign in again and may enrol anew. Global to the person, like a password.
 */
export const resetPersonMfa = async (deps: Deps, p: Principal, publicId: string) => {
  const ws = await authorizeIn(deps, p, 'resetUserMfa')
  const person = await findPerson(deps, ws.organizationId, publicId)
  await requireManages(deps, p, person.id, 'resetUserMfa')
  await commit(deps, p, {
    event: { action: 'resetUserMfa', targetType: 'user', targetId: publicId },
    writes: [...forgetSecondFactor(deps, person.id), deps.db.delete(logins).where(eq(logins.userId, person.id))],
    affects: { userIds: [person.id] },
  })
}
