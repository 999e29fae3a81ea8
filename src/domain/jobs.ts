import { eq } from 'drizzle-orm'
import { jobs } from '../db/schema'
import type { JobMessage, JobType } from '../jobs/messages'
import type { Deps } from './context'
import { unavailable } from './errors'
import { actorIdOf, type Principal } from './principal'

export type Job = typeof jobs.$inferSelect

/**
 * A background job: its row (insert it with the change that starts it) and the message that
 * hands it to the queue once the row is stored.
 */
export const prepareJob = (
  deps: Deps,
  p: Principal | null,
  type: JobType,
  payload: Record<string, unknown> = {},
  scope: { workspaceId?: number | null; organizationId?: number | null } = {},
) => {
  const id = crypto.randomUUID()
  const insert = deps.db.insert(jobs).values({
    id,
    type,
    payload,
    workspaceId: scope.workspaceId ?? p?.workspace?.id ?? null,
    organizationId: scope.organizationId ?? p?.workspace?.organizationId ?? null,
    createdBy: actorIdOf(p),
  })
  const send = async () => {
    try {
      await deps.env.JOBS.send({ jobId: id, type } satisfies JobMessage)
    } catch {
      await deps.db.update(jobs).set({ status: 'failed', error: 'could not be queued' }).where(eq(jobs.id, id))
      throw unavailable(`The ${type} job could not be queued; try again`)
    }
  }
  return { id, insert, send }
}

/** Stores and queues a job on its own. */
export const enqueue = async (deps: Deps, p: Principal | null, type: JobType, payload?: Record<string, unknown>) => {
  const job = prepareJob(deps, p, type, payload)
  await job.insert
  await job.send()
  return job.id
}
