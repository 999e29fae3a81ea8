import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { eq } from 'drizzle-orm'
import { vi } from 'vitest'
import worker from '../../src'
import { jobs } from '../../src/db/schema'
import { db } from '.'

/** A message of a batch: `attempts` is how many deliveries it has had, this one included (1 by default). */
export type BatchMessage = { id: string; body: unknown; attempts?: number }

/**
 * Hands a batch to the Worker's queue handler, as the queue does, and reports what it acked and
 * retried, with the delay asked for each retry (which the queue result leaves out).
 */
export const runBatch = async (messages: BatchMessage[], runEnv: Env = env, queue = 'iam-jobs') => {
  const batch = createMessageBatch(
    queue,
    messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })),
  )
  const delays: Record<string, number | undefined> = {}
  for (const message of batch.messages) {
    const retry = message.retry.bind(message)
    message.retry = (options) => {
      delays[message.id] = options?.delaySeconds
      retry(options)
    }
  }
  const ctx = createExecutionContext()
  await worker.queue(batch, runEnv, ctx)
  return { ...(await getQueueResult(batch, ctx)), delays }
}

export const jobRow = async (jobId: string) => (await db.select().from(jobs).where(eq(jobs.id, jobId)))[0]

/** The job once the real queue has finished it (succeeded or failed). */
export const finishedJob = async (jobId: string) => {
  await vi.waitUntil(
    async () => {
      const status = (await jobRow(jobId))?.status
      return status === 'succeeded' || status === 'failed'
    },
    { timeout: 10_000, interval: 50 },
  )
  return (await jobRow(jobId))!
}
