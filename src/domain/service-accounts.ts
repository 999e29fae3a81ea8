import { and, asc, count, eq, getTableColumns, gt, sql } from 'drizzle-orm'
import { newApiKey, newPublicId, sha256 } from '../auth/crypto'
import { named } from '../db/client'
import { apiTokens, memberships, serviceAccounts } from '../db/schema'
import { authorizeIn, refuse } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { conflict, forbidden, invalid, isUniqueViolation, notFound } from './errors'
import { type MarkerPage, type MarkerQuery, markerPage } from './listing'
import { mayManage } from './members'
import { type Principal, roleIn, type ServiceAccountProfile, type WorkspaceAccess } from './principal'
import { allScopes, canAssign, GRANTABLE_SCOPES, grantableBy, type Membership, resolveRole, unknownRole } from './roles'
import { validName } from './rules'
import { authSecret } from './sessions'

export type ServiceAccountInput = { username: string; description: string; role?: string }

/** A key of a service account; its secret exists only in the answer that created it. */
export type ServiceAccountKey = {
  id: number
  publicId: string
  expiresAt: Date | null
  createdAt: Date
  updatedAt: Date | null
}

const NOT_FOUND = 'Service account not found'
const KEY_NOT_FOUND = 'Key not found'
const MAX_KEYS_PER_ACCOUNT = 50
const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/

const accountColumns = getTableColumns(serviceAccounts)

const keyColumns = {
  id: apiTokens.id,
  publicId: apiTokens.publicId,
  expiresAt: apiTokens.expiresAt,
  createdAt: apiTokens.createdAt,
  updatedAt: apiTokens.updatedAt,
}

const validUsername = (username: string) => {
  if (!USERNAME.test(username))
    throw invalid(
      "username must be 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or a digit",
      [{ path: ['username'], message: 'must be 1 to 64 of a-z, 0-9, ., _ and -, starting with a letter or digit' }],
    )
  return username
}

/**
 * A service account of the caller's organization, with its membership in the caller's workspace
 * (null: it holds no role there). Another organization's account is a 404.
 */
const requireAccount = async (deps: Deps, ws: WorkspaceAccess, publicId: string) => {
  const [row] = await deps.db
    .select({
      account: named('sa', accountColumns),
      membership: named('m', { role: memberships.role, scopeRoles: memberships.scopeRoles }),
    })
    .from(serviceAccounts)
    .leftJoin(
      memberships,
      and(eq(memberships.serviceAccountId, serviceAccounts.id), eq(memberships.workspaceId, ws.id)),
    )
    .where(and(eq(serviceAccounts.organizationId, ws.organizationId), eq(serviceAccounts.publicId, publicId)))
  if (!row) throw notFound(NOT_FOUND)
  const { role, scopeRoles } = row.membership
  const membership: Membership | null = role === null ? null : { role, scopeRoles }
  return { account: row.account, membership }
}

/**
 * A key acts with the account's role, so minting, revoking or deleting needs the standing to
 * manage that role in every scope it holds (the rule for managing a member).
 */
const requireManageable = async (
  deps: Deps,
  p: Principal,
  ws: WorkspaceAccess,
  action: string,
  m: Membership | null,
) => {
  if (m && !mayManage(ws, m))
    await refuse(deps, p, action, forbidden('You may not manage a service account whose role is above your own'))
}

/** Like a role change: the role must be one the caller may assign in every scope, as the account holds it in all. */
const grantableRole = async (deps: Deps, p: Principal, ws: WorkspaceAccess, name: string) => {
  const role = resolveRole(name, ws.customRoles)
  if (!role || role.base === 'NO_ACCESS') throw unknownRole('Invalid role', name, ws.customRoles)
  for (const scope of GRANTABLE_SCOPES) {
    const mine = roleIn(ws, scope)
    if (!canAssign(mine, role.base))
      await refuse(
        deps,
        p,
        'createServiceAccount',
        forbidden(
          `You may not grant the role ${role.name} in the ${scope} scope. Roles you may assign there: ${grantableBy(mine, ws.customRoles).join(', ') || 'none'}`,
        ),
      )
  }
  return role.name
}

