import { and, eq, getTableColumns, gt, inArray, isNull, or, type SQL, sql } from 'drizzle-orm'
import { named } from '../db/client'
import { apiTokens, logins, memberships, organizations, serviceAccounts, users, workspaces } from '../db/schema'
import type { Deps } from './context'
import { conflict, unauthenticated } from './errors'
import {
  type Credential,
  type Identity,
  type Principal,
  roleVector,
  type ServiceAccountProfile,
  type UserProfile,
  workspaceAccess,
} from './principal'
import { type CustomRoles, customRolesOf, effectiveRoleSql, type Membership, REQUEST_SCOPES, type Scope } from './roles'

/**
 * The principal behind each credential, kept whole in KV: identity, membership in its workspace,
 * custom roles and plan. Written when the credential is created and rewritten or deleted, through
 * `commit`, by every change that affects it; never by a read. A read costs one KV get; D1 answers
 * only where KV has no copy yet. KV is eventually consistent (about 60 s between locations), so
 * every write re-checks the caller against D1 inside its own batch (`principalHolds`).
 */
export type PrincipalCopy = {
  credential: Exclude<Credential, { kind: 'root' }>
  identity: Exclude<Identity, { kind: 'root' }>
  workspace: {
    id: number
    organizationId: number
    entitlements: Record<string, boolean>
    customRoles: Record<string, string>
    membership: Membership
  } | null
  /** Epoch ms; null for an API token without expiry. */
  expiresAt: number | null
  /** The user's password was reset by an admin: this session may only set a new one. */
  passwordChangeRequired: boolean
}

export const SESSION_ENDED = 'Session is invalid or has expired'
export const INVALID_KEY = 'Invalid API key'

export const sessionKey = (loginId: string) => `principal:login:${loginId}`
export const tokenKey = (keyHash: string) => `principal:key:${keyHash}`
const keyOf = (c: PrincipalCopy['credential']) => (c.kind === 'session' ? sessionKey(c.loginId) : tokenKey(c.keyHash))

// ---- Reading copies back from D1 -------------------------------------------------------------

/** The columns of a user's profile (`UserProfile`): what lists and presenters read, no secrets. */
export const profileColumns = {
  id: users.id,
  publicId: users.publicId,
  email: users.email,
  givenName: users.givenName,
  familyName: users.familyName,
  displayName: users.displayName,
  enabled: users.enabled,
  createdAt: users.createdAt,
  createdBy: users.createdBy,
  updatedAt: users.updatedAt,
  updatedBy: users.updatedBy,
}

const accessColumns = {
  membership: named('m', { role: memberships.role, scopeRoles: memberships.scopeRoles }),
  workspace: {
    ...named('ws', { id: workspaces.id, organizationId: workspaces.organizationId }),
    entitlements: sql`${organizations.entitlements}`.mapWith(organizations.entitlements).as('org_entitlements'),
    customRoles: customRolesOf(workspaces.id).as('ws_custom_roles'),
  },
}

type AccessRow = {
  membership: { role: string | null; scopeRoles: Record<string, string> | null }
  workspace: { id: number | null; organizationId: number | null; entitlements: unknown; customRoles: CustomRoles }
}

const workspaceOfRow = (row: AccessRow): PrincipalCopy['workspace'] => {
  const { membership, workspace } = row
  if (membership.role === null || workspace.id === null || workspace.organizationId === null) return null
  return {
    id: workspace.id,
    organizationId: workspace.organizationId,
    entitlements: (workspace.entitlements as Record<string, boolean> | null) ?? {},
    customRoles: Object.fromEntries(workspace.customRoles),
    membership: { role: membership.role, scopeRoles: membership.scopeRoles },
  }
}

/** The session copies matching `where` (live sessions of enabled users only). */
const sessionCopies = (deps: Deps, where: SQL) =>
  deps.db
    .select({
      login: named('login', { id: logins.id, expiresAt: logins.expiresAt }),
      user: named('user', profileColumns),
      passwordChangeRequired: sql`${users.passwordChangeRequired}`
        .mapWith(users.passwordChangeRequired)
        .as('user_password_change_required'),
      ...accessColumns,
    })
    .from(logins)
    .innerJoin(users, eq(users.id, logins.userId))
    .leftJoin(memberships, and(eq(memberships.userId, logins.userId), eq(memberships.workspaceId, logins.workspaceId)))
    .leftJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .leftJoin(organizations, eq(organizations.id, workspaces.organizationId))
    .where(and(where, gt(logins.expiresAt, deps.now()), eq(users.enabled, true)))

type SessionRow = Awaited<ReturnType<typeof sessionCopies>>[number]

