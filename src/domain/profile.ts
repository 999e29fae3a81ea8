import { and, asc, eq, gt, isNotNull, isNull, lte, type SQL, sql } from 'drizzle-orm'
import { newSecretToken, sha256 } from '../auth/crypto'
import { userEmails, users } from '../db/schema'
import { authorize, authorizeUser, refuse } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { emailJob } from './emails'
import { conflict, invalid, isUniqueViolation } from './errors'
import { type MarkerQuery, markerPage } from './listing'
import type { Identity, Principal, UserProfile } from './principal'
import { validEmail, validName } from './rules'
import { authSecret } from './sessions'
import { checkWindow, recordInWindow } from './throttle'

const VERIFICATION_TTL_MS = 24 * 60 * 60 * 1000
/** Verification emails one user may cause per hour. */
const VERIFICATIONS_PER_HOUR = 10

/** The row that makes a new user's sign-in address one of their addresses, verified. */
export const signInAddress = (
  deps: Deps,
  user: { id: number | SQL; publicId: string; email: string },
  verifiedAt: Date | null = deps.now(),
) =>
  deps.db.insert(userEmails).values({
    userId: user.id,
    email: user.email,
    verifiedAt,
    createdBy: user.publicId,
    updatedBy: user.publicId,
  })

/**
 * Deletes the unverified claims others made on an address (`expiredOnly`: only those past their
 * 24 hours). A claim nobody proved must never keep the address's owner from signing up with it.
 */
export const releaseClaims = (deps: Deps, email: string, expiredOnly = false) =>
  deps.db
    .delete(userEmails)
    .where(
      and(
        eq(userEmails.email, email),
        isNull(userEmails.verifiedAt),
        expiredOnly ? lte(userEmails.verificationExpiresAt, deps.now()) : undefined,
      ),
    )

/** Who the caller is: exactly one of root, a user, or a service account (from the principal, no query). */
export const describeCurrentIdentity = async (deps: Deps, p: Principal): Promise<Identity> => {
  await authorize(deps, p, 'readSelf')
  return p.identity
}

export type ProfileChange = { email?: string; givenName?: string; familyName?: string; displayName?: string }

/** A name field: one plain line of at most 100 characters; an empty string clears it. */
const nameField = (value: string | undefined, label: string) =>
  value === undefined ? undefined : value.trim() === '' ? null : validName(value, label, 100)

/** The names a change sets (undefined: left as they are; null: cleared). */
export const profileNames = (change: ProfileChange) => ({
  givenName: nameField(change.givenName, 'givenName'),
  familyName: nameField(change.familyName, 'familyName'),
  displayName: nameField(change.displayName, 'displayName'),
})

/**
 * Changes the caller's names and, to one of their verified addresses, their sign-in address
 * (never to an address nobody proved they receive mail at).
 */
export const updateOwnProfile = async (deps: Deps, p: Principal, change: ProfileChange): Promise<UserProfile> => {
  const me = await authorizeUser(deps, p, 'updateOwnProfile')
  const names = profileNames(change)
  let email: string | undefined
  if (change.email !== undefined) {
    email = validEmail(change.email)
    const [address] = await deps.db
      .select({ verifiedAt: userEmails.verifiedAt })
      .from(userEmails)
      .where(and(eq(userEmails.userId, me.id), eq(userEmails.email, email)))
    if (!address?.verifiedAt)
      throw invalid(
        'email must be one of your verified addresses: add it with POST /me/emails and open the link sent to it',
        [{ path: ['email'], message: 'is not one of your verified addresses', in: 'body' }],
      )
  }
  const set = Object.fromEntries(Object.entries({ ...names, email }).filter(([, v]) => v !== undefined))
  const [[updated]] = await commit(deps, p, {
    event: {
      action: 'updateOwnProfile',
      targetType: 'user',
      targetId: me.publicId,
      detail: { fields: Object.keys(set) },
    },
    writes: [
      deps.db
        .update(users)
        .set({ ...set, updatedBy: me.publicId })
        .where(eq(users.id, me.id))
        .returning(),
    ],
    affects: { userIds: [me.id] },
    credentialOnly: true,
  })
  if (!updated) throw new Error('The profile was not updated')
  return updated
}

export type Address = { id: number; userPublicId: string; email: string; verifiedAt: Date | null } & Pick<
  UserProfile,
  'createdAt' | 'createdBy' | 'updatedAt' | 'updatedBy'
>

const addressColumns = {
  id: userEmails.id,
  email: userEmails.email,
  verifiedAt: userEmails.verifiedAt,
  createdAt: userEmails.createdAt,
  createdBy: userEmails.createdBy,
  updatedAt: userEmails.updatedAt,
  updatedBy: userEmails.updatedBy,
}

