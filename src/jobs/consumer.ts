import { and, eq, notInArray, sql } from 'drizzle-orm'
import { jobs } from '../db/schema'
import { createDeps } from '../domain/context'
import { HANDLERS, RECEIVE_ONLY } from './handlers'
import { JobMessage } from './messages'

export const DEAD_LETTER_QUEUE = 'iam-jobs-dlq'

/** Exponential backoff between attempts, capped at ten minutes. */
const backoffSeconds = (attempts: number) => Math.min(600, 10 * 2 ** Math.max(0, attempts - 1))

/**
 * Runs queued jobs. A job already finished is acknowledged without running again, so a message
 * delivered twice changes nothing; a failure is retried with backoff, and after the last retry
 * the dead-letter queue's consumer marks the job failed.
 */
export const consumeJobs = async (batch: MessageBatch, env: Env, ctx: ExecutionContext) => {
  const deps = createDeps(env, undefined, (work) => ctx.waitUntil(work))
  for (const message of batch.messages) {
    const parsed = JobMessage.safeParse(message.body)
    if (!parsed.success) {
      // Only the message id: a body can carry an email with a secret link.
      console.error(JSON.stringify({ level: 'error', queue: batch.queue, unreadable: message.id }))
      message.ack() // A message nobody can read must not loop.
      continue
    }
    const { jobId, type } = parsed.data
    const unfinished = and(eq(jobs.id, jobId), notInArray(jobs.status, ['succeeded', 'received']))
    if (batch.queue === DEAD_LETTER_QUEUE) {
      await deps.db.update(jobs).set({ status: 'failed', finishedAt: deps.now() }).where(unfinished)
      message.ack()
      continue
    }
    const [job] = await deps.db
      .update(jobs)
      .set({ status: 'running', startedAt: deps.now(), attempts: sql`${jobs.attempts} + 1` })
      .where(unfinished)
      .returning()
    if (!job) {
      message.ack() // Finished already, or never stored.
      continue
    }
    try {
      const result = await HANDLERS[type](deps, job, parsed.data)
      const status = RECEIVE_ONLY.has(type) ? 'received' : 'succeeded'
      await deps.db.update(jobs).set({ status, error: null, finishedAt: deps.now(), result }).where(eq(jobs.id, jobId))
      message.ack()
    } catch (err) {
      await deps.db
        .update(jobs)
        .set({ status: 'queued', error: String(err).slice(0, 500) })
        .where(eq(jobs.id, jobId))
      message.retry({ delaySeconds: backoffSeconds(message.attempts) })
    }
  }
}
