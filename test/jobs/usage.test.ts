import { env } from 'cloudflare:workers'
import { and, asc, count, eq, gte, sql } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { newPublicId } from '../../src/auth/crypto'
import { apiTokens, memberships, organizations, serviceAccounts, usageMetrics, workspaces } from '../../src/db/schema'
import { prepareJob } from '../../src/domain/jobs'
import type { TrafficSample } from '../../src/domain/traffic'
import { ORGANIZATIONS_PER_PAGE, periodOf } from '../../src/domain/usage'
import {
  db,
  deps,
  type Headers,
  post,
  seedApiToken,
  seedOrganization,
  seedSignedIn,
  seedTraffic,
  seedUser,
} from '../support'
import { finishedJob, jobRow, runBatch } from '../support/queue'

/**
 * The usage refresh: counted per workspace for the current month, summed on the organization,
 * reported to billing (Stigg) when it is configured.
 */

afterEach(() => {
  vi.restoreAllMocks()
})

const STIGG_URL = 'https://api.stigg.io/graphql'
const STIGG_KEY = 'stigg-test-key'

const withStigg = { ...env, STIGG_API_KEY: STIGG_KEY } as Env

/** A refresh of one organization, its row stored, not sent: the test delivers it. */
const orgRefreshJob = async (organizationId: number) => {
  const job = prepareJob(deps(), null, 'refreshUsage', { organizationId })
  await job.insert
  return job.id
}

const PERIOD = () => periodOf(new Date())
const MONTH = () => PERIOD().toISOString().slice(0, 7)

/** Samples that record one component per path (each on the same host). */
const traffic = (host: string, ...paths: string[]): TrafficSample[] =>
  paths.map((p) => {
    const [method, path] = p.split(' ') as [string, string]
    return { method, url: `https://${host}${path}`, ip: '10.0.0.1', destIp: '10.0.0.2', direction: 1 }
  })

/** Another workspace in an existing organization (ids count up, like the real ones). */
const addWorkspace = async (organizationId: number) => {
  const [ws] = await db
    .insert(workspaces)
    .values({ id: sql`(SELECT coalesce(max(id), 999999) + 1 FROM workspaces)`, organizationId, name: 'Second' })
    .returning()
  return ws!
}

/** The organization's metric rows, as `{workspaceId, metric, value}`, for the given month. */
const metricsOf = async (organizationId: number, period = PERIOD()) =>
  (
    await db
      .select()
      .from(usageMetrics)
      .where(and(eq(usageMetrics.organizationId, organizationId), eq(usageMetrics.periodStart, period)))
      .orderBy(asc(usageMetrics.workspaceId), asc(usageMetrics.metric))
  ).map((r) => ({ workspaceId: r.workspaceId, metric: r.metric, value: r.value }))

const allMetricsOf = (organizationId: number) =>
  db.select().from(usageMetrics).where(eq(usageMetrics.organizationId, organizationId))

/** The four metrics of a workspace in the order metricsOf sorts them. */
const workspaceMetrics = (
  workspaceId: number,
  m: { ACTIVE_ENDPOINTS: number; MEMBERS: number; API_TOKENS: number; ACTIVE_ACCOUNTS?: number },
) => [
  { workspaceId, metric: 'ACTIVE_ACCOUNTS', value: m.ACTIVE_ACCOUNTS ?? 1 },
  { workspaceId, metric: 'ACTIVE_ENDPOINTS', value: m.ACTIVE_ENDPOINTS },
  { workspaceId, metric: 'API_TOKENS', value: m.API_TOKENS },
  { workspaceId, metric: 'MEMBERS', value: m.MEMBERS },
]

const totalsOf = async (organizationId: number) =>
  (await db.select().from(organizations).where(eq(organizations.id, organizationId)))[0]?.usageTotals

/** POST /api/refreshUsageDataForOrg, answering the job id. */
const refreshByHttp = async (headers: Headers) => {
  const res = await post('/api/refreshUsageDataForOrg', {}, headers)
  expect(res.status, await res.clone().text()).toBe(200)
  const body = await res.json<{ jobId: string }>()
  expect(body).toEqual({ jobId: expect.any(String) })
  return body.jobId
}

const stiggAnswers = (response: () => Response) =>
  vi.spyOn(globalThis, 'fetch').mockImplementation(async () => response())

/** The one fetch to Stigg, with its parsed body. */
const stiggCall = (fetchSpy: ReturnType<typeof stiggAnswers>, index = 0) => {
  const [url, init] = fetchSpy.mock.calls[index]!
  return {
    url: String(url),
    method: init?.method,
    headers: init?.headers,
    body: JSON.parse(String(init?.body)) as {
      query: string
      variables: { input: { usages: Record<string, unknown>[] } }
    },
  }
}

