import { and, count, eq, inArray, isNotNull, isNull, type SQL, sql } from 'drizzle-orm'
import { newPublicId, newSecretToken, sha256 } from '../auth/crypto'
import { invitations, logins, memberships, type ScopeRoleMap, users } from '../db/schema'
import { keepsAnAdmin } from './admins'
import { authorize, authorizeIn, refuse } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { emailJob } from './emails'
import { AppError, conflict, forbidden, invalid, isUniqueViolation, notFound } from './errors'
import { joinByInvitation, openInvitation } from './invitations'
import { type ListQuery, type ListSpec, type Page, type Target, toOrderBy, toWhere } from './listing'
import { changeMemberRole, requireManages, setMemberScopeRoles } from './members'
import { newResetToken } from './passwords'
import type { Principal, WorkspaceAccess } from './principal'
import { roleIn } from './principal'
import { releaseClaims, signInAddress } from './profile'
import {
  accessibleScopes,
  canAssign,
  effectiveRoleSql,
  grantableBy,
  invalidScope,
  resolveRole,
  type Scope,
  unknownRole,
} from './roles'
import { validEmail, validName } from './rules'

/**
 * Accounts: people, each seen with their role in the caller's workspace (the JSON:API
 * `iam:accounts`). An account created by an admin is pending (no password, not joined) until its
 * invitation is accepted.
 */
export type User = typeof users.$inferSelect

/** The columns of a user an account shows (never a password hash). */
const accountColumns = {
  id: users.id,
  publicId: users.publicId,
  email: users.email,
  displayName: users.displayName,
  ssoChannel: users.ssoChannel,
  enabled: users.enabled,
  pictureUrl: users.pictureUrl,
  joinedAt: users.joinedAt,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
}

/** A user with their role in the caller's workspace and scope (null: not a member of it). */
export type Account = Pick<User, keyof typeof accountColumns> & {
  roleName: string | null
  roleScope: ScopeRoleMap | null
  /** When the pending invitation to this workspace expires. */
  invitationExpiresAt: Date | null
}

const INVITATION_TTL_MS = 3 * 24 * 60 * 60 * 1000

export const ACCOUNT_LIST: ListSpec = {
  filters: {
    id: { type: 'string', ops: ['eq', 'in'] },
    name: { type: 'string', ops: ['eq', 'match'] },
    email: { type: 'email', ops: ['eq', 'match', 'in'] },
    enabled: { type: 'boolean', ops: ['eq'] },
    sso_channel: { type: 'string', ops: ['eq'] },
    picture_url: { type: 'string', ops: ['eq'] },
    role_name: { type: 'string', ops: ['eq', 'in', 'nin'] },
    role_scope: { type: 'scopeMap', ops: ['eq'] },
    with_role_scope: { type: 'scopeMap', ops: ['contains'] },
    joined_at: { type: 'datetime', ops: ['eq', 'gte', 'lte'] },
    invitation_expired_at: { type: 'datetime', ops: ['eq', 'gte', 'lte'] },
    created_at: { type: 'datetime', ops: ['eq', 'gte', 'lte'] },
    updated_at: { type: 'datetime', ops: ['eq', 'gte', 'lte'] },
  },
  sort: ['id', 'name', 'email', 'enabled', 'role_name', 'joined_at', 'created_at', 'updated_at'],
  secret: [
    'password_reset_token',
    'password_reset_token_expires_at',
    'hashed_password',
    'password_hash',
    'invitation_token',
  ],
}

/** Accounts by id, outside any workspace (no role): what a list of sessions includes. */
export const accountsByIds = async (deps: Deps, ids: number[]): Promise<Account[]> => {
  if (ids.length === 0) return []
  const rows = await deps.db.select(accountColumns).from(users).where(inArray(users.id, ids))
  return rows.map((u) => ({ ...u, roleName: null, roleScope: null, invitationExpiresAt: null }))
}

