import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { eq } from 'drizzle-orm'
import { describe, expect, it, vi } from 'vitest'
import worker from '../../src'
import { jobs, logins } from '../../src/db/schema'
import { prepareJob } from '../../src/domain/jobs'
import { db, deps, seedSignedIn } from '../support'

const queued = async () => {
  const job = prepareJob(deps(), null, 'purgeExpired')
  await job.insert
  return job.id
}

const run = async (queue: string, messages: { id: string; body: unknown; attempts?: number }[]) => {
  const batch = createMessageBatch(
    queue,
    messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })),
  )
  const ctx = createExecutionContext()
  await worker.queue(batch, env, ctx)
  return getQueueResult(batch, ctx)
}

describe('job consumer', () => {
  it('runs a purge: expired logins go, live ones stay, and the job row says so', async () => {
    const { user } = await seedSignedIn('GUEST')
    const now = Date.now()
    await db.insert(logins).values({
      id: 'EXPIRED001',
      userId: user.id,
      deviceId: 'd',
      authTime: new Date(now - 2 * 86_400_000),
      lastUsedAt: new Date(now - 2 * 86_400_000),
      expiresAt: new Date(now - 86_400_000),
      nonce: 'n',
    })
    const jobId = await queued()
    const result = await run('iam-jobs', [{ id: 'm1', body: { jobId, type: 'purgeExpired' } }])
    expect(result.explicitAcks).toEqual(['m1'])
    const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId))
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1, error: null, result: { logins: 1 } })
    const remaining = await db.select().from(logins).where(eq(logins.userId, user.id))
    expect(remaining.map((l) => l.id)).not.toContain('EXPIRED001')
    expect(remaining).toHaveLength(1)
  })

  it('acknowledges a second delivery without running the job again', async () => {
    const jobId = await queued()
    await run('iam-jobs', [{ id: 'a', body: { jobId, type: 'purgeExpired' } }])
    const again = await run('iam-jobs', [{ id: 'b', body: { jobId, type: 'purgeExpired' } }])
    expect(again.explicitAcks).toEqual(['b'])
    const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId))
    expect(job?.attempts).toBe(1)
  })

  it('acknowledges unreadable messages instead of retrying them forever', async () => {
    const result = await run('iam-jobs', [{ id: 'poison', body: { nonsense: true } }])
    expect(result.explicitAcks).toEqual(['poison'])
    expect(result.retryMessages).toEqual([])
  })

  it('marks a job failed when it reaches the dead-letter queue', async () => {
    const jobId = await queued()
    const result = await run('iam-jobs-dlq', [{ id: 'dead', body: { jobId, type: 'purgeExpired' }, attempts: 6 }])
    expect(result.explicitAcks).toEqual(['dead'])
    const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId))
    expect(job?.status).toBe('failed')
  })

  it('the daily cron enqueues a purge that the queue delivers and runs', async () => {
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ cron: '17 3 * * *' }), env, ctx)
    await waitOnExecutionContext(ctx)
    await vi.waitUntil(
      async () => {
        const rows = await db.select().from(jobs).where(eq(jobs.type, 'purgeExpired'))
        return rows.some((r) => r.createdBy === null && r.status === 'succeeded' && r.startedAt !== null)
      },
      { timeout: 5000, interval: 50 },
    )
  })
})
