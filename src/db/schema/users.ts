import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { authorship, timestamps } from '../columns'
import { organizations } from './organizations'

export const users = sqliteTable(
  'users',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    publicId: text().notNull(),
    /** Always stored lower-cased, so uniqueness is case-insensitive. */
    email: text().notNull(),
    givenName: text(),
    familyName: text(),
    displayName: text(),
    passwordHash: text(),
    enabled: integer({ mode: 'boolean' }).notNull().default(true),
    ssoChannel: text(),
    pictureUrl: text(),
    joinedAt: integer({ mode: 'timestamp_ms' }),
    nameUpdatedAt: integer({ mode: 'timestamp_ms' }),
    /** Set by an admin's password reset: until the user sets their own, a session may only do that. */
    passwordChangeRequired: integer({ mode: 'boolean' }).notNull().default(false),
    ...timestamps(),
    ...authorship(),
  },
  (t) => [
    uniqueIndex('users_public_id').on(t.publicId),
    uniqueIndex('users_email').on(t.email),
    index('users_created_at').on(t.createdAt),
    index('users_display_name').on(t.displayName),
  ],
)

/**
 * The addresses of a user, the sign-in address among them (verified); `verifiedAt` is set once the
 * verification link was used. An address belongs to one user at most.
 */
export const userEmails = sqliteTable(
  'user_emails',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    email: text().notNull(),
    verifiedAt: integer({ mode: 'timestamp_ms' }),
    verificationTokenHash: text(),
    verificationExpiresAt: integer({ mode: 'timestamp_ms' }),
    ...timestamps(),
    ...authorship(),
  },
  (t) => [uniqueIndex('user_emails_email').on(t.email), index('user_emails_user').on(t.userId)],
)

export const serviceAccounts = sqliteTable(
  'service_accounts',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    publicId: text().notNull(),
    organizationId: integer()
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    username: text().notNull(),
    description: text(),
    ...timestamps(),
    ...authorship(),
  },
  (t) => [
    uniqueIndex('service_accounts_public_id').on(t.publicId),
    uniqueIndex('service_accounts_org_username').on(t.organizationId, t.username),
  ],
)

/** Single-use password reset tokens, stored as SHA-256 hashes. */
export const passwordResets = sqliteTable(
  'password_resets',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    usedAt: integer({ mode: 'timestamp_ms' }),
    createdAt: integer({ mode: 'timestamp_ms' }).notNull(),
    createdBy: text(),
  },
  (t) => [
    uniqueIndex('password_resets_token').on(t.tokenHash),
    index('password_resets_user').on(t.userId),
    index('password_resets_expires').on(t.expiresAt),
  ],
)

/** TOTP secret (RFC 6238), encrypted at rest; `confirmedAt` once enrolment was proven with a code. */
export const mfaSecrets = sqliteTable('mfa_secrets', {
  userId: integer()
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  secretEncrypted: text().notNull(),
  confirmedAt: integer({ mode: 'timestamp_ms' }),
  /** The last TOTP time step accepted: a code is good once (RFC 6238 §5.2). */
  lastUsedStep: integer(),
  createdAt: integer({ mode: 'timestamp_ms' }).notNull(),
})

export const mfaRecoveryCodes = sqliteTable(
  'mfa_recovery_codes',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text().notNull(),
    usedAt: integer({ mode: 'timestamp_ms' }),
    createdAt: integer({ mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [uniqueIndex('mfa_recovery_codes_user_code').on(t.userId, t.codeHash)],
)

/** A device that skips the MFA challenge until it expires; the device token is stored hashed. */
export const trustedDevices = sqliteTable(
  'trusted_devices',
  {
    id: text().primaryKey(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    deviceId: text().notNull(),
    tokenHash: text().notNull(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    remoteIp: text(),
    userAgent: text(),
    createdAt: integer({ mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    uniqueIndex('trusted_devices_token').on(t.tokenHash),
    index('trusted_devices_user').on(t.userId),
    index('trusted_devices_expires').on(t.expiresAt),
  ],
)

/** A browser Push API subscription; one per user, replaced when saved again. */
export const pushSubscriptions = sqliteTable(
  'push_subscriptions',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    endpoint: text().notNull(),
    p256dh: text().notNull(),
    auth: text().notNull(),
    ...timestamps(),
  },
  (t) => [uniqueIndex('push_subscriptions_user').on(t.userId)],
)