const stiggOk = () =>
  Response.json({ data: { reportUsageBulk: [{ measurementId: 'm-1' }, { measurementId: 'm-2' }] } }, { status: 200 })

describe('refreshUsageDataForOrg, run by the real queue', () => {
  it("counts every workspace of the caller's organization for this month and sums them on the organization", async () => {
    const { org, workspace, headers } = await seedSignedIn('ADMIN')
    await seedUser(workspace.id, 'MEMBER')
    await seedUser(workspace.id, 'DEVELOPER')
    // Four samples, three components: /orders/1 and /orders/2 are one templated path.
    await seedTraffic(
      workspace.id,
      traffic('shop.example.test', 'GET /users', 'POST /users', 'GET /orders/1', 'GET /orders/2'),
    )
    const token = await post('/api/addApiToken', { tokenUtility: 'EXTERNAL_API' }, headers)
    expect(token.status).toBe(200)
    // An expired token does not count.
    const outsider = await seedUser(workspace.id, 'GUEST')
    const expired = await seedApiToken(workspace.id, { userId: outsider.id })
    await db
      .update(apiTokens)
      .set({ expiresAt: new Date(Date.now() - 60_000) })
      .where(eq(apiTokens.id, expired.id))

    // A service account is no member, but its live token counts.
    const [bot] = await db
      .insert(serviceAccounts)
      .values({ publicId: newPublicId(), organizationId: org.id, username: 'usage-bot' })
      .returning()
    await db.insert(memberships).values({ workspaceId: workspace.id, serviceAccountId: bot!.id, role: 'ADMIN' })
    await seedApiToken(workspace.id, { serviceAccountId: bot!.id })

    // A second workspace, created as the dashboard does (the session moves to it).
    const created = await post('/api/createNewAccount', { newAccountName: 'Staging' }, headers)
    expect(created.status).toBe(200)
    const { newAccountId: second } = await created.json<{ newAccountId: number }>()
    await seedTraffic(second, traffic('staging.example.test', 'GET /health'))

    // Another organization: counted by nobody here.
    const other = await seedOrganization()
    await seedUser(other.workspace.id, 'ADMIN')
    await seedTraffic(other.workspace.id, traffic('other.example.test', 'GET /a'))

    const jobId = await refreshByHttp(headers)
    const queuedRow = await jobRow(jobId)
    expect(queuedRow).toMatchObject({ type: 'refreshUsage', organizationId: org.id, workspaceId: second })

    const job = await finishedJob(jobId)
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1, error: null, progress: null })
    expect(job.result).toEqual({
      organizations: 1,
      period: MONTH(),
      billing: 'not configured',
      pages: 1,
      slowestPageMs: expect.any(Number),
    })

    // The admin, the member, the developer and the guest: 4 members; 3 components; 2 live tokens.
    expect(await metricsOf(org.id)).toEqual([
      ...workspaceMetrics(workspace.id, { ACTIVE_ENDPOINTS: 3, MEMBERS: 4, API_TOKENS: 2 }),
      ...workspaceMetrics(second, { ACTIVE_ENDPOINTS: 1, MEMBERS: 1, API_TOKENS: 0 }),
    ])
    const rows = await allMetricsOf(org.id)
    expect(rows).toHaveLength(8)
    for (const r of rows) {
      expect(r.periodStart.getTime()).toBe(PERIOD().getTime())
      expect(r.recordedAt.getTime()).toBeGreaterThanOrEqual(job.startedAt!.getTime())
    }
    expect(await totalsOf(org.id)).toEqual({ ACTIVE_ENDPOINTS: 4, ACTIVE_ACCOUNTS: 2, MEMBERS: 5, API_TOKENS: 2 })

    // The other organization is untouched.
    expect(await allMetricsOf(other.org.id)).toEqual([])
    expect(await totalsOf(other.org.id)).toEqual({})

    // The caller sees the job through fetchJobStatus (the session is in the job's workspace).
    const status = await post('/api/fetchJobStatus', { jobId }, headers)
    expect(status.status).toBe(200)
    expect(await status.json()).toMatchObject({
      job: { id: jobId, type: 'refreshUsage', status: 'succeeded', lastError: null, result: job.result },
    })
  })

  it('updates the month in place when run again: no duplicate rows, changed counts reflected, other months left alone', async () => {
    const { org, workspace, headers } = await seedSignedIn('ADMIN')
    await seedTraffic(workspace.id, traffic('api.example.test', 'GET /a', 'GET /b'))
    // Last month's figures stay as they were, and are not part of this month's totals.
    const lastMonth = periodOf(new Date(PERIOD().getTime() - 86_400_000))
    const [old] = await db
      .insert(usageMetrics)
      .values({
        organizationId: org.id,
        workspaceId: workspace.id,
        metric: 'ACTIVE_ENDPOINTS',
        periodStart: lastMonth,
        value: 99,
        recordedAt: lastMonth,
      })
      .returning()

    const first = await finishedJob(await refreshByHttp(headers))
    expect(first.status).toBe('succeeded')
    expect(await metricsOf(org.id)).toEqual(
      workspaceMetrics(workspace.id, { ACTIVE_ENDPOINTS: 2, MEMBERS: 1, API_TOKENS: 0 }),
    )
    expect(await totalsOf(org.id)).toEqual({ ACTIVE_ENDPOINTS: 2, ACTIVE_ACCOUNTS: 1, MEMBERS: 1, API_TOKENS: 0 })
    const before = await db
      .select()
      .from(usageMetrics)
      .where(and(eq(usageMetrics.organizationId, org.id), eq(usageMetrics.periodStart, PERIOD())))

    await seedTraffic(workspace.id, traffic('api.example.test', 'DELETE /a'))
    await seedUser(workspace.id, 'MEMBER')
    await seedUser(workspace.id, 'MEMBER')
    expect((await post('/api/addApiToken', { tokenUtility: 'BURP' }, headers)).status).toBe(200)

    const second = await finishedJob(await refreshByHttp(headers))
    expect(second.status).toBe('succeeded')
    expect(await metricsOf(org.id)).toEqual(
      workspaceMetrics(workspace.id, { ACTIVE_ENDPOINTS: 3, MEMBERS: 3, API_TOKENS: 1 }),
    )
    const after = await db
      .select()
      .from(usageMetrics)
      .where(and(eq(usageMetrics.organizationId, org.id), eq(usageMetrics.periodStart, PERIOD())))
    expect(after).toHaveLength(4)
    // The same rows, updated.
    expect(after.map((r) => [r.metric, r.id]).sort()).toEqual(before.map((r) => [r.metric, r.id]).sort())
    for (const r of after) {
      const was = before.find((b) => b.id === r.id)!
      expect(r.recordedAt.getTime()).toBeGreaterThanOrEqual(was.recordedAt.getTime())
    }
    expect(await totalsOf(org.id)).toEqual({ ACTIVE_ENDPOINTS: 3, ACTIVE_ACCOUNTS: 1, MEMBERS: 3, API_TOKENS: 1 })

    const [kept] = await db.select().from(usageMetrics).where(eq(usageMetrics.id, old!.id))
    expect(kept).toEqual(old)
    expect(await allMetricsOf(org.id)).toHaveLength(5)
  })
})

