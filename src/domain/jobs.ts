import { and, eq } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { z } from 'zod'
import { jobs } from '../db/schema'
import { authorizeIn } from './authorize'
import type { Deps } from './context'
import { notFound, unavailable } from './errors'
import { actorIdOf, type Principal } from './principal'
import type { Affected } from './principals'

/** The jobs the queue runs. Each message names its job row; the row holds the payload. */
export const JOB_TYPES = [
  'purgeExpired',
  'sendEmail',
  'applyAccessType',
  'resetCollectionAccessTypes',
  'refreshUsage',
  'syncPrincipals',
] as const
export type JobType = (typeof JOB_TYPES)[number]

/** An email travels in the message, not in the job row, which would keep its links at rest. */
export const EmailMessage = z.object({ to: z.string(), subject: z.string(), text: z.string() })
export type EmailMessage = z.infer<typeof EmailMessage>

export const JobMessage = z.object({
  jobId: z.string().min(1),
  type: z.enum(JOB_TYPES),
  email: EmailMessage.optional(),
})
export type JobMessage = z.infer<typeof JobMessage>

export type Job = typeof jobs.$inferSelect

/** A failure no retry can mend (a provider refusing the request itself): the job fails at once. */
export class JobCannotSucceed extends Error {}

/**
 * One page of a job's work. Its writes are stored together with the job's progress, in one batch;
 * with `progress` the job goes on in a follow-up message from there, without it the job is done
 * and `result` is kept on its row.
 */
export type JobStep = {
  writes?: BatchItem<'sqlite'>[]
  progress?: Record<string, unknown>
  result?: Record<string, unknown>
}

/** What a job type does with one delivery: reads its row (payload, progress) and does one page. */
export type JobRun = (deps: Deps, job: Job, message: JobMessage) => Promise<JobStep>

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
      await deps.db
        .update(jobs)
        .set({ status: 'failed', error: 'could not be queued', finishedAt: deps.now() })
        .where(eq(jobs.id, id))
      throw unavailable(`The ${type} job could not be queued; try again`)
    }
  }
  return { id, insert, send }
}

export const enqueue = async (deps: Deps, p: Principal | null, type: JobType, payload?: Record<string, unknown>) => {
  const job = prepareJob(deps, p, type, { payload })
  await job.insert
  await job.send()
  return job.id
}

/** Rewrites the principal copies of a change too large to rewrite within its request. */
export const enqueueCopySync = (deps: Deps, affects: Affected) => enqueue(deps, null, 'syncPrincipals', { affects })

/** A job of the caller's workspace, as its admins see it; another workspace's job is not found. */
export const readJob = async (deps: Deps, p: Principal, jobId: string) => {
  const ws = await authorizeIn(deps, p, 'readJob')
  const [job] = await deps.db
    .select()
    .from(jobs)
    .where(and(eq(jobs.id, jobId), eq(jobs.workspaceId, ws.id)))
  if (!job) throw notFound('Job not found')
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    attempts: job.attempts,
    lastError: job.error,
    result: job.result,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
  }
}
