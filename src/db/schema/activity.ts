import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { json, timestamps } from '../columns'
import { organizations, workspaces } from './organizations'

export const ACCESS_TYPES = ['PUBLIC', 'PRIVATE', 'PARTNER', 'THIRD_PARTY'] as const
export type AccessType = (typeof ACCESS_TYPES)[number]

export const apiCollections = sqliteTable(
  'api_collections',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    workspaceId: integer()
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    /** What the dashboard shows; the host at first. */
    name: text().notNull(),
    /** The host whose traffic the collection holds (one collection per host). */
    hostName: text().notNull(),
    /** `Internal` or `Third party`, from its components; null until first computed. */
    accessType: text(),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex('api_collections_workspace_name').on(t.workspaceId, t.name),
    uniqueIndex('api_collections_workspace_host').on(t.workspaceId, t.hostName),
  ],
)

/** An endpoint seen in traffic (method and normalised path) and its computed access types. */
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
    accessTypes: json<AccessType[]>().notNull().default([]),
    lastSeenAt: integer({ mode: 'timestamp_ms' }),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex('api_components_endpoint').on(t.collectionId, t.method, t.url),
    index('api_components_workspace').on(t.workspaceId, t.id),
  ],
)

/**
 * The distinct observations of a component's traffic (candidate IPs and direction), the most
 * recent few kept: what the access-type job classifies.
 */
export const apiSamples = sqliteTable(
  'api_samples',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    componentId: integer()
      .notNull()
      .references(() => apiComponents.id, { onDelete: 'cascade' }),
    /** The observation itself, as JSON: equal observations are kept once. */
    observation: text().notNull(),
    lastSeenAt: integer({ mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    uniqueIndex('api_samples_observation').on(t.componentId, t.observation),
    index('api_samples_recent').on(t.componentId, t.lastSeenAt),
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

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const

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
    /** Where a job that works in pages goes on from, and what it has found so far. */
    progress: json<Record<string, unknown>>(),
    /** The delivery running the job now, and until when: a second delivery waits. */
    leaseId: text(),
    leaseUntil: integer({ mode: 'timestamp_ms' }),
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