const fromSessionRow = (row: SessionRow): [string, PrincipalCopy] => [
  sessionKey(row.login.id),
  {
    credential: { kind: 'session', loginId: row.login.id },
    identity: { kind: 'user', user: row.user },
    workspace: workspaceOfRow(row),
    expiresAt: row.login.expiresAt.getTime(),
    passwordChangeRequired: row.passwordChangeRequired,
  },
]

/** The API-token copies matching `where` (tokens of enabled users and of service accounts). */
const tokenCopies = (deps: Deps, where: SQL) =>
  deps.db
    .select({
      token: named('token', {
        id: apiTokens.id,
        keyHash: apiTokens.keyHash,
        utility: apiTokens.utility,
        expiresAt: apiTokens.expiresAt,
      }),
      user: named('user', profileColumns),
      serviceAccount: named('sa', getTableColumns(serviceAccounts)),
      ...accessColumns,
    })
    .from(apiTokens)
    .leftJoin(users, eq(users.id, apiTokens.userId))
    .leftJoin(serviceAccounts, eq(serviceAccounts.id, apiTokens.serviceAccountId))
    .leftJoin(
      memberships,
      and(
        eq(memberships.workspaceId, apiTokens.workspaceId),
        or(eq(memberships.userId, apiTokens.userId), eq(memberships.serviceAccountId, apiTokens.serviceAccountId)),
      ),
    )
    .leftJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .leftJoin(organizations, eq(organizations.id, workspaces.organizationId))
    .where(
      and(
        where,
        or(isNull(apiTokens.userId), eq(users.enabled, true)),
        or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, deps.now())),
      ),
    )

type TokenRow = Awaited<ReturnType<typeof tokenCopies>>[number]

const fromTokenRow = (row: TokenRow): [string, PrincipalCopy] | null => {
  const identity: PrincipalCopy['identity'] | null =
    row.user.id !== null
      ? { kind: 'user', user: row.user }
      : row.serviceAccount.id !== null
        ? { kind: 'serviceAccount', serviceAccount: row.serviceAccount }
        : null
  if (!identity) return null
  return [
    tokenKey(row.token.keyHash),
    {
      credential: { kind: 'apiToken', id: row.token.id, keyHash: row.token.keyHash, utility: row.token.utility },
      identity,
      workspace: workspaceOfRow(row),
      expiresAt: row.token.expiresAt?.getTime() ?? null,
      // Only sessions opened with the temporary password are held to it; keys act as before.
      passwordChangeRequired: false,
    },
  ]
}

// ---- Turning a copy into the request's principal ----------------------------------------------

const revive = <T extends { createdAt: Date; updatedAt: Date }>(o: T): T => ({
  ...o,
  createdAt: new Date(o.createdAt),
  updatedAt: new Date(o.updatedAt),
})

const toPrincipal = (copy: PrincipalCopy, scope: Scope): Principal => {
  const identity: Identity =
    copy.identity.kind === 'user'
      ? { kind: 'user', user: revive<UserProfile>(copy.identity.user) }
      : { kind: 'serviceAccount', serviceAccount: revive<ServiceAccountProfile>(copy.identity.serviceAccount) }
  const self = identity.kind === 'user' ? identity.user : identity.serviceAccount
  const ws = copy.workspace
  const { credential } = copy
  return {
    kind: identity.kind,
    id: self.id,
    publicId: self.publicId,
    email: identity.kind === 'user' ? identity.user.email : null,
    identity,
    scope,
    workspace: ws
      ? workspaceAccess({ ...ws, customRoles: new Map(Object.entries(ws.customRoles)) }, ws.membership, scope)
      : null,
    credential,
    passwordChangeRequired: copy.passwordChangeRequired,
    loginId: credential.kind === 'session' ? credential.loginId : null,
    apiToken: credential.kind === 'apiToken' ? { id: credential.id, utility: credential.utility } : null,
  }
}

const readCopy = (deps: Deps, key: string) => deps.env.SESSIONS.get<PrincipalCopy>(key, 'json')

/** The principal behind a session: its KV copy, or D1 where this location has none yet. */
export const principalOfSession = async (deps: Deps, loginId: string, scope: Scope): Promise<Principal> => {
  let copy = await readCopy(deps, sessionKey(loginId))
  if (!copy) {
    const [row] = await sessionCopies(deps, eq(logins.id, loginId))
    copy = row ? fromSessionRow(row)[1] : null
  }
  if (!copy || (copy.expiresAt !== null && copy.expiresAt <= deps.now().getTime())) throw unauthenticated(SESSION_ENDED)
  return toPrincipal(copy, scope)
}

