import { asc, eq, sql } from 'drizzle-orm'
import { newPublicId, safeEqual } from '../auth/crypto'
import { hashPassword, passwordProblem, verifyPassword } from '../auth/passwords'
import { memberships, organizations, users, workspaces } from '../db/schema'
import { audit } from './audit'
import { commit } from './commit'
import type { Deps } from './context'
import { conflict, invalid, isUniqueViolation, unauthenticated } from './errors'
import { allScopes } from './roles'
import { normalizeEmail, validEmail, validOrganizationName, validUsername } from './rules'
import { newSession } from './sessions'
import { limitSignIn } from './throttle'

/** The first workspace's id; later ones count up from it. */
export const FIRST_WORKSPACE_ID = 1_000_000

export const validPassword = (password: string) => {
  const problem = passwordProblem(password)
  if (problem) throw invalid(problem)
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

/** Email and password sign-in. Unknown email and wrong password fail alike, in similar time. */
export const signIn = async (deps: Deps, input: { email: string; password: string }) => {
  const email = normalizeEmail(input.email)
  await limitSignIn(deps, email)
  const [user] = await deps.db.select().from(users).where(eq(users.email, email))
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
  const [first] = await deps.db
    .select({ workspaceId: memberships.workspaceId })
    .from(memberships)
    .where(eq(memberships.userId, user.id))
    .orderBy(asc(memberships.workspaceId))
    .limit(1)
  return startSession(deps, user, first?.workspaceId ?? null, needsRehash ? input.password : null)
}

/** Opens a session for a signed-in user, records it with its principal copy, and returns the token. */
export const startSession = async (
  deps: Deps,
  user: { id: number; publicId: string; email: string },
  workspaceId: number | null,
  rehashPassword: string | null = null,
) => {
  const session = await newSession(deps, user, workspaceId)
  await commit(deps, null, {
    event: { action: 'signIn', actor: user, targetType: 'login', targetId: session.loginId, workspaceId },
    writes: [
      session.insert,
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
  return { token: session.token, expiresAt: session.expiresAt, user: { id: user.publicId, email: user.email } }
}