describe('refreshUsage reported to Stigg', () => {
  it('reports the organization totals of the two billing features with reportUsageBulk, as SET, under the billing customer id', async () => {
    const { org, workspace } = await seedOrganization()
    await db.update(organizations).set({ billingCustomerId: 'cus_stigg_42' }).where(eq(organizations.id, org.id))
    const second = await addWorkspace(org.id)
    await seedUser(workspace.id, 'ADMIN')
    await seedTraffic(workspace.id, traffic('one.example.test', 'GET /a', 'GET /b'))
    await seedTraffic(second.id, traffic('two.example.test', 'GET /c', 'GET /d', 'PUT /d'))
    const jobId = await orgRefreshJob(org.id)

    const fetchSpy = stiggAnswers(stiggOk)
    const result = await runBatch([{ id: 's1', body: { jobId, type: 'refreshUsage' } }], withStigg)
    expect(result.explicitAcks).toEqual(['s1'])
    expect(result.retryMessages).toEqual([])

    expect(fetchSpy).toHaveBeenCalledTimes(1)
    const call = stiggCall(fetchSpy)
    expect(call.url).toBe(STIGG_URL)
    expect(call.method).toBe('POST')
    expect(call.headers).toEqual({ 'X-API-KEY': STIGG_KEY, 'Content-Type': 'application/json' })
    expect(call.body.query).toBe(
      'mutation ReportUsageBulk($input: ReportUsageBulkInput!) {\n  reportUsageBulk(input: $input) { measurementId }\n}',
    )
    expect(call.body.variables).toEqual({
      input: {
        usages: [
          { customerId: 'cus_stigg_42', featureId: 'feature-ap-is', value: 5, updateBehavior: 'SET' },
          { customerId: 'cus_stigg_42', featureId: 'feature-sso', value: 2, updateBehavior: 'SET' },
        ],
      },
    })

    expect(await jobRow(jobId)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      error: null,
      result: { organizations: 1, period: MONTH(), billing: { failures: [] }, pages: 1 },
    })
    expect(await metricsOf(org.id)).toEqual([
      ...workspaceMetrics(workspace.id, { ACTIVE_ENDPOINTS: 2, MEMBERS: 1, API_TOKENS: 0 }),
      ...workspaceMetrics(second.id, { ACTIVE_ENDPOINTS: 3, MEMBERS: 0, API_TOKENS: 0 }),
    ])
    expect(await totalsOf(org.id)).toEqual({ ACTIVE_ENDPOINTS: 5, ACTIVE_ACCOUNTS: 2, MEMBERS: 1, API_TOKENS: 0 })
  })

  it("reports under the organization's public id when it has no billing customer id, zeros included", async () => {
    const { org } = await seedOrganization()
    const jobId = await orgRefreshJob(org.id)
    const fetchSpy = stiggAnswers(stiggOk)
    const result = await runBatch([{ id: 's2', body: { jobId, type: 'refreshUsage' } }], withStigg)
    expect(result.explicitAcks).toEqual(['s2'])
    expect(fetchSpy).toHaveBeenCalledTimes(1)
    expect(stiggCall(fetchSpy).body.variables.input.usages).toEqual([
      { customerId: org.publicId, featureId: 'feature-ap-is', value: 0, updateBehavior: 'SET' },
      { customerId: org.publicId, featureId: 'feature-sso', value: 1, updateBehavior: 'SET' },
    ])
  })

  it.each([
    {
      name: 'an HTTP 500',
      answer: () => new Response('upstream exploded', { status: 500 }),
      error: 'The billing service refused the usage report: HTTP 500',
    },
    {
      name: 'GraphQL errors',
      answer: () => Response.json({ data: null, errors: [{ message: 'Customer not found: org-x' }] }),
      error: 'The billing service refused the usage report: Customer not found: org-x',
    },
    {
      name: 'an unreachable service',
      answer: () => {
        throw new TypeError('fetch failed')
      },
      error: 'The billing service could not be reached',
    },
  ])(
    'stores the counts and records the refusal when Stigg answers $name, for the next refresh to resend',
    async ({ answer, error }) => {
      const { org, workspace } = await seedOrganization()
      await seedTraffic(workspace.id, traffic('fail.example.test', 'GET /x'))
      const jobId = await orgRefreshJob(org.id)
      const fetchSpy = stiggAnswers(answer)

      const result = await runBatch([{ id: 'e1', body: { jobId, type: 'refreshUsage' } }], withStigg)
      expect(result.explicitAcks).toEqual(['e1'])
      expect(result.retryMessages).toEqual([])
      expect(fetchSpy).toHaveBeenCalledTimes(1)
      expect(await jobRow(jobId)).toMatchObject({
        status: 'succeeded',
        attempts: 1,
        error: null,
        result: { organizations: 1, billing: { failures: [{ organization: org.publicId, error }] } },
      })
      // The counts do not wait for billing.
      expect(await metricsOf(org.id)).toEqual(
        workspaceMetrics(workspace.id, { ACTIVE_ENDPOINTS: 1, MEMBERS: 0, API_TOKENS: 0 }),
      )
      expect(await totalsOf(org.id)).toEqual({ ACTIVE_ENDPOINTS: 1, ACTIVE_ACCOUNTS: 1, MEMBERS: 0, API_TOKENS: 0 })

      // The next refresh, once Stigg answers again, sends the same values.
      fetchSpy.mockImplementation(async () => stiggOk())
      const again = await orgRefreshJob(org.id)
      expect(
        (await runBatch([{ id: 'e2', body: { jobId: again, type: 'refreshUsage' } }], withStigg)).explicitAcks,
      ).toEqual(['e2'])
      expect(await jobRow(again)).toMatchObject({ status: 'succeeded', result: { billing: { failures: [] } } })
      expect(stiggCall(fetchSpy, 1).body.variables.input.usages).toEqual(
        stiggCall(fetchSpy, 0).body.variables.input.usages,
      )
    },
  )

  it('counts nothing and reports nothing for an organization deleted before its refresh ran', async () => {
    const { org } = await seedOrganization()
    const jobId = await orgRefreshJob(org.id)
    await db.delete(organizations).where(eq(organizations.id, org.id))
    const fetchSpy = vi.spyOn(globalThis, 'fetch')
    const result = await runBatch([{ id: 'gone', body: { jobId, type: 'refreshUsage' } }], withStigg)
    expect(result.explicitAcks).toEqual(['gone'])
    expect(fetchSpy).not.toHaveBeenCalled()
    const job = await jobRow(jobId)
    expect(job?.status).toBe('succeeded')
    expect(job?.result).toMatchObject({ organizations: 0, period: MONTH(), billing: { failures: [] }, pages: 1 })
    expect(await allMetricsOf(org.id)).toEqual([])
  })
})