/** The principal behind an API key (given as its hash): its KV copy, or D1. */
export const principalOfApiKey = async (deps: Deps, keyHash: string, scope: Scope): Promise<Principal> => {
  let copy = await readCopy(deps, tokenKey(keyHash))
  if (!copy) {
    const [row] = await tokenCopies(deps, eq(apiTokens.keyHash, keyHash))
    copy = row ? (fromTokenRow(row)?.[1] ?? null) : null
  }
  if (!copy || (copy.expiresAt !== null && copy.expiresAt <= deps.now().getTime())) throw unauthenticated(INVALID_KEY)
  return toPrincipal(copy, scope)
}

/** Root acts as ADMIN in the workspace named by the `account` header, or in none. */
export const rootPrincipal = async (deps: Deps, workspaceId: number | null, scope: Scope): Promise<Principal> => {
  const [row] =
    workspaceId === null
      ? []
      : await deps.db
          .select({
            id: workspaces.id,
            organizationId: workspaces.organizationId,
            entitlements: organizations.entitlements,
            customRoles: customRolesOf(workspaces.id),
          })
          .from(workspaces)
          .innerJoin(organizations, eq(organizations.id, workspaces.organizationId))
          .where(eq(workspaces.id, workspaceId))
  return {
    kind: 'root',
    id: null,
    publicId: null,
    email: null,
    identity: { kind: 'root' },
    scope,
    workspace: row ? workspaceAccess(row, null, scope) : null,
    credential: { kind: 'root' },
    passwordChangeRequired: false,
    loginId: null,
    apiToken: null,
  }
}

// ---- Writes: re-checking the caller, and keeping the copies in step ---------------------------

/**
 * SQL that holds while the caller is still who its copy says: the credential is live, and its
 * membership is the same one with the same base role in every scope. `commit` puts it in the
 * write's own batch, so the check and the write are one D1 round trip.
 */
export const principalHolds = (p: Principal, now: Date, credentialOnly = false): SQL | null => {
  if (p.credential.kind === 'root') return null
  const vector = sql.join(
    REQUEST_SCOPES.map((s) => effectiveRoleSql(memberships, s).base),
    sql` || ',' || `,
  )
  const same = credentialOnly
    ? sql`1`
    : sql`coalesce(${memberships.workspaceId}, -1) = ${p.workspace?.id ?? -1} AND ${vector} = ${roleVector(p.workspace?.membership ?? null, p.workspace?.customRoles ?? new Map())}`
  if (p.credential.kind === 'session')
    return sql`EXISTS (SELECT 1 FROM ${logins} INNER JOIN ${users} ON ${users.id} = ${logins.userId} LEFT JOIN ${memberships} ON ${memberships.userId} = ${logins.userId} AND ${memberships.workspaceId} = ${logins.workspaceId} WHERE ${logins.id} = ${p.credential.loginId} AND ${logins.expiresAt} > ${now.getTime()} AND ${users.enabled} = 1 AND ${same})`
  return sql`EXISTS (SELECT 1 FROM ${apiTokens} LEFT JOIN ${users} ON ${users.id} = ${apiTokens.userId} LEFT JOIN ${memberships} ON ${memberships.workspaceId} = ${apiTokens.workspaceId} AND (${memberships.userId} = ${apiTokens.userId} OR ${memberships.serviceAccountId} = ${apiTokens.serviceAccountId}) WHERE ${apiTokens.id} = ${p.credential.id} AND (${apiTokens.userId} IS NULL OR ${users.enabled} = 1) AND ${same})`
}

/** Whose credentials a change affects: their copies are rewritten, or deleted when they ended. */
export type Affected = {
  userIds?: readonly number[]
  serviceAccountIds?: readonly number[]
  workspaceIds?: readonly number[]
  loginIds?: readonly string[]
  tokenIds?: readonly number[]
}

/** More copies than this are rewritten by a background job instead (KV operations per request are limited). */
export const INLINE_COPIES = 200

const anyOf = (parts: (SQL | false | undefined)[]) => or(...parts.filter((x): x is SQL => !!x)) ?? sql`0`
const list = <T>(v: readonly T[] | undefined) => (v && v.length > 0 ? [...v] : null)

const loginsWhere = (a: Affected) => {
  const [userIds, workspaceIds, loginIds] = [list(a.userIds), list(a.workspaceIds), list(a.loginIds)]
  return anyOf([
    !!userIds && inArray(logins.userId, userIds),
    !!workspaceIds && inArray(logins.workspaceId, workspaceIds),
    !!loginIds && inArray(logins.id, loginIds),
  ])
}

const tokensWhere = (a: Affected) => {
  const [userIds, saIds, workspaceIds, tokenIds] = [
    list(a.userIds),
    list(a.serviceAccountIds),
    list(a.workspaceIds),
    list(a.tokenIds),
  ]
  return anyOf([
    !!userIds && inArray(apiTokens.userId, userIds),
    !!saIds && inArray(apiTokens.serviceAccountId, saIds),
    !!workspaceIds && inArray(apiTokens.workspaceId, workspaceIds),
    !!tokenIds && inArray(apiTokens.id, tokenIds),
  ])
}