export const listServiceAccounts = async (
  deps: Deps,
  p: Principal,
  q: MarkerQuery,
): Promise<MarkerPage<ServiceAccountProfile>> => {
  const ws = await authorizeIn(deps, p, 'manageServiceAccounts')
  return markerPage(
    authSecret(deps),
    'service-accounts',
    q,
    (key, take) =>
      deps.db
        .select(accountColumns)
        .from(serviceAccounts)
        .where(
          and(
            eq(serviceAccounts.organizationId, ws.organizationId),
            key === null ? undefined : gt(serviceAccounts.id, Number(key)),
          ),
        )
        .orderBy(asc(serviceAccounts.id))
        .limit(take),
    (a) => a.id,
  )
}

/**
 * A new service account of the caller's organization (its username unique there) with a role in
 * the caller's workspace, in every scope.
 */
export const createServiceAccount = async (
  deps: Deps,
  p: Principal,
  input: ServiceAccountInput,
): Promise<ServiceAccountProfile> => {
  const ws = await authorizeIn(deps, p, 'manageServiceAccounts')
  const username = validUsername(input.username)
  const description = validName(input.description, 'description', 256)
  const role = await grantableRole(deps, p, ws, input.role ?? 'MEMBER')
  const publicId = newPublicId()
  const now = deps.now()
  try {
    const [[account]] = await commit(deps, p, {
      event: {
        action: 'createServiceAccount',
        targetType: 'serviceAccount',
        targetId: publicId,
        detail: { username, role },
      },
      writes: [
        deps.db
          .insert(serviceAccounts)
          .values({
            publicId,
            organizationId: ws.organizationId,
            username,
            description,
            createdAt: now,
            createdBy: p.publicId,
            updatedAt: now,
            updatedBy: p.publicId,
          })
          .returning(accountColumns),
        deps.db.insert(memberships).values({
          workspaceId: ws.id,
          serviceAccountId: sql`(SELECT id FROM service_accounts WHERE public_id = ${publicId})`,
          role,
          scopeRoles: allScopes(role),
          createdAt: now,
          createdBy: p.publicId,
          updatedAt: now,
          updatedBy: p.publicId,
        }),
      ],
    })
    if (!account) throw new Error('The service account was not stored')
    return account
  } catch (err) {
    if (isUniqueViolation(err))
      throw conflict(`A service account named '${username}' already exists in this organization`)
    throw err
  }
}

export const getServiceAccount = async (
  deps: Deps,
  p: Principal,
  accountId: string,
): Promise<ServiceAccountProfile> => {
  const ws = await authorizeIn(deps, p, 'manageServiceAccounts')
  return (await requireAccount(deps, ws, accountId)).account
}

/** Deletes the account with its memberships and keys; the keys stop working at once. */
export const deleteServiceAccount = async (deps: Deps, p: Principal, accountId: string) => {
  const ws = await authorizeIn(deps, p, 'manageServiceAccounts')
  const { account, membership } = await requireAccount(deps, ws, accountId)
  await requireManageable(deps, p, ws, 'deleteServiceAccount', membership)
  await commit(deps, p, {
    event: {
      action: 'deleteServiceAccount',
      targetType: 'serviceAccount',
      targetId: account.publicId,
      detail: { username: account.username },
    },
    writes: [
      deps.db.delete(apiTokens).where(eq(apiTokens.serviceAccountId, account.id)),
      deps.db.delete(memberships).where(eq(memberships.serviceAccountId, account.id)),
      deps.db.delete(serviceAccounts).where(eq(serviceAccounts.id, account.id)),
    ],
    affects: { serviceAccountIds: [account.id] },
  })
}

