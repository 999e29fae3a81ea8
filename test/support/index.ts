import { env, exports } from 'cloudflare:workers'
import { sql } from 'drizzle-orm'
import { expect } from 'vitest'
import { newApiKey, newPublicId, sha256 } from '../../src/auth/crypto'
import { hashPassword } from '../../src/auth/passwords'
import { createDb } from '../../src/db/client'
import {
  apiTokens,
  memberships,
  organizations,
  type ScopeRoleMap,
  userEmails,
  users,
  workspaces,
} from '../../src/db/schema'
import { createDeps } from '../../src/domain/context'
import { createCustomRole } from '../../src/domain/custom-roles'
import { recordTraffic } from '../../src/domain/inventory'
import { setEntitlements } from '../../src/domain/organizations'
import { rootPrincipal, syncAllCopies } from '../../src/domain/principals'
import { allScopes } from '../../src/domain/roles'
import { startSession } from '../../src/domain/sign-in'
import type { TrafficSample } from '../../src/domain/traffic'

/** Request headers, as the helpers take them. */
export type Headers = Record<string, string>

export const db = createDb(env.DB)
export const deps = () => createDeps(env)
export const BASE = 'https://iam.test'
/** The operator's root token, as request headers. */
export const ROOT: Headers = { Authorization: `Bearer ${env.ROOT_TOKEN}` }

/** A request to the Worker, as a client would send it. */
export const api = (path: string, init: RequestInit = {}) => exports.default.fetch(new Request(`${BASE}${path}`, init))

/** A JSON POST. */
export const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  api(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

const hex16 = () => crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16)
/** A fresh client IP (documentation range), so throttles keyed by IP never carry over. */
export const nextIp = () => `2001:db8:${hex16()}:${hex16()}::${hex16()}`

export const STRONG_PASSWORD = 'Correct-Horse-9'

/** A new organization with one workspace (ids count up from the highest one). */
export const seedOrganization = async (name = `Org ${newPublicId()}`) => {
  const publicId = newPublicId()
  const [org] = await db.insert(organizations).values({ publicId, name }).returning()
  const [workspace] = await db
    .insert(workspaces)
    .values({
      id: sql`(SELECT coalesce(max(id), 999999) + 1 FROM workspaces)`,
      organizationId: org!.id,
      name,
    })
    .returning()
  return { org: org!, workspace: workspace! }
}

export type SeededUser = { id: number; publicId: string; email: string; password: string }

/**
 * A user with a membership in a workspace; `role` may be built-in or custom. Like every membership
 * the application creates, it holds a scope map: `role` in every scope unless `scopeRoles` says
 * otherwise.
 */
export const seedUser = async (
  workspaceId: number | null,
  role = 'MEMBER',
  options: { scopeRoles?: ScopeRoleMap; password?: string; email?: string; name?: string } = {},
): Promise<SeededUser> => {
  const publicId = newPublicId()
  const email = options.email ?? `${publicId.toLowerCase()}@example.com`
  const password = options.password ?? STRONG_PASSWORD
  const [user] = await db
    .insert(users)
    .values({
      publicId,
      email,
      displayName: options.name ?? `User ${publicId}`,
      joinedAt: new Date(),
      passwordHash: options.password === undefined ? null : await hashPassword(password),
      createdBy: publicId,
      updatedBy: publicId,
    })
    .returning()
  await db.insert(userEmails).values({ userId: user!.id, email, verifiedAt: new Date(), createdBy: publicId })
  if (workspaceId !== null)
    await db
      .insert(memberships)
      .values({ workspaceId, userId: user!.id, role, scopeRoles: options.scopeRoles ?? allScopes(role) })
  return { id: user!.id, publicId, email, password }
}

/** A real session for the user (as after a login), as request headers. */
export const signIn = async (user: SeededUser, workspaceId: number | null) => {
  const { token } = await startSession(deps(), user, workspaceId)
  return { Authorization: `Bearer ${token}` }
}

/** An organization, a workspace, and a signed-in member of it with the given role. */
export const seedSignedIn = async (role = 'ADMIN', options: Parameters<typeof seedUser>[2] = {}) => {
  const { org, workspace } = await seedOrganization()
  const user = await seedUser(workspace.id, role, options)
  return { org, workspace, user, headers: await signIn(user, workspace.id) }
}

/**
 * An API token of a user or a service account (service accounts have no route of their own yet);
 * its key goes in `X-API-KEY`. Its principal is written to KV as token creation does.
 */
export const seedApiToken = async (
  workspaceId: number,
  owner: { userId: number } | { serviceAccountId: number },
  utility: 'BURP' | 'CICD' | 'EXTERNAL_API' = 'EXTERNAL_API',
) => {
  const key = newApiKey()
  const [token] = await db
    .insert(apiTokens)
    .values({
      workspaceId,
      ...owner,
      utility,
      name: utility.toLowerCase(),
      keyHash: await sha256(key),
      keyPrefix: key.slice(0, 4),
      createdAt: new Date(),
    })
    .returning()
  await syncAllCopies(deps(), { tokenIds: [token!.id] })
  return { id: token!.id, key, headers: { 'X-API-KEY': key } }
}

/** Asserts a dashboard error: the status, and `{error, actionErrors: [error]}` with the message. */
export const expectRpcError = async (res: Response, status: number, message: string | RegExp) => {
  expect(res.status).toBe(status)
  const body = await res.json<{ error: string; actionErrors: string[] }>()
  if (typeof message === 'string') expect(body.error).toBe(message)
  else expect(body.error).toMatch(message)
  expect(body).toEqual({ error: body.error, actionErrors: [body.error] })
}

/** Root acting in a workspace, for setting up what an operator would. */
export const asRoot = (workspaceId: number) => rootPrincipal(deps(), workspaceId, 'API')

/** A custom role, created as root would create it. */
export const seedCustomRole = async (
  workspaceId: number,
  roleName: string,
  baseRole: string,
  defaultInviteRole = false,
) => createCustomRole(deps(), await asRoot(workspaceId), { roleName, baseRole, defaultInviteRole })

/** Changes an organization's plan features the way the application does (principals included). */
export const setPlan = (organizationId: number, entitlements: Record<string, boolean>) =>
  setEntitlements(deps(), null, organizationId, entitlements)

/** Traffic recorded as an upload records it; answers the ids of the collections it landed in. */
export const seedTraffic = async (workspaceId: number, samples: TrafficSample[]) => {
  const recorded = await recordTraffic(deps(), await asRoot(workspaceId), samples)
  expect(recorded.rejected).toEqual([])
  return recorded.apiCollectionIds
}

/** A collection for a host, made by one sample of traffic to it. */
export const seedCollection = async (workspaceId: number, host: string) => {
  const [id] = await seedTraffic(workspaceId, [
    { method: 'GET', url: `https://${host}/`, ip: '10.0.0.1', destIp: '10.0.0.2', direction: 1 },
  ])
  return { id: id as number }
}