/**
 * The statements that find the affected copies: `before` (their keys, to run ahead of the write)
 * and `after` (the copies as the write left them, to run behind it, in the same batch).
 */
export const copyQueries = (deps: Deps, a: Affected) => ({
  before: [
    deps.db
      .select({ id: logins.id })
      .from(logins)
      .where(loginsWhere(a))
      .limit(INLINE_COPIES + 1),
    deps.db
      .select({ keyHash: apiTokens.keyHash })
      .from(apiTokens)
      .where(tokensWhere(a))
      .limit(INLINE_COPIES + 1),
  ] as const,
  after: [
    sessionCopies(deps, loginsWhere(a)).limit(INLINE_COPIES + 1),
    tokenCopies(deps, tokensWhere(a)).limit(INLINE_COPIES + 1),
  ] as const,
})

type CopyResults = {
  before: [{ id: string }[], { keyHash: string }[]]
  after: [SessionRow[], TokenRow[]]
}

/** Whether the batch found more copies than are rewritten inline. */
export const tooManyCopies = (r: CopyResults) => [...r.before, ...r.after].some((rows) => rows.length > INLINE_COPIES)

/** Rewrites the copies the batch read after its write, and deletes those whose credential ended. */
export const syncCopies = async (deps: Deps, r: CopyResults) => {
  const after = new Map<string, PrincipalCopy>([
    ...r.after[0].map(fromSessionRow),
    ...r.after[1].map(fromTokenRow).filter((e): e is [string, PrincipalCopy] => e !== null),
  ])
  const before = [...r.before[0].map((l) => sessionKey(l.id)), ...r.before[1].map((t) => tokenKey(t.keyHash))]
  await Promise.all([
    ...[...after].map(([key, copy]) => writeCopy(deps, key, copy)),
    ...before.filter((key) => !after.has(key)).map((key) => dropCopy(deps, key)),
  ])
}

/** Rewrites every copy a change affects, page by page (the background path for large changes). */
export const syncAllCopies = async (deps: Deps, a: Affected, pageSize = 100) => {
  const [sessions, tokens] = await deps.db.batch([
    sessionCopies(deps, loginsWhere(a)),
    tokenCopies(deps, tokensWhere(a)),
  ])
  const entries = [...sessions.map(fromSessionRow), ...tokens.map(fromTokenRow).filter((e) => e !== null)] as [
    string,
    PrincipalCopy,
  ][]
  for (let i = 0; i < entries.length; i += pageSize)
    await Promise.all(entries.slice(i, i + pageSize).map(([key, copy]) => writeCopy(deps, key, copy)))
  return entries.length
}

/**
 * KV allows one write per second per key and refuses TTLs under a minute: a copy that cannot be
 * written is deleted instead, so that D1 answers for it rather than a stale copy.
 */
const writeCopy = async (deps: Deps, key: string, copy: PrincipalCopy) => {
  const ttl = copy.expiresAt === null ? null : Math.floor((copy.expiresAt - deps.now().getTime()) / 1000)
  if (ttl !== null && ttl < 60) return dropCopy(deps, key)
  try {
    await deps.env.SESSIONS.put(key, JSON.stringify(copy), ttl === null ? {} : { expirationTtl: ttl })
  } catch (err) {
    console.warn(JSON.stringify({ level: 'warn', message: 'principal copy not written', error: String(err) }))
    await dropCopy(deps, key)
  }
}

const dropCopy = async (deps: Deps, key: string) => {
  try {
    await deps.env.SESSIONS.delete(key)
  } catch (err) {
    console.error(JSON.stringify({ level: 'error', message: 'principal copy not deleted', error: String(err) }))
  }
}

/**
 * Why a write's caller check failed: the credential ended (401), or the caller's access changed
 * since this location's copy was written (409, and this location's copy is brought up to date so
 * that a retry acts on the current role).
 */
export const callerChanged = async (deps: Deps, p: Principal) => {
  const { credential } = p
  const rows =
    credential.kind === 'session'
      ? (await sessionCopies(deps, eq(logins.id, credential.loginId))).map(fromSessionRow)
      : credential.kind === 'apiToken'
        ? (await tokenCopies(deps, eq(apiTokens.id, credential.id))).map(fromTokenRow)
        : []
  const entry = rows[0]
  if (!entry) {
    if (credential.kind !== 'root') await dropCopy(deps, keyOf(credential))
    return unauthenticated(credential.kind === 'session' ? SESSION_ENDED : INVALID_KEY)
  }
  await writeCopy(deps, entry[0], entry[1])
  return conflict('Your access changed while this request was on its way; send it again')
}
