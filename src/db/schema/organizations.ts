import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { authorship, json, timestamps } from '../columns'

export type Entitlements = Record<string, boolean>
export type WorkspaceSettings = { privateCidrList?: string[]; partnerIpList?: string[] }

export const organizations = sqliteTable(
  'organizations',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    publicId: text().notNull(),
    name: text().notNull(),
    plan: text().notNull().default('free'),
    entitlements: json<Entitlements>().notNull().default({}),
    billingCustomerId: text(),
    usageTotals: json<Record<string, number>>().notNull().default({}),
    ...timestamps(),
    ...authorship(),
  },
  (t) => [uniqueIndex('organizations_public_id').on(t.publicId)],
)

/** The dashboard's "account": a tenant inside an organization. Ids start at 1000000. */
export const workspaces = sqliteTable(
  'workspaces',
  {
    id: integer().primaryKey(),
    organizationId: integer()
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    settings: json<WorkspaceSettings>().notNull().default({}),
    ...timestamps(),
    ...authorship(),
  },
  (t) => [index('workspaces_organization').on(t.organizationId)],
)