/** The columns and expressions of an account in a workspace and scope. */
const accountQuery = (deps: Deps, workspaceId: number | null, scope: Scope) => {
  const member = isNotNull(memberships.id)
  const roleName = sql<string | null>`CASE WHEN ${member} THEN ${effectiveRoleSql(memberships, scope).name} END`
  const invitationExpiresAt =
    sql`(SELECT ${invitations.expiresAt} FROM ${invitations} WHERE ${invitations.workspaceId} = ${workspaceId ?? -1} AND ${invitations.email} = ${users.email} AND ${invitations.status} = 'pending')`.mapWith(
      invitations.expiresAt,
    )
  const targets: Record<string, Target> = {
    id: users.publicId,
    name: users.displayName,
    email: users.email,
    enabled: users.enabled,
    sso_channel: users.ssoChannel,
    picture_url: users.pictureUrl,
    role_name: roleName,
    role_scope: memberships.scopeRoles,
    with_role_scope: memberships.scopeRoles,
    joined_at: users.joinedAt,
    invitation_expired_at: invitationExpiresAt,
    created_at: users.createdAt,
    updated_at: users.updatedAt,
  }
  const select = () =>
    deps.db
      .select({ user: accountColumns, roleName, roleScope: memberships.scopeRoles, invitationExpiresAt })
      .from(users)
      .leftJoin(memberships, and(eq(memberships.userId, users.id), eq(memberships.workspaceId, workspaceId ?? -1)))
  const toAccount = (r: Awaited<ReturnType<ReturnType<typeof select>['where']>>[number]): Account => ({
    ...r.user,
    roleName: r.roleName,
    roleScope: r.roleScope,
    invitationExpiresAt: r.invitationExpiresAt,
  })
  return { targets, member, select, toAccount }
}

/** Who the caller may see: root everyone, an ADMIN the members of the current workspace, anyone else only themselves. */
const visibleTo = (p: Principal, member: SQL): SQL | undefined => {
  if (p.kind === 'root') return undefined
  return p.workspace?.role === 'ADMIN' ? member : eq(users.id, p.kind === 'user' && p.id !== null ? p.id : -1)
}

/** Accounts visible to the caller, filtered, sorted and paged. */
export const listAccounts = async (deps: Deps, p: Principal, q: ListQuery): Promise<Page<Account>> => {
  await authorize(deps, p, 'readAccount')
  const a = accountQuery(deps, p.workspace?.id ?? null, p.scope)
  const where = and(visibleTo(p, a.member), toWhere(a.targets, q.filters))
  const itemsQuery = a
    .select()
    .where(where)
    .orderBy(...toOrderBy(a.targets, q.sort, users.id))
    .limit(q.page.size + 1)
    .offset((q.page.number - 1) * q.page.size)
  const page = (rows: Awaited<typeof itemsQuery>) => ({
    items: rows.slice(0, q.page.size).map(a.toAccount),
    more: rows.length > q.page.size,
  })
  if (!q.count) return page(await itemsQuery)
  const countQuery = deps.db
    .select({ n: count() })
    .from(users)
    .leftJoin(memberships, and(eq(memberships.userId, users.id), eq(memberships.workspaceId, p.workspace?.id ?? -1)))
    .where(where)
  const [rows, [total]] = await deps.db.batch([itemsQuery, countQuery])
  return { ...page(rows), count: total?.n ?? 0 }
}

/** One account the caller may see; anything else, existing or not, is a 404. */
export const readAccount = async (deps: Deps, p: Principal, publicId: string): Promise<Account> => {
  await authorize(deps, p, 'readAccount')
  const a = accountQuery(deps, p.workspace?.id ?? null, p.scope)
  const [row] = await a.select().where(and(eq(users.publicId, publicId), visibleTo(p, a.member)))
  if (!row) throw notFound('Account not found')
  return a.toAccount(row)
}

/** An account in a workspace as its own user sees it (after joining). */
const accountIn = async (deps: Deps, workspaceId: number, userId: number): Promise<Account> => {
  const a = accountQuery(deps, workspaceId, 'API')
  const [row] = await a.select().where(eq(users.id, userId))
  if (!row) throw notFound('Account not found')
  return a.toAccount(row)
}

/**
 * The scope map for a new account: `roleScope` as given, else `roleName` in every scope the
 * workspace grants; in every scope, within the caller's own standing.
 */
