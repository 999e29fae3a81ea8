import { eq, type SQL, sql } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { newPublicId, safeEqual } from '../auth/crypto'
import { hashPassword, passwordProblem, verifyPassword } from '../auth/passwords'
import { signMfaChallenge, verifyMfaChallenge } from '../auth/tokens'
import { memberships, mfaSecrets, organizations, users, workspaces } from '../db/schema'
import { audit } from './audit'
import { type Check, commit } from './commit'
import type { Deps } from './context'
import { conflict, invalid, isUniqueViolation, unauthenticated } from './errors'
import { newTrustedDevice, type SecondFactor, secondFactorProof, trustedDevice } from './mfa'
import { signInAddress } from './profile'
import { allScopes } from './roles'
import { normalizeEmail, validEmail, validOrganizationName, validUsername } from './rules'
import { authSecret, newSession } from './sessions'
import { limitSignIn } from './throttle'

/** The first workspace's id; later ones count up from it. */
export const FIRST_WORKSPACE_ID = 1_000_000

/** A password that meets the rules, or a refusal naming the first rule it breaks and its field. */
export const validPassword = (password: string, field = 'password') => {
  const problem = passwordProblem(password)
  if (problem) throw invalid(problem, [{ path: [field], message: problem, in: 'body' }])
  return password
}

export type BootstrapInput = { email: string; password: string; organization: string; name?: string }

/**
 * Creates the first organization, workspace and ADMIN while no user exists. The workspace is
 * inserted with the fixed first id, so two racing bootstraps cannot both succeed.
 */
export const bootstrap = async (deps: Deps, input: BootstrapInput, bearer: string | null) => {
  const required = deps.env.BOOTSTRAP_TOKEN
  if (required && !(bearer && (await safeEqual(bearer, required))))
    throw unauthenticated('A valid bootstrap token is required')
  const email = validEmail(input.email)
  const password = validPassword(input.password)
  const orgName = validOrganizationName(input.organization)
  const displayName = input.name === undefined ? null : validUsername(input.name)

  const [anyUser] = await deps.db.select({ id: users.id }).from(users).limit(1)
  if (anyUser) throw conflict('Already bootstrapped: sign in instead')

  const now = deps.now()
  const userPublicId = newPublicId()
  const orgPublicId = newPublicId()
  const userId = sql`(SELECT id FROM users WHERE public_id = ${userPublicId})`
  const orgId = sql`(SELECT id FROM organizations WHERE public_id = ${orgPublicId})`
  const passwordHash = await hashPassword(password, deps.env.PASSWORD_PEPPER)
  try {
    await commit(deps, null, {
      event: {
        action: 'bootstrap',
        targetType: 'user',
        targetId: userPublicId,
        workspaceId: FIRST_WORKSPACE_ID,
        organizationId: null,
        detail: { email, organization: orgName },
      },
      writes: [
        deps.db.insert(organizations).values({ publicId: orgPublicId, name: orgName, createdBy: userPublicId }),
        deps.db.insert(workspaces).values({
          id: FIRST_WORKSPACE_ID,
          organizationId: orgId,
          name: orgName,
          createdBy: userPublicId,
        }),
        deps.db.insert(users).values({
          publicId: userPublicId,
          email,
          displayName,
          passwordHash,
          joinedAt: now,
          createdBy: userPublicId,
          updatedBy: userPublicId,
        }),
        deps.db.insert(memberships).values({
          workspaceId: FIRST_WORKSPACE_ID,
          userId,
          role: 'ADMIN',
          scopeRoles: allScopes('ADMIN'),
          createdBy: userPublicId,
        }),
        signInAddress(deps, { id: userId, publicId: userPublicId, email }),
      ],
    })
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('Already bootstrapped: sign in instead')
    throw err
  }
  return {
    user: { id: userPublicId, email },
    organization: { id: orgPublicId, name: orgName },
    workspace: { id: FIRST_WORKSPACE_ID, name: orgName },
  }
}

const BAD_CREDENTIALS = 'Invalid email or password'
const CHALLENGE_TTL_MS = 5 * 60 * 1000

export type Session = Awaited<ReturnType<typeof startSession>>
/** A sign-in: a session, or, for a user with a second factor on an untrusted device, a challenge. */
export type SignIn = ({ kind: 'session' } & Session) | { kind: 'secondFactor'; mfaToken: string }

/**
 * Email and password sign-in. Unknown email and wrong password fail alike, in similar time. A user
 * with a second factor gets a challenge instead of a session, unless `deviceToken` names one of
 * their trusted devices.
 */
