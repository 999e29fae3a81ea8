import { and, eq, gt, isNotNull, isNull, sql } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { newPublicId, newSecretToken, randomString, seal, sha256, unseal } from '../auth/crypto'
import { base32Encode, matchingStep, otpauthUrl } from '../auth/totp'
import { mfaRecoveryCodes, mfaSecrets, trustedDevices } from '../db/schema'
import { audit } from './audit'
import { authorizeUser, refuse } from './authorize'
import { type Check, commit } from './commit'
import type { Deps } from './context'
import { conflict, invalid, unauthenticated } from './errors'
import type { Principal } from './principal'
import { authSecret } from './sessions'

const SEAL_PURPOSE = 'edge-iam totp secret'
const RECOVERY_CODES = 10
const RECOVERY_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'
export const TRUSTED_DEVICE_DAYS = 30

/** A recovery code as typed: letters and digits in two groups of five (`ABCDE-FGH23`). */
const newRecoveryCode = () => {
  const chars = randomString(RECOVERY_ALPHABET, 10)
  return `${chars.slice(0, 5)}-${chars.slice(5)}`
}
const recoveryHash = (code: string) => sha256(`recovery:${code.toUpperCase().replace(/[^A-Z0-9]/g, '')}`)

const secretOf = async (deps: Deps, sealed: string) => unseal(authSecret(deps), SEAL_PURPOSE, sealed)

/**
 * Starts TOTP enrolment: a new secret (sealed at rest with a key derived from AUTH_SECRET) that
 * counts only once `confirmTotp` proves the app has it. A second factor already on must be
 * turned off first.
 */
export const startTotp = async (deps: Deps, p: Principal) => {
  const me = await authorizeUser(deps, p, 'manageOwnMfa')
  const [current] = await deps.db.select().from(mfaSecrets).where(eq(mfaSecrets.userId, me.id))
  if (current?.confirmedAt) throw conflict('Two-factor authentication is already on: turn it off first')
  const raw = crypto.getRandomValues(new Uint8Array(20))
  const secret = base32Encode(raw)
  const values = {
    secretEncrypted: await seal(authSecret(deps), SEAL_PURPOSE, raw),
    confirmedAt: null,
    lastUsedStep: null,
    createdAt: deps.now(),
  }
  await commit(deps, p, {
    event: { action: 'startTotp', targetType: 'user', targetId: me.publicId },
    writes: [
      deps.db
        .insert(mfaSecrets)
        .values({ userId: me.id, ...values })
        .onConflictDoUpdate({ target: mfaSecrets.userId, set: values }),
    ],
    credentialOnly: true,
  })
  return { secret, otpauthUrl: otpauthUrl(secret, me.email ?? me.publicId ?? 'user', 'edge-iam') }
}

/**
 * The check and the write that accept a TOTP code once: its time step must be later than the
 * last one accepted, inside the same batch as whatever the code unlocks (RFC 6238 §5.2).
 */
const consumeStep = (
  deps: Deps,
  userId: number,
  step: number,
  refusal = invalid('This code was used already: wait for the next one'),
) => ({
  check: {
    reason: 'code-used',
    holds: sql`EXISTS (SELECT 1 FROM ${mfaSecrets} WHERE ${mfaSecrets.userId} = ${userId} AND (${mfaSecrets.lastUsedStep} IS NULL OR ${mfaSecrets.lastUsedStep} < ${step}))`,
    refusal,
  },
  write: deps.db.update(mfaSecrets).set({ lastUsedStep: step }).where(eq(mfaSecrets.userId, userId)),
})

/** The step of a code of the user's secret, or a refusal. */
const stepOfCode = async (deps: Deps, p: Principal | null, action: string, sealed: string, code: string) => {
  const step = await matchingStep(await secretOf(deps, sealed), code.trim(), deps.now())
  if (step === null)
    await refuse(deps, p, action, invalid('The code is not right: enter the current 6-digit code from your app'))
  return step as number
}

/** Confirms enrolment with a current code, and answers the recovery codes, shown only here. */
export const confirmTotp = async (deps: Deps, p: Principal, code: string) => {
  const me = await authorizeUser(deps, p, 'manageOwnMfa')
  const [current] = await deps.db.select().from(mfaSecrets).where(eq(mfaSecrets.userId, me.id))
  if (!current) throw invalid('Start enrolment first: POST /me/mfa/totp')
  if (current.confirmedAt) throw conflict('Two-factor authentication is already on')
  const step = await stepOfCode(deps, p, 'confirmTotp', current.secretEncrypted, code)
  const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode)
  const now = deps.now()
  const consume = consumeStep(deps, me.id, step)
  await commit(deps, p, {
    event: { action: 'confirmTotp', targetType: 'user', targetId: me.publicId },
    checks: [consume.check],
    writes: [
      deps.db.update(mfaSecrets).set({ confirmedAt: now, lastUsedStep: step }).where(eq(mfaSecrets.userId, me.id)),
      deps.db.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, me.id)),
      deps.db
        .insert(mfaRecoveryCodes)
        .values(
          await Promise.all(
            codes.map(async (c) => ({ userId: me.id, codeHash: await recoveryHash(c), createdAt: now })),
          ),
        ),
    ],
    credentialOnly: true,
  })
  return { recoveryCodes: codes }
}

