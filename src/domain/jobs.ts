import { eq } from 'drizzle-orm'
import { jobs } from '../db/schema'
import type { EmailMessage, JobMessage, JobType } from '../jobs/messages'
import type { Deps } from './context'
import { unavailable } from './errors'
import { actorIdOf, type Principal } from './principal'
import type { Affected } from './principals'

export type Job = typeof jobs.$inferSelect

/**
 * A background job: its row (insert it with the change that starts it) and the message that
 * hands it to the queue once the row is stored.
 */
export const prepareJob = (
  deps: Deps,
  p: Principal | null,
  type: JobType,
  options: {
    payload?: Record<string, unknown>
    workspaceId?: number | null
    organizationId?: number | null
    /** Sent with the message only, never stored. */
    email?: EmailMessage
  } = {},
) => {
  const id = crypto.randomUUID()
  const insert = deps.db.insert(jobs).values({
    id,
    type,
    payload: options.payload ?? {},
    workspaceId: options.workspaceId ?? p?.workspace?.id ?? null,
    organizationId: options.organizationId ?? p?.workspace?.organizationId ?? null,
    createdBy: actorIdOf(p),
  })
  const message: JobMessage = { jobId: id, type, ...(options.email ? { email: options.email } : {}) }
  const send = async () => {
    try {
      await deps.env.JOBS.send(message)
    } catch {
      await deps.db.update(jobs).set({ status: 'failed', error: 'could not be queued' }).where(eq(jobs.id, id))
      throw unavailable(`The ${type} job could not be queued; try again`)
    }
  }
  return { id, insert, send }
}

export const enqueue = async (deps: Deps, p: Principal | null, type: JobType) => {
  const job = prepareJob(deps, p, type)
  await job.insert
  await job.send()
  return job.id
}

/** Rewrites the principal copies of a change too large to rewrite within its request. */
export const enqueueCopySync = async (deps: Deps, affects: Affected) => {
  const job = prepareJob(deps, null, 'syncPrincipals', { payload: { affects } })
  await job.insert
  await job.send()
}