export const signIn = async (
  deps: Deps,
  input: { email: string; password: string; deviceToken?: string },
): Promise<SignIn> => {
  const email = normalizeEmail(input.email)
  await limitSignIn(deps, email)
  const [row] = await signingIn(deps, eq(users.email, email))
  const user = row?.user
  const pepper = deps.env.PASSWORD_PEPPER
  const { ok, needsRehash } = await verifyPassword(input.password, user?.passwordHash ?? null, pepper)
  if (!user || !ok || !user.enabled) {
    await audit(deps, null, {
      action: 'signIn',
      outcome: 'failed',
      targetType: 'user',
      targetId: user?.publicId ?? null,
      detail: { email },
    })
    throw unauthenticated(BAD_CREDENTIALS)
  }
  if (row.secondFactorSince && !(await trustedDevice(deps, user.id, input.deviceToken))) {
    const mfaToken = await signMfaChallenge(
      authSecret(deps),
      user.publicId,
      new Date(deps.now().getTime() + CHALLENGE_TTL_MS),
    )
    return { kind: 'secondFactor', mfaToken }
  }
  const session = await startSession(deps, user, row.firstWorkspaceId, {
    rehashPassword: needsRehash ? input.password : null,
  })
  return { kind: 'session', ...session }
}

/**
 * The user signing in, read in one query with what sign-in decides on: their second factor (at
 * most one row), and their first workspace, where a session opens. (With the join, Drizzle names
 * every column with its table, which the subquery needs: a bare "id" would be the membership's.)
 */
const signingIn = (deps: Deps, where: SQL) =>
  deps.db
    .select({
      user: users,
      secondFactorSince: mfaSecrets.confirmedAt,
      firstWorkspaceId: sql<
        number | null
      >`(SELECT min(${memberships.workspaceId}) FROM ${memberships} WHERE ${memberships.userId} = ${users.id})`,
    })
    .from(users)
    .leftJoin(mfaSecrets, eq(mfaSecrets.userId, users.id))
    .where(where)

/**
 * Completes a sign-in challenge with the current TOTP code or a recovery code, each good once;
 * throttled like sign-in. With `trustDevice`, the answer carries a device token that skips the
 * second factor for 30 days.
 */
export const completeSignIn = async (deps: Deps, input: SecondFactor & { mfaToken: string; trustDevice?: boolean }) => {
  const publicId = await verifyMfaChallenge(authSecret(deps), input.mfaToken)
  const [row] = publicId ? await signingIn(deps, eq(users.publicId, publicId)) : []
  const user = row?.user
  if (!row || !user?.enabled) throw unauthenticated('This sign-in challenge is not valid any more: sign in again')
  await limitSignIn(deps, user.email)
  const proof = await secondFactorProof(deps, user, input)
  const device = input.trustDevice ? await newTrustedDevice(deps, user.id) : null
  const session = await startSession(deps, user, row.firstWorkspaceId, {
    checks: proof.checks,
    writes: [...proof.writes, ...(device ? [device.insert] : [])],
    deviceId: device?.device.deviceId,
  })
  return { ...session, deviceToken: device?.token ?? null }
}

/**
 * Opens a session for a signed-in user, records it with its principal copy, and returns the token;
 * `checks` and `writes` join its batch (a second factor used up, a device trusted).
 */
export const startSession = async (
  deps: Deps,
  user: { id: number; publicId: string; email: string; passwordChangeRequired?: boolean },
  workspaceId: number | null,
  options: { rehashPassword?: string | null; checks?: Check[]; writes?: BatchItem<'sqlite'>[]; deviceId?: string } = {},
) => {
  const { rehashPassword = null } = options
  const session = await newSession(deps, user, workspaceId, options.deviceId)
  await commit(deps, null, {
    event: { action: 'signIn', actor: user, targetType: 'login', targetId: session.loginId, workspaceId },
    checks: options.checks,
    writes: [
      session.insert,
      ...(options.writes ?? []),
      ...(rehashPassword === null
        ? []
        : [
            deps.db
              .update(users)
              .set({ passwordHash: await hashPassword(rehashPassword, deps.env.PASSWORD_PEPPER) })
              .where(eq(users.id, user.id)),
          ]),
    ],
    affects: { loginIds: [session.loginId] },
  })
  return {
    token: session.token,
    expiresAt: session.expiresAt,
    user: { id: user.publicId, email: user.email },
    passwordChangeRequired: user.passwordChangeRequired ?? false,
  }
}
