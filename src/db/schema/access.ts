import { sql } from 'drizzle-orm'
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { newPublicId } from '../../auth/crypto'
import { authorship, json, timestamps } from '../columns'
import { organizations, workspaces } from './organizations'
import { serviceAccounts, users } from './users'

/** Product scope → role name (built-in, custom, or NO_ACCESS). */
export type ScopeRoleMap = Record<string, string>

/** A user or a service account in a workspace, with a role and an optional per-scope role map. */
export const memberships = sqliteTable(
  'memberships',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    workspaceId: integer()
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    userId: integer().references(() => users.id, { onDelete: 'cascade' }),
    serviceAccountId: integer().references(() => serviceAccounts.id, { onDelete: 'cascade' }),
    role: text().notNull(),
    scopeRoles: json<ScopeRoleMap>(),
    ...timestamps(),
    ...authorship(),
  },
  (t) => [
    uniqueIndex('memberships_workspace_user').on(t.workspaceId, t.userId),
    uniqueIndex('memberships_workspace_service_account').on(t.workspaceId, t.serviceAccountId),
    index('memberships_user').on(t.userId),
    check('memberships_one_member', sql`(${t.userId} IS NULL) <> (${t.serviceAccountId} IS NULL)`),
  ],
)

export const customRoles = sqliteTable(
  'custom_roles',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    workspaceId: integer()
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    /** Upper-cased; never a built-in role name. */
    name: text().notNull(),
    baseRole: text().notNull(),
    apiCollectionIds: json<number[]>().notNull().default([]),
    defaultInviteRole: integer({ mode: 'boolean' }).notNull().default(false),
    allowedFeatures: json<string[]>().notNull().default([]),
    threatProtectionEnabled: integer({ mode: 'boolean' }).notNull().default(false),
    ...timestamps(),
    ...authorship(),
  },
  (t) => [
    uniqueIndex('custom_roles_workspace_name').on(t.workspaceId, t.name),
    // At most one default invite role per workspace.
    uniqueIndex('custom_roles_default_invite').on(t.workspaceId).where(sql`${t.defaultInviteRole} = 1`),
  ],
)

export const teams = sqliteTable(
  'teams',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    publicId: text().notNull(),
    organizationId: integer()
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    description: text(),
    /** A built-in or custom role name, given to members added without one. */
    defaultRole: text().notNull().default('GUEST'),
    ...timestamps(),
    ...authorship(),
  },
  (t) => [
    uniqueIndex('teams_public_id').on(t.publicId),
    uniqueIndex('teams_organization_name').on(t.organizationId, t.name),
  ],
)

export const teamMembers = sqliteTable(
  'team_members',
  {
    teamId: integer()
      .notNull()
      .references(() => teams.id, { onDelete: 'cascade' }),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text().notNull(),
    createdAt: integer({ mode: 'timestamp_ms' }).notNull(),
    createdBy: text(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.userId] }), index('team_members_user').on(t.userId)],
)

/** A pending or settled invitation; re-inviting the same email replaces the code. */
export const invitations = sqliteTable(
  'invitations',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    workspaceId: integer()
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    email: text().notNull(),
    name: text(),
    scopeRoles: json<ScopeRoleMap>().notNull(),
    /** A user, or root (issuerUserId null); an invitation whose issuing user is gone is dead. */
    issuerKind: text({ enum: ['user', 'root'] })
      .notNull()
      .default('user'),
    issuerUserId: integer().references(() => users.id, { onDelete: 'set null' }),
    /** SHA-256 of the signed invitation code; only the newest code of an invitation is accepted. */
    codeHash: text().notNull(),
    status: text({ enum: ['pending', 'accepted'] })
      .notNull()
      .default('pending'),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex('invitations_workspace_email').on(t.workspaceId, t.email),
    uniqueIndex('invitations_code').on(t.codeHash),
    index('invitations_expires').on(t.expiresAt),
  ],
)

/** API keys: only the SHA-256 hash of the 40-character key is kept. */
export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    /** The id of a service account's key on the REST surface. */
    publicId: text()
      .notNull()
      .$defaultFn(() => newPublicId()),
    workspaceId: integer()
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    userId: integer().references(() => users.id, { onDelete: 'cascade' }),
    serviceAccountId: integer().references(() => serviceAccounts.id, { onDelete: 'cascade' }),
    utility: text({ enum: ['BURP', 'CICD', 'EXTERNAL_API'] }).notNull(),
    name: text().notNull(),
    keyHash: text().notNull(),
    /** The first characters of the key, to recognise it in listings. */
    keyPrefix: text().notNull(),
    createdAt: integer({ mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer({ mode: 'timestamp_ms' }),
    lastUsedAt: integer({ mode: 'timestamp_ms' }),
    /** Null: the key never expires. */
    expiresAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [
    uniqueIndex('api_tokens_key').on(t.keyHash),
    uniqueIndex('api_tokens_public_id').on(t.publicId),
    index('api_tokens_service_account').on(t.serviceAccountId),
    index('api_tokens_workspace_user').on(t.workspaceId, t.userId),
    check('api_tokens_one_owner', sql`(${t.userId} IS NULL) <> (${t.serviceAccountId} IS NULL)`),
  ],
)

/** A signed-in session (JSON:API `iam:account_sessions`). The session token names this row. */
export const logins = sqliteTable(
  'logins',
  {
    id: text().primaryKey(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    workspaceId: integer().references(() => workspaces.id, { onDelete: 'set null' }),
    deviceId: text().notNull(),
    authTime: integer({ mode: 'timestamp_ms' }).notNull(),
    lastUsedAt: integer({ mode: 'timestamp_ms' }).notNull(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    remoteIp: text(),
    userAgent: text(),
    refreshSeq: integer().notNull().default(0),
    nonce: text().notNull(),
  },
  (t) => [index('logins_user').on(t.userId), index('logins_expires').on(t.expiresAt)],
)
