import { and, eq, isNull, ne, sql } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { newSecretToken, randomString, sha256 } from '../auth/crypto'
import { hashPassword, verifyPassword } from '../auth/passwords'
import { logins, passwordResets, trustedDevices, userEmails, users } from '../db/schema'
import { audit } from './audit'
import { authorize, authorizeIn, refuse } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { emailJob } from './emails'
import { AppError, forbidden, invalid, notFound, rateLimited } from './errors'
import { requireManages } from './members'
import { findPerson } from './org-users'
import type { Principal } from './principal'
import { normalizeEmail } from './rules'
import { validPassword } from './sign-in'
import { checkWindow, limitSignIn, recordInWindow } from './throttle'

const TEMPORARY_LENGTH = 20
const TEMPORARY_SETS = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!@#$%^&*-_=+?']

const RESET_TTL_MS = 60 * 60 * 1000

/**
 * A single-use password reset token (by default for an hour), stored as its hash: the statements
 * that replace the user's previous one, and the token.
 */
export const newResetToken = async (deps: Deps, userId: number, by: string | null, ttlMs = RESET_TTL_MS) => {
  const token = newSecretToken()
  const now = deps.now()
  const replaced = deps.db.delete(passwordResets).where(eq(passwordResets.userId, userId))
  const inserted = deps.db.insert(passwordResets).values({
    userId,
    tokenHash: await sha256(token),
    expiresAt: new Date(now.getTime() + ttlMs),
    createdAt: now,
    createdBy: by,
  })
  return { token, writes: [replaced, inserted] as [typeof replaced, typeof inserted] }
}

/**
 * A temporary password from the CSPRNG: 20 characters, one of each class the password rules
 * require, the rest from all of them, shuffled.
 */
export const temporaryPassword = () => {
  const all = TEMPORARY_SETS.join('')
  const chars = [
    ...TEMPORARY_SETS.map((set) => randomString(set, 1)),
    ...randomString(all, TEMPORARY_LENGTH - TEMPORARY_SETS.length),
  ]
  for (let i = chars.length - 1; i > 0; i--) {
    const j = Number(crypto.getRandomValues(new Uint32Array(1))[0]) % (i + 1)
    ;[chars[i], chars[j]] = [chars[j] as string, chars[i] as string]
  }
  return chars.join('')
}

/**
 * A user changes their own password, proving the current one (guesses are throttled like
 * sign-in). Their other sessions end; the one making the change stays, and is released from a
 * temporary password.
 */
export const changeOwnPassword = async (
  deps: Deps,
  p: Principal,
  userPublicId: string,
  input: { currentPassword: string; newPassword: string },
  /** The fields' names on the caller's surface, for errors that point at them. */
  fields = { current: 'currentPassword', next: 'newPassword' },
) => {
  await authorize(deps, p, 'changeOwnPassword')
  if (p.kind !== 'user' || p.id === null || p.publicId !== userPublicId)
    await refuse(
      deps,
      p,
      'changeOwnPassword',
      forbidden(
        'Only the user may change their own password; an admin resets it with POST /org/users/{user}/password/reset',
      ),
    )
  const userId = p.id as number
  const newPassword = validPassword(input.newPassword, fields.next)
  const [user] = await deps.db.select().from(users).where(eq(users.id, userId))
  if (!user) throw forbidden('Only the user may change their own password')
  await limitSignIn(deps, user.email)
  const { ok } = await verifyPassword(input.currentPassword, user.passwordHash, deps.env.PASSWORD_PEPPER)
  if (!ok) {
    await audit(deps, p, {
      action: 'changeOwnPassword',
      outcome: 'failed',
      targetType: 'user',
      targetId: user.publicId,
    })
    throw invalid('The current password is not right', [
      { path: [fields.current], message: 'is not right', in: 'body' },
    ])
  }
  if (input.currentPassword === newPassword) throw invalid('The new password must differ from the current one')
  await commit(deps, p, {
    event: { action: 'changeOwnPassword', targetType: 'user', targetId: user.publicId },
    writes: [
      deps.db
        .update(users)
        .set({
          passwordHash: await hashPassword(newPassword, deps.env.PASSWORD_PEPPER),
          passwordChangeRequired: false,
          updatedBy: user.publicId,
        })
        .where(eq(users.id, userId)),
      deps.db.delete(logins).where(and(eq(logins.userId, userId), ne(logins.id, p.loginId ?? ''))),
      deps.db.delete(passwordResets).where(eq(passwordResets.userId, userId)),
    ],
    affects: { userIds: [userId] },
    credentialOnly: true,
  })
}

/**
 * An admin gives a person of the organization a temporary password, returned once and never
 * stored or logged in clear. The old password, every session and every trusted device end at
 * once; the next session may only set a new password. A password is global, so the caller must
 * administer every workspace the person belongs to.
 */
