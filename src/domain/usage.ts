import { asc, eq, gt, inArray, type SQL, sql } from 'drizzle-orm'
import { reportUsage, StiggError } from '../clients/stigg'
import { chunksFor } from '../db/client'
import { apiComponents, apiTokens, memberships, organizations, usageMetrics, users, workspaces } from '../db/schema'
import type { Deps } from './context'
import type { JobRun } from './jobs'

/**
 * The usage this service has data for, per workspace (Akto's metric names where one exists).
 * Akto's CUSTOM_TESTS, TEST_RUNS, MCP_ASSET_COUNT and AI_ASSET_COUNT count data held by the
 * testing product, not here: they are neither stored nor reported, so billing keeps its own.
 */
export const USAGE_METRICS = ['ACTIVE_ENDPOINTS', 'ACTIVE_ACCOUNTS', 'MEMBERS', 'API_TOKENS'] as const
export type UsageMetric = (typeof USAGE_METRICS)[number]

/** The billing features the organization's totals are reported as (Stigg feature ids). */
const BILLING_FEATURES: Partial<Record<UsageMetric, string>> = {
  ACTIVE_ENDPOINTS: 'feature-ap-is',
  ACTIVE_ACCOUNTS: 'feature-sso',
}

/** Organizations per page: their workspaces are counted in one query. */
export const ORGANIZATIONS_PER_PAGE = 20

/** Usage is kept per calendar month (UTC). */
export const periodOf = (at: Date) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1))

/** The metrics of every workspace of the given organizations, counted in one query. */
const measure = (deps: Deps, organizationIds: number[]) => {
  const now = deps.now().getTime()
  const count = (from: SQL) => sql<number>`(SELECT count(*) FROM ${from})`
  return deps.db
    .select({
      workspaceId: workspaces.id,
      organizationId: workspaces.organizationId,
      ACTIVE_ENDPOINTS: count(sql`${apiComponents} WHERE ${apiComponents.workspaceId} = ${workspaces.id}`),
      // People who joined and may sign in: not pending invitees, not disabled accounts.
      MEMBERS: count(
        sql`${memberships} JOIN ${users} ON ${users.id} = ${memberships.userId} WHERE ${memberships.workspaceId} = ${workspaces.id} AND ${users.joinedAt} IS NOT NULL AND ${users.enabled}`,
      ),
      API_TOKENS: count(
        sql`${apiTokens} WHERE ${apiTokens.workspaceId} = ${workspaces.id} AND (${apiTokens.expiresAt} IS NULL OR ${apiTokens.expiresAt} > ${now})`,
      ),
    })
    .from(workspaces)
    .where(inArray(workspaces.organizationId, organizationIds))
}

/**
 * Counts the usage of a page of organizations (one organization when the job names one; every
 * organization, page by page, for the nightly refresh): stores it per workspace for the current
 * month, sets each organization's totals, and reports the totals to billing when it is configured
 * (a refusal is recorded in the result, see `reportTotals`). Counting again gives the same values,
 * so a repeated page changes nothing.
 */
export const refreshUsageStep: JobRun = async (deps, job) => {
  const only = job.organizationId
  const after = (job.progress as { after: number } | null)?.after ?? 0
  const page = await deps.db
    .select({ id: organizations.id, publicId: organizations.publicId, customerId: organizations.billingCustomerId })
    .from(organizations)
    .where(only === null ? gt(organizations.id, after) : eq(organizations.id, only))
    .orderBy(asc(organizations.id))
    .limit(ORGANIZATIONS_PER_PAGE)
  const ids = page.map((o) => o.id)
  const measured = ids.length ? await measure(deps, ids) : []
  const now = deps.now()
  const period = periodOf(now)
  const rows = measured.flatMap((w) =>
    USAGE_METRICS.map((metric) => ({
      organizationId: w.organizationId,
      workspaceId: w.workspaceId,
      metric,
      periodStart: period,
      value: metric === 'ACTIVE_ACCOUNTS' ? 1 : w[metric],
      recordedAt: now,
    })),
  )

  const billing = deps.env.STIGG_API_KEY ? await reportTotals(deps, deps.env.STIGG_API_KEY, page, rows) : null

  const writes = [
    ...chunksFor(rows, 6, 1).map((chunk) =>
      deps.db
        .insert(usageMetrics)
        .values(chunk)
        .onConflictDoUpdate({
          target: [usageMetrics.workspaceId, usageMetrics.metric, usageMetrics.periodStart],
          set: { value: sql`excluded.value`, recordedAt: now },
        }),
    ),
    ...chunksFor(ids, 1, 2).map((chunk) =>
      deps.db
        .update(organizations)
        .set({
          usageTotals: sql`(SELECT coalesce(json_group_object(metric, total), '{}') FROM (
            SELECT ${usageMetrics.metric} AS metric, sum(${usageMetrics.value}) AS total FROM ${usageMetrics}
            WHERE ${usageMetrics.organizationId} = ${organizations.id} AND ${usageMetrics.periodStart} = ${period.getTime()}
            GROUP BY ${usageMetrics.metric}))`,
        })
        .where(inArray(organizations.id, chunk)),
    ),
  ]
  const before = job.progress as { organizations?: number; billingFailures?: BillingFailure[] } | null
  const counted = (before?.organizations ?? 0) + page.length
  const billingFailures = [...(before?.billingFailures ?? []), ...(billing?.failed ?? [])]
  if (only === null && page.length === ORGANIZATIONS_PER_PAGE)
    return { writes, progress: { after: ids.at(-1), organizations: counted, billingFailures } }
  return {
    writes,
    result: {
      organizations: counted,
      period: period.toISOString().slice(0, 7),
      billing: billing ? { failures: billingFailures } : 'not configured',
    },
  }
}

type BillingFailure = { organization: string; error: string }

/**
 * Reports each organization's totals to billing, one call per organization, so that one refusal
 * neither holds back the others nor the stored counts: it is returned, and the next refresh (the
 * nightly one at the latest) sends the values again (they replace, so nothing is counted twice).
 */
const reportTotals = async (
  deps: Deps,
  apiKey: string,
  page: { id: number; publicId: string; customerId: string | null }[],
  rows: { organizationId: number; metric: UsageMetric; value: number }[],
) => {
  const failed: BillingFailure[] = []
  for (const org of page) {
    const totals = new Map<string, number>()
    for (const r of rows) {
      const feature = BILLING_FEATURES[r.metric]
      if (r.organizationId === org.id && feature) totals.set(feature, (totals.get(feature) ?? 0) + r.value)
    }
    const customerId = org.customerId ?? org.publicId
    const usages = [...totals].map(([featureId, value]) => ({ customerId, featureId, value }))
    if (!usages.length) continue
    try {
      await reportUsage(deps.config.stiggApiUrl, apiKey, usages)
    } catch (err) {
      if (!(err instanceof StiggError)) throw err
      console.error(JSON.stringify({ level: 'error', billing: 'usage report refused', organization: org.publicId }))
      failed.push({ organization: org.publicId, error: err.message })
    }
  }
  return { failed }
}