const grantedScopes = async (
  deps: Deps,
  p: Principal,
  ws: WorkspaceAccess,
  roleName: string,
  roleScope: ScopeRoleMap | undefined,
) => {
  const accessible = accessibleScopes(ws.entitlements)
  const wanted =
    roleScope && Object.keys(roleScope).length ? roleScope : Object.fromEntries(accessible.map((s) => [s, roleName]))
  const map: ScopeRoleMap = {}
  for (const [scope, name] of Object.entries(wanted)) {
    const role = resolveRole(name, ws.customRoles)
    if (!role || role.base === 'NO_ACCESS') throw unknownRole('Invalid role', name, ws.customRoles)
    if (!accessible.includes(scope)) throw invalidScope(scope)
    const mine = roleIn(ws, scope)
    if (!canAssign(mine, role.base))
      await refuse(
        deps,
        p,
        'createAccount',
        forbidden(
          `Nobody grants a role above their own: you may grant in ${scope}: ${grantableBy(mine, ws.customRoles).join(', ') || 'nothing'}`,
        ),
      )
    map[scope] = role.name
  }
  return map
}

/** The invitation of a pending account, and the email that carries its link. */
const invitationFor = async (
  deps: Deps,
  p: Principal,
  ws: WorkspaceAccess,
  email: string,
  name: string | null,
  scopeRoles: ScopeRoleMap,
) => {
  const token = newSecretToken()
  const now = deps.now()
  const expiresAt = new Date(now.getTime() + INVITATION_TTL_MS)
  const values = {
    scopeRoles,
    name,
    issuerKind: p.kind === 'root' ? ('root' as const) : ('user' as const),
    issuerUserId: p.kind === 'user' ? p.id : null,
    codeHash: await sha256(token),
    status: 'pending' as const,
    expiresAt,
    updatedAt: now,
  }
  const link = `${deps.config.appOrigin}/accept-invitation?token=${token}`
  return {
    expiresAt,
    upsert: deps.db
      .insert(invitations)
      .values({ workspaceId: ws.id, email, ...values })
      .onConflictDoUpdate({ target: [invitations.workspaceId, invitations.email], set: values }),
    job: emailJob(deps, p, 'accountInvitation', {
      to: email,
      subject: 'Your account is waiting',
      text: `An account was created for you. Join within 3 days:\n\n${link}\n`,
    }),
  }
}

export type AccountInput = {
  email: string
  name?: string | null
  roleName: string
  roleScope?: ScopeRoleMap
  enabled?: boolean
}

/**
 * Creates a pending account in the caller's workspace (admins; a role within the caller's own
 * standing in every scope) and emails its invitation, valid 3 days. An address that has an
 * account already is a conflict (its account is never shown).
 */
export const createAccount = async (deps: Deps, p: Principal, input: AccountInput): Promise<Account> => {
  const ws = await authorizeIn(deps, p, 'manageAccounts')
  const email = validEmail(input.email)
  const name = input.name ? validName(input.name, 'name', 100) : null
  const scopeRoles = await grantedScopes(deps, p, ws, input.roleName, input.roleScope)
  const publicId = newPublicId()
  const id = sql`(SELECT id FROM users WHERE public_id = ${publicId})`
  const invitation = await invitationFor(deps, p, ws, email, name, scopeRoles)
  try {
    await commit(deps, p, {
      event: { action: 'createAccount', targetType: 'user', targetId: publicId, detail: { scopeRoles } },
      checks: [
        {
          reason: 'account-exists',
          holds: sql`NOT EXISTS (SELECT 1 FROM ${users} WHERE ${users.email} = ${email})`,
          refusal: conflict('An account with this email address exists already'),
        },
      ],
      writes: [
        deps.db.insert(users).values({
          publicId,
          email,
          displayName: name,
          enabled: input.enabled ?? true,
          createdBy: p.publicId,
          updatedBy: p.publicId,
        }),
        deps.db.insert(memberships).values({
          workspaceId: ws.id,
          userId: id,
          role: scopeRoles.API ?? Object.values(scopeRoles)[0] ?? input.roleName,
          scopeRoles,
          createdBy: p.publicId,
        }),
        releaseClaims(deps, email),
        signInAddress(deps, { id, publicId, email }, null),
        invitation.upsert,
        invitation.job.insert,
      ],
    })
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('An account with this email address exists already')
    throw err
  }
  await invitation.job.send().catch(() => {})
  return readAccount(deps, p, publicId)
}

