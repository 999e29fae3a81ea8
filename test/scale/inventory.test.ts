import { eq, sql } from 'drizzle-orm'
import { describe, expect, it, vi } from 'vitest'
import { apiCollections, apiComponents, jobs } from '../../src/db/schema'
import { MAX_SAMPLES_PER_UPLOAD } from '../../src/domain/inventory'
import { AGGREGATE_PAGE, CLASSIFY_PAGE } from '../../src/domain/inventory-jobs'
import { db, post, seedSignedIn, seedTraffic } from '../support'

/** The size the issue asks a job to finish: one workspace with this many components. */
const COMPONENTS = 100_000
const HOSTS = 4

const finished = (jobId: string) =>
  vi.waitUntil(
    async () => {
      const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId))
      if (job?.status === 'failed') throw new Error(`job failed: ${job.error}`)
      return job?.status === 'succeeded' ? job : false
    },
    { timeout: 240_000, interval: 200 },
  )

describe(`a workspace with ${COMPONENTS.toLocaleString('en')} components`, () => {
  it('classifies every component and settles every collection, page by page through the queue', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const started = Date.now()
    // Uploaded as clients upload it: 100 samples per call, every fourth endpoint seen from outside.
    for (let first = 0; first < COMPONENTS; first += MAX_SAMPLES_PER_UPLOAD) {
      await seedTraffic(
        workspace.id,
        Array.from({ length: MAX_SAMPLES_PER_UPLOAD }, (_, k) => {
          const n = first + k
          return {
            method: 'GET',
            url: `https://h${n % HOSTS}.example.com/r${n}/items`,
            ip: n % 4 === 0 ? '203.0.113.9' : '10.1.2.3',
            destIp: '10.9.9.9',
            direction: 1 as const,
          }
        }),
      )
    }
    const uploadMs = Date.now() - started
    const [{ count }] = (await db
      .select({ count: sql<number>`count(*)` })
      .from(apiComponents)
      .where(eq(apiComponents.workspaceId, workspace.id))) as [{ count: number }]
    expect(count).toBe(COMPONENTS)

    expect((await post('/api/updatePrivateCidrIps', { privateCidrList: ['10.0.0.0/8'] }, headers)).status).toBe(200)
    const apply = await (await post('/api/applyAccessType', {}, headers)).json<{ jobId: string }>()
    const applied = await finished(apply.jobId)
    expect(applied.result).toMatchObject({
      components: COMPONENTS,
      changed: COMPONENTS,
      pages: Math.ceil(COMPONENTS / CLASSIFY_PAGE) + (COMPONENTS % CLASSIFY_PAGE === 0 ? 1 : 0),
    })
    const byType = await db
      .select({ types: apiComponents.accessTypes, n: sql<number>`count(*)` })
      .from(apiComponents)
      .where(eq(apiComponents.workspaceId, workspace.id))
      .groupBy(apiComponents.accessTypes)
    expect(Object.fromEntries(byType.map((r) => [JSON.stringify(r.types), r.n]))).toEqual({
      '["PUBLIC"]': COMPONENTS / 4,
      '["PRIVATE"]': (COMPONENTS * 3) / 4,
    })

    const reset = await (await post('/api/resetCollectionAccessTypes', {}, headers)).json<{ jobId: string }>()
    const settled = await finished(reset.jobId)
    expect(settled.result).toMatchObject({ collections: HOSTS, internal: 1, thirdParty: HOSTS - 1 })
    expect((settled.result as { pages: number }).pages).toBe(Math.ceil(COMPONENTS / AGGREGATE_PAGE) + 1)
    const collections = await db
      .select({ host: apiCollections.hostName, accessType: apiCollections.accessType })
      .from(apiCollections)
      .where(eq(apiCollections.workspaceId, workspace.id))
    // Host 0 holds every fourth endpoint, all public: Internal (the original's naming); the rest Third party.
    expect(Object.fromEntries(collections.map((c) => [c.host, c.accessType]))).toEqual({
      'h0.example.com': 'Internal',
      'h1.example.com': 'Third party',
      'h2.example.com': 'Third party',
      'h3.example.com': 'Third party',
    })

    // What the closing note reports: how long each page took on this machine.
    console.info(
      JSON.stringify({
        components: COMPONENTS,
        uploadMs,
        apply: applied.result,
        applyMs: Number(applied.finishedAt) - Number(applied.startedAt),
        reset: settled.result,
        resetMs: Number(settled.finishedAt) - Number(settled.startedAt),
      }),
    )
  }, 600_000)
})