export const resetToTemporaryPassword = async (deps: Deps, p: Principal, userPublicId: string) => {
  const ws = await authorizeIn(deps, p, 'resetUserPassword')
  const target = await findPerson(deps, ws.organizationId, userPublicId)
  if (p.kind === 'user' && p.id === target.id)
    throw invalid('Change your own password with POST /org/users/{user}/password and your current password')
  await requireManages(deps, p, target.id, 'resetUserPassword')
  const password = temporaryPassword()
  await commit(deps, p, {
    event: { action: 'resetUserPassword', targetType: 'user', targetId: target.publicId },
    writes: [
      deps.db
        .update(users)
        .set({
          passwordHash: await hashPassword(password, deps.env.PASSWORD_PEPPER),
          passwordChangeRequired: true,
          updatedBy: p.publicId,
        })
        .where(eq(users.id, target.id)),
      deps.db.delete(logins).where(eq(logins.userId, target.id)),
      deps.db.delete(trustedDevices).where(eq(trustedDevices.userId, target.id)),
      deps.db.delete(passwordResets).where(eq(passwordResets.userId, target.id)),
    ],
    affects: { userIds: [target.id] },
  })
  return { password }
}

const RESETS_PER_HOUR = 5
const RESET_LINK_DEAD = 'Invalid password reset token'

/**
 * Emails a password reset link (1 hour, single use) when the address has an account, and does
 * the same work either way: the answer, and its timing, say nothing about whether it exists.
 * Throttled per address and per IP.
 */
export const requestPasswordReset = async (deps: Deps, rawEmail: string) => {
  const email = normalizeEmail(rawEmail)
  const ip = deps.meta.ip ?? 'unknown'
  const { success } = await deps.env.AUTH_LIMITER.limit({ key: `reset:ip:${ip}` })
  if (!success) await refuse(deps, null, 'requestPasswordReset', rateLimited(60))
  const window = await checkWindow(deps, `reset:email:${email}`, RESETS_PER_HOUR, 3600)
  if (window.exceeded) await refuse(deps, null, 'requestPasswordReset', window.exceeded)
  const [user] = await deps.db.select().from(users).where(eq(users.email, email))
  // A token is made and hashed for an unknown address too, so both paths cost the same.
  const reset = await newResetToken(deps, user?.id ?? -1, user?.publicId ?? null)
  const link = `${deps.config.appOrigin}/reset-password?token=${reset.token}`
  const job =
    user?.enabled &&
    emailJob(deps, null, 'passwordReset', {
      to: email,
      subject: 'Reset your password',
      text: `A password reset was asked for this account. Choose a new password within an hour:\n\n${link}\n\nIf it was not you, ignore this email.`,
    })
  await commit(deps, null, {
    event: {
      action: 'requestPasswordReset',
      ...(user ? { actor: user, targetType: 'user', targetId: user.publicId } : {}),
      workspaceId: null,
      organizationId: null,
    },
    writes: (user?.enabled && job ? [...reset.writes, job.insert] : []) as BatchItem<'sqlite'>[],
  })
  await recordInWindow(deps, `reset:email:${email}`, window)
  // Queued after the answer, so that sending does not show in its timing.
  if (job) deps.defer(job.send().catch(() => {}))
}

const liveReset = (tokenHash: string) => and(eq(passwordResets.tokenHash, tokenHash), isNull(passwordResets.usedAt))

/** Whether a reset token exists, is unused, and has not expired. */
export const resetTokenValid = async (deps: Deps, token: string) => {
  const [row] = await deps.db
    .select({ expiresAt: passwordResets.expiresAt })
    .from(passwordResets)
    .where(liveReset(await sha256(token)))
  return !!row && row.expiresAt > deps.now()
}

/**
 * Sets a password with a reset token, once: every session and trusted device of the user ends,
 * and a pending account has joined (the token reached its address).
 */
export const resetPasswordWithToken = async (deps: Deps, token: string, password: string) => {
  const hash = await sha256(token)
  const [row] = await deps.db
    .select({ reset: passwordResets, user: users })
    .from(passwordResets)
    .innerJoin(users, eq(users.id, passwordResets.userId))
    .where(liveReset(hash))
  if (!row) throw notFound(RESET_LINK_DEAD)
  const now = deps.now()
  if (row.reset.expiresAt <= now)
    throw new AppError('VALIDATION_FAILED', 'Password reset token expired: ask for a new one', {
      issues: [{ path: ['token'], message: 'has expired', in: 'body' }],
    })
  const newPassword = validPassword(password, 'password')
  const { user } = row
  await commit(deps, null, {
    event: { action: 'resetPasswordWithToken', actor: user, targetType: 'user', targetId: user.publicId },
    checks: [
      {
        reason: 'reset-used',
        holds: sql`EXISTS (SELECT 1 FROM ${passwordResets} WHERE ${liveReset(hash)})`,
        refusal: notFound(RESET_LINK_DEAD),
      },
    ],
    writes: [
      deps.db.update(passwordResets).set({ usedAt: now }).where(eq(passwordResets.id, row.reset.id)),
      deps.db
        .update(users)
        .set({
          passwordHash: await hashPassword(newPassword, deps.env.PASSWORD_PEPPER),
          passwordChangeRequired: false,
          joinedAt: user.joinedAt ?? now,
          updatedBy: user.publicId,
        })
        .where(eq(users.id, user.id)),
      deps.db
        .update(userEmails)
        .set({ verifiedAt: now })
        .where(and(eq(userEmails.userId, user.id), eq(userEmails.email, user.email), isNull(userEmails.verifiedAt))),
      deps.db.delete(logins).where(eq(logins.userId, user.id)),
      deps.db.delete(trustedDevices).where(eq(trustedDevices.userId, user.id)),
    ],
    affects: { userIds: [user.id] },
  })
}