export const listServiceAccountKeys = async (
  deps: Deps,
  p: Principal,
  accountId: string,
  q: MarkerQuery,
): Promise<MarkerPage<ServiceAccountKey>> => {
  const ws = await authorizeIn(deps, p, 'manageServiceAccounts')
  const { account } = await requireAccount(deps, ws, accountId)
  return markerPage(
    authSecret(deps),
    `service-account-keys:${account.publicId}`,
    q,
    (key, take) =>
      deps.db
        .select(keyColumns)
        .from(apiTokens)
        .where(
          and(eq(apiTokens.serviceAccountId, account.id), key === null ? undefined : gt(apiTokens.id, Number(key))),
        )
        .orderBy(asc(apiTokens.id))
        .limit(take),
    (k) => k.id,
  )
}

/**
 * A new key of the account in the caller's workspace, valid until `expiresAt` (never, without
 * one). The key is returned once and stored only as its hash; its principal copy is written at once.
 */
export const createServiceAccountKey = async (
  deps: Deps,
  p: Principal,
  accountId: string,
  expiresAt: Date | null,
): Promise<ServiceAccountKey & { key: string }> => {
  const ws = await authorizeIn(deps, p, 'manageServiceAccounts')
  const now = deps.now()
  if (expiresAt !== null && !(expiresAt.getTime() > now.getTime()))
    throw invalid('expiresAt must be in the future', [{ path: ['expiresAt'], message: 'must be in the future' }])
  const { account, membership } = await requireAccount(deps, ws, accountId)
  await requireManageable(deps, p, ws, 'createServiceAccountKey', membership)
  const key = newApiKey()
  const publicId = newPublicId()
  const held = deps.db.select({ n: count() }).from(apiTokens).where(eq(apiTokens.serviceAccountId, account.id))
  const [[created]] = await commit(deps, p, {
    event: {
      action: 'createServiceAccountKey',
      targetType: 'apiToken',
      targetId: publicId,
      detail: { serviceAccount: account.publicId, expiresAt: expiresAt?.toISOString() ?? null },
    },
    checks: [
      {
        reason: 'key-limit',
        holds: sql`(${held}) < ${MAX_KEYS_PER_ACCOUNT}`,
        refusal: invalid(`A service account may have at most ${MAX_KEYS_PER_ACCOUNT} keys; delete one first`),
      },
    ],
    writes: [
      deps.db
        .insert(apiTokens)
        .values({
          publicId,
          workspaceId: ws.id,
          serviceAccountId: account.id,
          utility: 'EXTERNAL_API',
          name: 'service-account',
          keyHash: await sha256(key),
          keyPrefix: key.slice(0, 4),
          createdAt: now,
          updatedAt: now,
          expiresAt,
        })
        .returning(keyColumns),
    ],
    // The new key's id is not known before the batch: the account's keys include it afterwards.
    affects: { serviceAccountIds: [account.id] },
  })
  if (!created) throw new Error('The key was not stored')
  return { ...created, key }
}

/** Deletes one key of the account; it stops working at once. Another account's key is a 404. */
export const deleteServiceAccountKey = async (deps: Deps, p: Principal, accountId: string, keyId: string) => {
  const ws = await authorizeIn(deps, p, 'manageServiceAccounts')
  const { account, membership } = await requireAccount(deps, ws, accountId)
  const [token] = await deps.db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(and(eq(apiTokens.serviceAccountId, account.id), eq(apiTokens.publicId, keyId)))
  if (!token) throw notFound(KEY_NOT_FOUND)
  await requireManageable(deps, p, ws, 'deleteServiceAccountKey', membership)
  await commit(deps, p, {
    event: {
      action: 'deleteServiceAccountKey',
      targetType: 'apiToken',
      targetId: keyId,
      detail: { serviceAccount: account.publicId },
    },
    writes: [deps.db.delete(apiTokens).where(eq(apiTokens.id, token.id))],
    affects: { serviceAccountIds: [account.id] },
  })
}