/** A member of the caller's workspace, by public id; anyone else is a 404. */
const memberAccount = async (deps: Deps, ws: WorkspaceAccess, publicId: string) => {
  const [row] = await deps.db
    .select({ user: users, membership: { role: memberships.role, scopeRoles: memberships.scopeRoles } })
    .from(users)
    .innerJoin(memberships, and(eq(memberships.userId, users.id), eq(memberships.workspaceId, ws.id)))
    .where(eq(users.publicId, publicId))
  if (!row) throw notFound('Account not found')
  return row
}

/** Enables or disables an account: disabling ends its sessions at once and blocks its sign-in. */
const setEnabled = async (
  deps: Deps,
  p: Principal,
  user: User,
  enabled: boolean,
  /** What `requireManages` already answered in this request, if it ran. */
  checked?: Awaited<ReturnType<typeof requireManages>>,
) => {
  if (p.kind === 'user' && p.id === user.id)
    await refuse(deps, p, 'manageAccounts', invalid('You cannot disable yourself'))
  const held = checked ?? (await requireManages(deps, p, user.id, 'manageAccounts'))
  await commit(deps, p, {
    event: { action: enabled ? 'enableAccount' : 'disableAccount', targetType: 'user', targetId: user.publicId },
    checks: enabled ? [] : held.flatMap((h) => keepsAnAdmin(deps, h.workspace, h, null)),
    writes: [
      deps.db.update(users).set({ enabled, updatedBy: p.publicId }).where(eq(users.id, user.id)),
      ...(enabled ? [] : [deps.db.delete(logins).where(eq(logins.userId, user.id))]),
    ],
    affects: { userIds: [user.id] },
  })
}

export type AccountChange = {
  name?: string | null
  pictureUrl?: string | null
  enabled?: boolean
  roleName?: string
  roleScope?: ScopeRoleMap
}

const validPictureUrl = (value: string | null) => {
  if (value === null || value === '') return null
  try {
    const url = new URL(value)
    if (url.protocol === 'https:' && value.length <= 2048) return url.toString()
  } catch {}
  throw invalid('picture_url must be an https URL', [
    { path: ['data', 'attributes', 'picture_url'], message: 'must be an https URL', in: 'body' },
  ])
}

/**
 * Changes an account. Anyone may change the name and picture of their own; everything else, and
 * anyone else's account, takes an admin: the role through the same rules as every role change,
 * the profile (global to the person) only from an admin of all their workspaces.
 */
export const updateAccount = async (deps: Deps, p: Principal, publicId: string, change: AccountChange) => {
  const self = p.kind === 'user' && p.publicId === publicId
  const profile = {
    ...(change.name === undefined
      ? {}
      : { displayName: change.name === null ? null : validName(change.name, 'name', 100) }),
    ...(change.pictureUrl === undefined ? {} : { pictureUrl: validPictureUrl(change.pictureUrl) }),
  }
  const saveProfile = (action: 'updateOwnAccount' | 'updateAccount', userId: number) =>
    commit(deps, p, {
      event: { action, targetType: 'user', targetId: publicId, detail: { fields: Object.keys(profile) } },
      writes: [
        deps.db
          .update(users)
          .set({ ...profile, updatedBy: p.publicId })
          .where(eq(users.id, userId)),
      ],
      affects: { userIds: [userId] },
      // One's own name and picture do not depend on one's role.
      credentialOnly: action === 'updateOwnAccount',
    })
  const privileged = change.enabled !== undefined || change.roleName !== undefined || change.roleScope !== undefined
  if (self && !privileged) {
    await authorize(deps, p, 'updateOwnAccount')
    if (Object.keys(profile).length) await saveProfile('updateOwnAccount', p.id as number)
    return readAccount(deps, p, publicId)
  }
  if (self && privileged && p.workspace?.role !== 'ADMIN')
    await refuse(
      deps,
      p,
      'updateOwnAccount',
      forbidden('You may change only the name and picture_url of your own account'),
    )
  const ws = await authorizeIn(deps, p, 'manageAccounts')
  const { user } = await memberAccount(deps, ws, publicId)
  const held = Object.keys(profile).length ? await requireManages(deps, p, user.id, 'manageAccounts') : undefined
  if (held) await saveProfile('updateAccount', user.id)
  if (change.roleScope !== undefined) await setMemberScopeRoles(deps, p, { publicId }, change.roleScope)
  if (change.roleName !== undefined) await changeMemberRole(deps, p, { publicId }, change.roleName)
  if (change.enabled !== undefined && change.enabled !== user.enabled)
    await setEnabled(deps, p, user, change.enabled, held)
  return readAccount(deps, p, publicId)
}

