import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { json, timestamps } from '../columns'
import { organizations, workspaces } from './organizations'

export const ACCESS_TYPES = ['PUBLIC', 'PRIVATE', 'PARTNER', 'THIRD_PARTY'] as const
export type AccessType = (typeof ACCESS_TYPES)[number]

/** One observation of traffic for a component: who called it and where it went. */
export type ObservedIps = {
  sourceIps: string[]
  destinationIp?: string
  direction?: 'incoming' | 'outgoing'
}[]

export const apiCollections = sqliteTable(
  'api_collections',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    workspaceId: integer()
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    accessType: text(),
    ...timestamps(),
  },
  (t) => [uniqueIndex('api_collections_workspace_name').on(t.workspaceId, t.name)],
)

/** An endpoint seen in traffic, with the IPs observed for it and its computed access types. */
export const apiComponents = sqliteTable(
  'api_components',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    workspaceId: integer()
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    collectionId: integer()
      .notNull()
      .references(() => apiCollections.id, { onDelete: 'cascade' }),
    method: text().notNull(),
    url: text().notNull(),
    observedIps: json<ObservedIps>().notNull().default([]),
    accessTypes: json<AccessType[]>().notNull().default([]),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex('api_components_endpoint').on(t.collectionId, t.method, t.url),
    index('api_components_workspace').on(t.workspaceId, t.id),
  ],
)

export const usageMetrics = sqliteTable(
  'usage_metrics',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    organizationId: integer()
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    workspaceId: integer()
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    metric: text().notNull(),
    periodStart: integer({ mode: 'timestamp_ms' }).notNull(),
    value: integer().notNull(),
    recordedAt: integer({ mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    uniqueIndex('usage_metrics_period').on(t.workspaceId, t.metric, t.periodStart),
    index('usage_metrics_organization').on(t.organizationId, t.periodStart),
  ],
)

/** Every change and every denied attempt. */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    at: integer({ mode: 'timestamp_ms' }).notNull(),
    actorType: text({ enum: ['user', 'serviceAccount', 'root', 'anonymous', 'system'] }).notNull(),
    actorId: text(),
    organizationId: integer(),
    workspaceId: integer(),
    action: text().notNull(),
    targetType: text(),
    targetId: text(),
    outcome: text({ enum: ['success', 'denied', 'failed'] }).notNull(),
    ip: text(),
    userAgent: text(),
    requestId: text(),
    detail: json<Record<string, unknown>>(),
  },
  (t) => [
    index('audit_events_workspace_at').on(t.workspaceId, t.at),
    index('audit_events_organization_at').on(t.organizationId, t.at),
    index('audit_events_actor_at').on(t.actorId, t.at),
  ],
)

/**
 * `received`: the consumer took the job, whose computation does not exist yet (access types and
 * usage refresh are recorded but not computed).
 */
export const JOB_STATUSES = ['queued', 'running', 'received', 'succeeded', 'failed'] as const

/** A queued background job, so that a caller can see what became of it. */
export const jobs = sqliteTable(
  'jobs',
  {
    id: text().primaryKey(),
    type: text().notNull(),
    status: text({ enum: JOB_STATUSES }).notNull().default('queued'),
    organizationId: integer(),
    workspaceId: integer(),
    payload: json<Record<string, unknown>>().notNull(),
    result: json<Record<string, unknown>>(),
    attempts: integer().notNull().default(0),
    error: text(),
    createdBy: text(),
    startedAt: integer({ mode: 'timestamp_ms' }),
    finishedAt: integer({ mode: 'timestamp_ms' }),
    ...timestamps(),
  },
  (t) => [index('jobs_workspace_created').on(t.workspaceId, t.createdAt), index('jobs_status').on(t.status)],
)

/** Emails as sent: the development outbox when no provider is configured, a log otherwise. */
export const emailOutbox = sqliteTable(
  'email_outbox',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    jobId: text(),
    to: text().notNull(),
    subject: text().notNull(),
    text: text().notNull(),
    html: text(),
    provider: text().notNull(),
    createdAt: integer({ mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [uniqueIndex('email_outbox_job').on(t.jobId), index('email_outbox_to').on(t.to)],
)

/**
 * Assertions inside a D1 batch, which cannot branch: a statement inserts `ok` = 0 or 1, and the
 * trigger of migration 0001 aborts the whole batch (with `edge-iam:<reason>`) when it is 0. No row
 * is ever stored.
 */
export const batchChecks = sqliteTable('batch_checks', {
  ok: integer().notNull(),
  reason: text().notNull(),
})