/** The statements that remove a user's second factor, recovery codes and trusted devices. */
export const forgetSecondFactor = (deps: Deps, userId: number) => [
  deps.db.delete(mfaSecrets).where(eq(mfaSecrets.userId, userId)),
  deps.db.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId)),
  deps.db.delete(trustedDevices).where(eq(trustedDevices.userId, userId)),
]

/** Turns the second factor off, proven with a current code. */
export const disableTotp = async (deps: Deps, p: Principal, code: string) => {
  const me = await authorizeUser(deps, p, 'manageOwnMfa')
  const [current] = await deps.db
    .select()
    .from(mfaSecrets)
    .where(and(eq(mfaSecrets.userId, me.id), isNotNull(mfaSecrets.confirmedAt)))
  if (!current) throw invalid('Two-factor authentication is not on')
  const step = await stepOfCode(deps, p, 'disableTotp', current.secretEncrypted, code)
  const consume = consumeStep(deps, me.id, step)
  await commit(deps, p, {
    event: { action: 'disableTotp', targetType: 'user', targetId: me.publicId },
    checks: [consume.check],
    writes: forgetSecondFactor(deps, me.id),
    credentialOnly: true,
  })
}

/** The trusted device a device token names for this user, while it lasts. */
export const trustedDevice = async (deps: Deps, userId: number, deviceToken: string | undefined) => {
  if (!deviceToken) return null
  const [device] = await deps.db
    .select()
    .from(trustedDevices)
    .where(
      and(
        eq(trustedDevices.tokenHash, await sha256(deviceToken)),
        eq(trustedDevices.userId, userId),
        gt(trustedDevices.expiresAt, deps.now()),
      ),
    )
  return device ?? null
}

export type SecondFactor = { code?: string; recoveryCode?: string }

/**
 * What proving the second factor takes inside the sign-in's batch: the check that the code (or
 * recovery code) is still unused and the write that uses it up; a wrong factor is refused here.
 */
export const secondFactorProof = async (
  deps: Deps,
  user: { id: number; publicId: string },
  factor: SecondFactor,
): Promise<{ checks: Check[]; writes: BatchItem<'sqlite'>[] }> => {
  const [secret] = await deps.db
    .select()
    .from(mfaSecrets)
    .where(and(eq(mfaSecrets.userId, user.id), isNotNull(mfaSecrets.confirmedAt)))
  if (!secret) throw unauthenticated('This sign-in needs no second factor: sign in again')
  // A used code and a wrong one answer alike, so that a guess learns nothing.
  const refusal = unauthenticated('The code is not right: enter the current code, or a recovery code')
  const wrong = async () => {
    await audit(deps, null, {
      action: 'signInSecondFactor',
      outcome: 'denied',
      targetType: 'user',
      targetId: user.publicId,
    })
    throw refusal
  }
  if (factor.code !== undefined) {
    const step = await matchingStep(await secretOf(deps, secret.secretEncrypted), factor.code.trim(), deps.now())
    if (step === null) await wrong()
    const consume = consumeStep(deps, user.id, step as number, refusal)
    return { checks: [consume.check], writes: [consume.write] }
  }
  if (factor.recoveryCode !== undefined) {
    const codeHash = await recoveryHash(factor.recoveryCode)
    const unused = and(
      eq(mfaRecoveryCodes.userId, user.id),
      eq(mfaRecoveryCodes.codeHash, codeHash),
      isNull(mfaRecoveryCodes.usedAt),
    )
    const [found] = await deps.db.select({ id: mfaRecoveryCodes.id }).from(mfaRecoveryCodes).where(unused)
    if (!found) await wrong()
    return {
      checks: [
        {
          reason: 'recovery-code-used',
          holds: sql`EXISTS (SELECT 1 FROM ${mfaRecoveryCodes} WHERE ${unused})`,
          refusal: unauthenticated('This recovery code was used already'),
        },
      ],
      writes: [deps.db.update(mfaRecoveryCodes).set({ usedAt: deps.now() }).where(unused)],
    }
  }
  throw invalid('Send the current code from your app as `code`, or a recovery code as `recoveryCode`')
}

/** A new trusted device for a user: its row and the token (shown once) that names it. */
export const newTrustedDevice = async (deps: Deps, userId: number) => {
  const token = newSecretToken()
  const now = deps.now()
  const device = {
    id: newPublicId(),
    userId,
    deviceId: crypto.randomUUID(),
    tokenHash: await sha256(token),
    expiresAt: new Date(now.getTime() + TRUSTED_DEVICE_DAYS * 24 * 60 * 60 * 1000),
    remoteIp: deps.meta.ip,
    userAgent: deps.meta.userAgent?.slice(0, 512) ?? null,
    createdAt: now,
  }
  return { token, device, insert: deps.db.insert(trustedDevices).values(device) }
}
