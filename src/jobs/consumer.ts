import { and, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm'
import { jobs } from '../db/schema'
import { auditInsert } from '../domain/audit'
import { checkStatement, failedCheckOf } from '../domain/commit'
import { createDeps, type Deps } from '../domain/context'
import { type Job, JobCannotSucceed, JobMessage, type JobStep } from '../domain/jobs'
import { HANDLERS } from './handlers'

export const DEAD_LETTER_QUEUE = 'iam-jobs-dlq'
/** wrangler.toml's `max_retries` for iam-jobs, plus the first delivery. */
export const MAX_DELIVERIES = 6
/** How long one delivery holds a job: longer than any page takes. */
export const LEASE_MS = 120_000

/** Exponential backoff between attempts, capped at ten minutes. */
const backoffSeconds = (attempts: number) => Math.min(600, 10 * 2 ** Math.max(0, attempts - 1))

const UNFINISHED = ['queued', 'running'] as const

/**
 * Runs queued jobs, one page per delivery. A delivery first takes the job's lease, so two
 * deliveries of one job never run at once; a job already finished is acknowledged untouched. A
 * page's writes are stored with the job's progress in one batch, and only while the lease is
 * still this delivery's; a job with more to do continues in a follow-up message. A failure is
 * retried with backoff, and after the last try the job is failed and the message dead-lettered.
 */
export const consumeJobs = async (batch: MessageBatch, env: Env, ctx: ExecutionContext) => {
  const deps = createDeps(env, undefined, (work) => ctx.waitUntil(work))
  for (const message of batch.messages) {
    const parsed = JobMessage.safeParse(message.body)
    if (!parsed.success) {
      await recordUnreadable(
        deps,
        batch.queue,
        message,
        parsed.error.issues.map((i) => i.path.join('.') || 'body'),
      )
      message.ack() // A message nobody can read must not loop.
    } else if (batch.queue === DEAD_LETTER_QUEUE) {
      await giveUp(deps, parsed.data.jobId, `Gave up after ${message.attempts} tries`)
      message.ack()
    } else {
      await runPage(deps, batch.queue, message, parsed.data)
    }
  }
}

const runPage = async (deps: Deps, queue: string, message: Message, body: JobMessage) => {
  const now = deps.now()
  const leaseId = crypto.randomUUID()
  const [job] = await deps.db
    .update(jobs)
    .set({
      status: 'running',
      leaseId,
      leaseUntil: new Date(now.getTime() + LEASE_MS),
      startedAt: sql`coalesce(${jobs.startedAt}, ${now.getTime()})`,
      // A first page or a retry is an attempt; a follow-up page is the same attempt going on.
      attempts: sql`${jobs.attempts} + (CASE WHEN ${jobs.progress} IS NULL OR ${message.attempts} > 1 THEN 1 ELSE 0 END)`,
    })
    .where(
      and(
        eq(jobs.id, body.jobId),
        eq(jobs.type, body.type),
        inArray(jobs.status, UNFINISHED),
        or(isNull(jobs.leaseUntil), lt(jobs.leaseUntil, now)),
      ),
    )
    .returning()
  if (!job) return leaseRefused(deps, queue, message, body)

  let step: JobStep
  const started = Date.now()
  try {
    step = await HANDLERS[body.type](deps, job, body)
  } catch (err) {
    return failAttempt(deps, message, job, leaseId, err)
  }
  const pageMs = Date.now() - started
  const run = job.progress as { pages?: number; slowestPageMs?: number } | null
  const pages = { pages: (run?.pages ?? 0) + 1, slowestPageMs: Math.max(run?.slowestPageMs ?? 0, pageMs) }
  const done = !step.progress
  try {
    await deps.db.batch([
      checkStatement(
        deps,
        sql`EXISTS (SELECT 1 FROM ${jobs} WHERE ${jobs.id} = ${job.id} AND ${jobs.leaseId} = ${leaseId})`,
        'lease',
      ),
      ...(step.writes ?? []),
      deps.db
        .update(jobs)
        .set({
          leaseId: null,
          leaseUntil: null,
          ...(done
            ? {
                status: 'succeeded',
                result: { ...step.result, ...pages },
                error: null,
                progress: null,
                finishedAt: deps.now(),
              }
            : { progress: { ...step.progress, ...pages } }),
        })
        .where(eq(jobs.id, job.id)),
      ...(done ? [finishedEvent(deps, job, 'success')] : []),
    ])
  } catch (err) {
    // Another delivery took the job over after this one's lease ran out: its page counts, not this one.
    if (failedCheckOf(err) === 'lease') return message.ack()
    return failAttempt(deps, message, job, leaseId, err)
  }
  if (!done) {
    try {
      await deps.env.JOBS.send({ jobId: job.id, type: body.type } satisfies JobMessage)
    } catch {
      // The progress is stored: the retried delivery goes on from it.
      return message.retry({ delaySeconds: backoffSeconds(message.attempts) })
    }
  }
  message.ack()
}

/** The job is finished, unknown, or held by another delivery (which then may still fail: look again later). */
const leaseRefused = async (deps: Deps, queue: string, message: Message, body: JobMessage) => {
  const [job] = await deps.db
    .select({ type: jobs.type, status: jobs.status, leaseUntil: jobs.leaseUntil })
    .from(jobs)
    .where(eq(jobs.id, body.jobId))
  if (!job || job.type !== body.type) {
    await recordUnreadable(deps, queue, message, ['jobId'])
    return message.ack()
  }
  if (job.status === 'running' && job.leaseUntil) {
    const wait = Math.ceil((job.leaseUntil.getTime() - deps.now().getTime()) / 1000) + 1
    return message.retry({ delaySeconds: Math.max(1, wait) })
  }
  message.ack()
}

/**
 * Records a failed attempt and retries it; after the last try, or when no retry can help, the job
 * is failed for good.
 */
const failAttempt = async (deps: Deps, message: Message, job: Job, leaseId: string, err: unknown) => {
  const error = String(err instanceof Error ? err.message : err).slice(0, 500)
  const hopeless = err instanceof JobCannotSucceed
  const last = hopeless || message.attempts >= MAX_DELIVERIES
  const held = and(eq(jobs.id, job.id), eq(jobs.leaseId, leaseId))
  await deps.db.batch([
    deps.db
      .update(jobs)
      .set({
        status: last ? 'failed' : 'queued',
        error,
        leaseId: null,
        leaseUntil: null,
        ...(last ? { finishedAt: deps.now() } : {}),
      })
      .where(held),
    ...(last ? [finishedEvent(deps, job, 'failed', error)] : []),
  ])
  if (hopeless) return message.ack()
  // On the last try this sends the message to the dead-letter queue.
  message.retry({ delaySeconds: backoffSeconds(message.attempts) })
}

/** The dead-letter queue's consumer: the job is failed, keeping the last error it had. */
const giveUp = async (deps: Deps, jobId: string, reason: string) => {
  const [job] = await deps.db
    .update(jobs)
    .set({
      status: 'failed',
      error: sql`coalesce(${jobs.error}, ${reason})`,
      finishedAt: deps.now(),
      leaseId: null,
      leaseUntil: null,
    })
    .where(and(eq(jobs.id, jobId), inArray(jobs.status, UNFINISHED)))
    .returning()
  if (job) await finishedEvent(deps, job, 'failed', job.error ?? reason)
}

/** The audit event of a job's end. */
const finishedEvent = (deps: Deps, job: Job, outcome: 'success' | 'failed', error?: string) =>
  auditInsert(deps, null, {
    action: 'runJob',
    actor: 'system',
    outcome,
    targetType: 'job',
    targetId: job.id,
    workspaceId: job.workspaceId,
    organizationId: job.organizationId,
    detail: { type: job.type, ...(error ? { error } : {}) },
  })

/**
 * A message that cannot be run (not a job message, or naming no such job) is recorded, never its
 * body: an email's body carries a secret link.
 */
const recordUnreadable = async (deps: Deps, queue: string, message: Message, problems: string[]) => {
  console.error(JSON.stringify({ level: 'error', queue, unreadable: message.id, problems }))
  await auditInsert(deps, null, {
    action: 'rejectJobMessage',
    actor: 'system',
    outcome: 'failed',
    targetType: 'message',
    targetId: message.id,
    workspaceId: null,
    organizationId: null,
    detail: { queue, problems },
  })
}
