import { and, eq, ne } from 'drizzle-orm'
import { hashPassword, verifyPassword } from '../auth/passwords'
import { logins, passwordResets, trustedDevices, users } from '../db/schema'
import { audit } from './audit'
import { authorize, authorizeIn, refuse } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { forbidden, invalid } from './errors'
import { requireManages } from './members'
import { findPerson } from './org-users'
import type { Principal } from './principal'
import { validPassword } from './sign-in'
import { limitSignIn } from './throttle'

const TEMPORARY_LENGTH = 20
const TEMPORARY_SETS = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!@#$%^&*-_=+?']

/**
 * A temporary password from the CSPRNG: 20 characters, one of each class the password rules
 * require, the rest from all of them, shuffled.
 */
export const temporaryPassword = () => {
  const all = TEMPORARY_SETS.join('')
  const pick = (set: string) => {
    const limit = 256 - (256 % set.length)
    for (;;) {
      const [byte = 0] = crypto.getRandomValues(new Uint8Array(1))
      if (byte < limit) return set[byte % set.length] as string
    }
  }
  const chars = [
    ...TEMPORARY_SETS.map(pick),
    ...Array.from({ length: TEMPORARY_LENGTH - TEMPORARY_SETS.length }, () => pick(all)),
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
  const newPassword = validPassword(input.newPassword)
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
      { path: ['currentPassword'], message: 'is not right', in: 'body' },
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
