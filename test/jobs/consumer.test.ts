import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { and, eq } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import worker from '../../src'
import { auditEvents, jobs, logins } from '../../src/db/schema'
import { prepareJob } from '../../src/domain/jobs'
import { PURGE_PAGE } from '../../src/domain/maintenance'
import { LEASE_MS, MAX_DELIVERIES } from '../../src/jobs/consumer'
import { HANDLERS } from '../../src/jobs/handlers'
import { db, deps, seedSignedIn } from '../support'
import { finishedJob, jobRow, runBatch } from '../support/queue'

afterEach(() => {
  vi.restoreAllMocks()
})

const queued = async (type: 'purgeExpired' | 'refreshUsage' = 'purgeExpired') => {
  const job = prepareJob(deps(), null, type)
  await job.insert
  return job.id
}

const expiredLogin = async (userId: number, id: string) => {
  const past = new Date(Date.now() - 86_400_000)
  await db.insert(logins).values({
    id,
    userId,
    deviceId: 'd',
    authTime: past,
    lastUsedAt: past,
    expiresAt: past,
    nonce: 'n',
  })
}

describe('job consumer', () => {
  it('runs a purge: expired logins go, live ones stay, and the job row says so', async () => {
    const { user } = await seedSignedIn('GUEST')
    await expiredLogin(user.id, 'EXPIRED001')
    const jobId = await queued()
    const result = await runBatch([{ id: 'm1', body: { jobId, type: 'purgeExpired' } }])
    expect(result.explicitAcks).toEqual(['m1'])
    expect(await jobRow(jobId)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      error: null,
      leaseId: null,
      result: { logins: 1, pages: 1 },
    })
    const remaining = await db.select().from(logins).where(eq(logins.userId, user.id))
    expect(remaining.map((l) => l.id)).not.toContain('EXPIRED001')
    expect(remaining).toHaveLength(1)
    const [event] = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'runJob'), eq(auditEvents.targetId, jobId)))
    expect(event).toMatchObject({ actorType: 'system', outcome: 'success', detail: { type: 'purgeExpired' } })
  })

  it('acknowledges a second delivery without running the job again', async () => {
    const jobId = await queued()
    await runBatch([{ id: 'a', body: { jobId, type: 'purgeExpired' } }])
    const spy = vi.spyOn(HANDLERS, 'purgeExpired')
    const again = await runBatch([{ id: 'b', body: { jobId, type: 'purgeExpired' }, attempts: 2 }])
    expect(again.explicitAcks).toEqual(['b'])
    expect(spy).not.toHaveBeenCalled()
    expect((await jobRow(jobId))?.attempts).toBe(1)
  })

  it('makes a delivery wait while another holds the lease, and lets it take over once the lease is over', async () => {
    const jobId = await queued()
    const held = new Date(Date.now() + 30_000)
    await db.update(jobs).set({ status: 'running', leaseId: 'other', leaseUntil: held }).where(eq(jobs.id, jobId))
    const spy = vi.spyOn(HANDLERS, 'purgeExpired')
    const waiting = await runBatch([{ id: 'w', body: { jobId, type: 'purgeExpired' } }])
    expect(waiting.explicitAcks).toEqual([])
    expect(waiting.retryMessages).toEqual([{ msgId: 'w' }])
    expect(waiting.delays.w).toBeGreaterThanOrEqual(29)
    expect(spy).not.toHaveBeenCalled()

    // The holder died: its lease ran out, so the next delivery runs the job.
    await db
      .update(jobs)
      .set({ leaseUntil: new Date(Date.now() - LEASE_MS) })
      .where(eq(jobs.id, jobId))
    const taken = await runBatch([{ id: 'w', body: { jobId, type: 'purgeExpired' }, attempts: 2 }])
    expect(taken.explicitAcks).toEqual(['w'])
    expect(await jobRow(jobId)).toMatchObject({ status: 'succeeded', leaseId: null })
  })

  it('discards the page of a delivery whose lease another delivery took over meanwhile', async () => {
    const { user } = await seedSignedIn('GUEST')
    await expiredLogin(user.id, 'KEPT-BY-LEASE')
    const jobId = await queued()
    const purge = HANDLERS.purgeExpired
    vi.spyOn(HANDLERS, 'purgeExpired').mockImplementation(async (d, job, message) => {
      const step = await purge(d, job, message)
      // While this page ran, its lease ran out and another delivery took the job.
      await db.update(jobs).set({ leaseId: 'usurper' }).where(eq(jobs.id, jobId))
      return step
    })
    const result = await runBatch([{ id: 'slow', body: { jobId, type: 'purgeExpired' } }])
    expect(result.explicitAcks).toEqual(['slow'])
    expect(await jobRow(jobId)).toMatchObject({ status: 'running', leaseId: 'usurper', result: null })
    expect(await db.select().from(auditEvents).where(eq(auditEvents.targetId, jobId))).toEqual([])
  })

  it('retries a failing job with growing backoff, then fails it and dead-letters the message after the last try', async () => {
    const jobId = await queued()
    vi.spyOn(HANDLERS, 'purgeExpired').mockRejectedValue(new Error('D1 is having a bad day'))
    const first = await runBatch([{ id: 'f', body: { jobId, type: 'purgeExpired' } }])
    const second = await runBatch([{ id: 'f', body: { jobId, type: 'purgeExpired' }, attempts: 2 }])
    expect(first.retryMessages).toEqual([{ msgId: 'f' }])
    expect([first.delays.f, second.delays.f]).toEqual([10, 20])
    expect(await jobRow(jobId)).toMatchObject({ status: 'queued', attempts: 2, error: 'D1 is having a bad day' })

    const last = await runBatch([{ id: 'f', body: { jobId, type: 'purgeExpired' }, attempts: MAX_DELIVERIES }])
    expect(last.retryMessages).toHaveLength(1) // the queue moves it to the dead-letter queue
    expect(await jobRow(jobId)).toMatchObject({ status: 'failed', attempts: 3, error: 'D1 is having a bad day' })

    const dead = await runBatch([{ id: 'f', body: { jobId, type: 'purgeExpired' }, attempts: 1 }], env, 'iam-jobs-dlq')
    expect(dead.explicitAcks).toEqual(['f'])
    expect(await jobRow(jobId)).toMatchObject({ status: 'failed', error: 'D1 is having a bad day' })
    const events = await db.select().from(auditEvents).where(eq(auditEvents.targetId, jobId))
    expect(events).toEqual([expect.objectContaining({ action: 'runJob', outcome: 'failed' })])
  })

  it('marks a job failed when its message reaches the dead-letter queue, saying why', async () => {
    const jobId = await queued()
    const result = await runBatch(
      [{ id: 'dead', body: { jobId, type: 'purgeExpired' }, attempts: 6 }],
      env,
      'iam-jobs-dlq',
    )
    expect(result.explicitAcks).toEqual(['dead'])
    expect(await jobRow(jobId)).toMatchObject({ status: 'failed', error: 'Gave up after 6 tries' })
  })

  it('acknowledges and records poison messages instead of retrying them forever', async () => {
    const jobId = await queued()
    const result = await runBatch([
      { id: 'poison', body: { nonsense: true } },
      { id: 'wrong-type', body: { jobId, type: 'refreshUsage' } },
      { id: 'no-such-job', body: { jobId: 'no-such-job', type: 'purgeExpired' } },
    ])
    expect(result.explicitAcks.sort()).toEqual(['no-such-job', 'poison', 'wrong-type'])
    expect(result.retryMessages).toEqual([])
    const recorded = await db.select().from(auditEvents).where(eq(auditEvents.action, 'rejectJobMessage'))
    expect(recorded.map((e) => e.targetId).sort()).toEqual(['no-such-job', 'poison', 'wrong-type'])
    expect(recorded.find((e) => e.targetId === 'poison')?.detail).toEqual({
      queue: 'iam-jobs',
      problems: ['jobId', 'type'],
    })
    expect((await jobRow(jobId))?.status).toBe('queued')
  })

  it('works in pages: stores the progress, goes on in a follow-up message, and counts one attempt', async () => {
    const { user } = await seedSignedIn('GUEST')
    const ids = Array.from({ length: PURGE_PAGE + 3 }, (_, i) => `PAGED-${i}`)
    for (let i = 0; i < ids.length; i += 10) {
      const past = new Date(Date.now() - 86_400_000)
      await db.insert(logins).values(
        ids.slice(i, i + 10).map((id) => ({
          id,
          userId: user.id,
          deviceId: 'd',
          authTime: past,
          lastUsedAt: past,
          expiresAt: past,
          nonce: 'n',
        })),
      )
    }
    const jobId = await queued()
    const send = vi.spyOn(env.JOBS, 'send')
    const first = await runBatch([{ id: 'p1', body: { jobId, type: 'purgeExpired' } }])
    expect(first.explicitAcks).toEqual(['p1'])
    expect(send).toHaveBeenCalledWith({ jobId, type: 'purgeExpired' })
    expect(await jobRow(jobId)).toMatchObject({
      status: 'running',
      leaseId: null,
      progress: { logins: PURGE_PAGE, pages: 1 },
    })
    // The follow-up message is on the real queue: the Worker's consumer finishes the job.
    expect(await finishedJob(jobId)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { logins: ids.length, pages: 2 },
    })
  })

  it('the daily cron enqueues a purge and a usage refresh of every organization, which the queue runs', async () => {
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ cron: '17 3 * * *' }), env, ctx)
    await waitOnExecutionContext(ctx)
    const nightly = async () =>
      (await db.select().from(jobs)).filter((j) => j.createdBy === null && j.status === 'succeeded')
    await vi.waitUntil(
      async () => {
        const types = (await nightly()).map((j) => j.type)
        return types.includes('purgeExpired') && types.includes('refreshUsage')
      },
      { timeout: 10_000, interval: 50 },
    )
    const usage = (await nightly()).find((j) => j.type === 'refreshUsage')
    expect(usage).toMatchObject({ organizationId: null, workspaceId: null })
    expect(usage?.result).toMatchObject({ organizations: expect.any(Number) })
  })
})