/**
 * Deletes a pending account (its invitation with it, and the person when no other workspace has
 * them); an account that joined is disabled instead, as the original service does.
 */
export const deleteAccount = async (deps: Deps, p: Principal, publicId: string) => {
  const ws = await authorizeIn(deps, p, 'manageAccounts')
  const { user } = await memberAccount(deps, ws, publicId)
  if (user.joinedAt) return setEnabled(deps, p, user, false)
  await requireManages(deps, p, user.id, 'manageAccounts', ws.organizationId)
  await commit(deps, p, {
    event: { action: 'deleteAccount', targetType: 'user', targetId: publicId },
    writes: [
      deps.db.delete(memberships).where(and(eq(memberships.userId, user.id), eq(memberships.workspaceId, ws.id))),
      deps.db.delete(invitations).where(and(eq(invitations.workspaceId, ws.id), eq(invitations.email, user.email))),
      deps.db
        .delete(users)
        .where(
          and(
            eq(users.id, user.id),
            isNull(users.joinedAt),
            sql`NOT EXISTS (SELECT 1 FROM ${memberships} WHERE ${memberships.userId} = ${user.id})`,
          ),
        ),
    ],
    affects: { userIds: [user.id] },
  })
}

/** Sends a pending account a new invitation: the old link dies, the new one lives 3 days. */
export const resendInvitation = async (deps: Deps, p: Principal, publicId: string) => {
  const ws = await authorizeIn(deps, p, 'manageAccounts')
  const { user, membership } = await memberAccount(deps, ws, publicId)
  if (user.joinedAt) throw conflict('This account has joined already')
  // Replacing the link kills the old one: only someone who could remove the account may do it.
  await requireManages(deps, p, user.id, 'manageAccounts', ws.organizationId)
  const invitation = await invitationFor(
    deps,
    p,
    ws,
    user.email,
    user.displayName,
    membership.scopeRoles ?? { API: membership.role ?? 'GUEST' },
  )
  await commit(deps, p, {
    event: { action: 'resendInvitation', targetType: 'user', targetId: publicId },
    writes: [invitation.upsert, invitation.job.insert],
  })
  await invitation.job.send().catch(() => {})
}

/**
 * Accepts an account's invitation by its token: the account joins. With a password it is set at
 * once; without one, the answer carries a reset token (1 hour) for `/account/passwords/reset`.
 */
export const joinAccount = async (deps: Deps, token: string, password?: string) => {
  const found = await openInvitation(deps, token)
  if (!found) throw notFound('Invitation not found: it was used, withdrawn or replaced')
  if (found.invitation.expiresAt <= deps.now())
    throw new AppError('VALIDATION_FAILED', 'Invitation has expired: ask an admin to send it again', {
      issues: [{ path: [], message: 'Invitation has expired: ask an admin to send it again', in: 'body' }],
    })
  const user = await joinByInvitation(deps, found, { password }, 'joinAccount')
  let resetToken: string | null = null
  if (!user.hasPassword) {
    const reset = await newResetToken(deps, user.id, user.publicId)
    await commit(deps, null, {
      event: { action: 'issuePasswordReset', actor: user, targetType: 'user', targetId: user.publicId },
      writes: reset.writes,
    })
    resetToken = reset.token
  }
  return { account: await accountIn(deps, found.invitation.workspaceId, user.id), resetToken }
}