describe('the nightly refresh of every organization', () => {
  it(`pages through all organizations, ${ORGANIZATIONS_PER_PAGE} at a time, in follow-up messages until every one is counted`, async () => {
    const seeded = []
    for (let i = 0; i < ORGANIZATIONS_PER_PAGE + 3; i++) seeded.push(await seedOrganization(`Nightly ${newPublicId()}`))
    // One of them with a second workspace and some traffic, so its figures are not all defaults.
    const busy = seeded.at(-1)!
    const busySecond = await addWorkspace(busy.org.id)
    await seedTraffic(busySecond.id, traffic('busy.example.test', 'GET /1', 'GET /one', 'GET /two'))

    const orgIds = (await db.select({ id: organizations.id }).from(organizations).orderBy(asc(organizations.id))).map(
      (o) => o.id,
    )
    const total = orgIds.length
    expect(total).toBeGreaterThan(ORGANIZATIONS_PER_PAGE)

    const job = prepareJob(deps(), null, 'refreshUsage')
    await job.insert
    expect(await jobRow(job.id)).toMatchObject({ organizationId: null, workspaceId: null })

    // The first page, delivered here: it stores where to go on and sends a follow-up message.
    const startedAt = new Date()
    const send = vi.spyOn(env.JOBS, 'send')
    const first = await runBatch([{ id: 'n1', body: { jobId: job.id, type: 'refreshUsage' } }])
    expect(first.explicitAcks).toEqual(['n1'])
    expect(send).toHaveBeenCalledWith({ jobId: job.id, type: 'refreshUsage' })
    const afterFirst = await jobRow(job.id)
    expect(afterFirst).toMatchObject({ status: 'running', leaseId: null, result: null })
    expect(afterFirst?.progress).toEqual({
      after: orgIds[ORGANIZATIONS_PER_PAGE - 1],
      organizations: ORGANIZATIONS_PER_PAGE,
      billingFailures: [],
      pages: 1,
      slowestPageMs: expect.any(Number),
    })
    // Exactly the first page's organizations are counted so far.
    const countedSoFar = await db
      .selectDistinct({ id: usageMetrics.organizationId })
      .from(usageMetrics)
      .where(and(eq(usageMetrics.periodStart, PERIOD()), gte(usageMetrics.recordedAt, startedAt)))
    expect(countedSoFar.map((r) => r.id).sort((a, b) => a - b)).toEqual(orgIds.slice(0, ORGANIZATIONS_PER_PAGE))

    // The real queue goes on with the follow-up messages.
    const done = await finishedJob(job.id)
    // A page shorter than a full one ends the job: a page count that divides evenly costs an empty last page.
    const pages = Math.floor(total / ORGANIZATIONS_PER_PAGE) + 1
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, error: null, progress: null })
    expect(done.result).toEqual({
      organizations: total,
      period: MONTH(),
      billing: 'not configured',
      pages,
      slowestPageMs: expect.any(Number),
    })

    // Every workspace of every organization has its four metrics for this month.
    const [{ n: workspaceCount }] = (await db.select({ n: count() }).from(workspaces)) as [{ n: number }]
    const [{ n: rowCount }] = (await db
      .select({ n: count() })
      .from(usageMetrics)
      .where(eq(usageMetrics.periodStart, PERIOD()))) as [{ n: number }]
    expect(rowCount).toBe(workspaceCount * 4)
    for (const { org } of seeded.slice(0, -1)) {
      expect(await totalsOf(org.id)).toEqual({ ACTIVE_ENDPOINTS: 0, ACTIVE_ACCOUNTS: 1, MEMBERS: 0, API_TOKENS: 0 })
    }
    expect(await metricsOf(busy.org.id)).toEqual([
      ...workspaceMetrics(busy.workspace.id, { ACTIVE_ENDPOINTS: 0, MEMBERS: 0, API_TOKENS: 0 }),
      ...workspaceMetrics(busySecond.id, { ACTIVE_ENDPOINTS: 3, MEMBERS: 0, API_TOKENS: 0 }),
    ])
    expect(await totalsOf(busy.org.id)).toEqual({ ACTIVE_ENDPOINTS: 3, ACTIVE_ACCOUNTS: 2, MEMBERS: 0, API_TOKENS: 0 })
  })
})