/** The caller's addresses, the sign-in one among them, oldest first. */
export const listOwnEmails = async (deps: Deps, p: Principal, q: MarkerQuery) => {
  const me = await authorizeUser(deps, p, 'manageOwnEmails')
  const page = await markerPage(
    authSecret(deps),
    'me/emails',
    q,
    (after, take) =>
      deps.db
        .select(addressColumns)
        .from(userEmails)
        .where(and(eq(userEmails.userId, me.id), after === null ? undefined : gt(userEmails.id, Number(after))))
        .orderBy(asc(userEmails.id))
        .limit(take),
    (a) => a.id,
  )
  return { ...page, items: page.items.map((a): Address => ({ ...a, userPublicId: me.publicId })) }
}

/**
 * Adds an address to the caller's account, unverified, and emails it a single-use link valid for
 * 24 hours. An address any user already has is a conflict.
 */
export const addOwnEmail = async (deps: Deps, p: Principal, rawEmail: string): Promise<Address> => {
  const me = await authorizeUser(deps, p, 'manageOwnEmails')
  const email = validEmail(rawEmail)
  const throttleKey = `verify-email:user:${me.id}`
  const window = await checkWindow(deps, throttleKey, VERIFICATIONS_PER_HOUR, 3600)
  if (window.exceeded) await refuse(deps, p, 'manageOwnEmails', window.exceeded)
  const token = newSecretToken()
  const now = deps.now()
  const link = `${deps.config.apiOrigin}/auth/verify-email?token=${token}`
  const job = emailJob(deps, p, 'verifyEmail', {
    to: email,
    subject: 'Confirm your email address',
    text: `Someone, probably you, added this address to an edge-iam account. Confirm it within 24 hours:\n\n${link}\n\nIf it was not you, ignore this email.`,
  })
  let added: typeof userEmails.$inferSelect | undefined
  try {
    ;[, [added]] = await commit(deps, p, {
      event: { action: 'addOwnEmail', targetType: 'user', targetId: me.publicId, detail: { email } },
      // An address on any account, as a sign-in address or an added one, is taken.
      checks: [
        {
          reason: 'email-taken',
          holds: sql`NOT EXISTS (SELECT 1 FROM ${users} WHERE ${users.email} = ${email})`,
          refusal: conflict('This email address is already in use'),
        },
      ],
      writes: [
        releaseClaims(deps, email, true),
        deps.db
          .insert(userEmails)
          .values({
            userId: me.id,
            email,
            verificationTokenHash: await sha256(token),
            verificationExpiresAt: new Date(now.getTime() + VERIFICATION_TTL_MS),
            createdBy: me.publicId,
            updatedBy: me.publicId,
          })
          .returning(),
        job.insert,
      ],
      credentialOnly: true,
    })
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('This email address is already in use')
    throw err
  }
  if (!added) throw new Error('The address was not stored')
  await recordInWindow(deps, throttleKey, window)
  await job.send().catch(() => {})
  return { ...added, userPublicId: me.publicId }
}

const LINK_DEAD = 'This verification link is not valid: it was used already, or it expired after 24 hours'

/** Marks an address verified from the link emailed to it; the link works once, for 24 hours. */
export const verifyEmail = async (deps: Deps, token: string) => {
  const hash = await sha256(token)
  const now = deps.now()
  const pending = and(
    eq(userEmails.verificationTokenHash, hash),
    isNull(userEmails.verifiedAt),
    isNotNull(userEmails.verificationExpiresAt),
    gt(userEmails.verificationExpiresAt, now),
  )
  const [row] = await deps.db
    .select({ id: userEmails.id, email: userEmails.email, userId: userEmails.userId, owner: users.publicId })
    .from(userEmails)
    .innerJoin(users, eq(users.id, userEmails.userId))
    .where(pending)
  if (!row) throw invalid(LINK_DEAD)
  await commit(deps, null, {
    event: {
      action: 'verifyEmail',
      actor: { publicId: row.owner },
      targetType: 'user',
      targetId: row.owner,
      detail: { email: row.email },
    },
    checks: [
      {
        reason: 'link-dead',
        holds: sql`EXISTS (SELECT 1 FROM ${userEmails} WHERE ${pending})`,
        refusal: invalid(LINK_DEAD),
      },
    ],
    writes: [
      deps.db
        .update(userEmails)
        .set({ verifiedAt: now, verificationTokenHash: null, verificationExpiresAt: null })
        .where(eq(userEmails.id, row.id)),
    ],
  })
  return { email: row.email, verifiedAt: now }
}
