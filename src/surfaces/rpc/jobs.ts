import { z } from '@hono/zod-openapi'
import { applyAccessTypes, refreshUsage, resetCollectionAccessTypes } from '../../domain/background'
import { readJob } from '../../domain/jobs'
import { principalOf } from '../../http/authenticate'
import { createRouter } from '../../http/router'
import { rpcAction } from './action'

const JobStarted = z
  .object({ jobId: z.string().openapi({ description: 'The background job; its row records how it went' }) })
  .openapi('JobStarted')

const RESET_MESSAGE =
  'Reset started in the background. This may take a few minutes. Refresh the inventory page to see updated access types.'

const JOB_ID = '7f3c1b2e-5d4a-4c3b-9a8f-1e2d3c4b5a69'

const Job = z
  .object({
    id: z.string(),
    type: z.string(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    result: z.record(z.string(), z.unknown()).nullable(),
    createdAt: z.number().int().openapi({ description: 'Epoch milliseconds' }),
    finishedAt: z.number().int().nullable().openapi({ description: 'Epoch milliseconds; null until it ends' }),
  })
  .openapi('Job')

export const jobs = createRouter()
  .openapi(
    rpcAction({
      name: 'applyAccessType',
      tag: 'Background jobs',
      summary: "Recompute the workspace's component access types from its private CIDR and partner IP lists",
      description: 'ADMIN only (also BURP and CICD tokens). Answers at once; the job runs on the queue.',
      response: JobStarted,
      example: { jobId: JOB_ID },
      answers: 'Background access-type calculation job started.',
      errors: [403, 503],
    }),
    async (c) => c.json({ jobId: await applyAccessTypes(c.var.deps, principalOf(c)) }, 200),
  )
  .openapi(
    rpcAction({
      name: 'resetCollectionAccessTypes',
      tag: 'Background jobs',
      summary: "Recompute each collection's access type",
      description: 'ADMIN, MEMBER, THREAT_ENGINEER and THREAT_VIEWER, on plans with API_COLLECTIONS.',
      response: z
        .object({ response: z.object({ started: z.boolean(), message: z.string() }), jobId: z.string() })
        .openapi('ResetStarted'),
      example: { response: { started: true, message: RESET_MESSAGE }, jobId: JOB_ID },
      answers: 'Background reset job started.',
      errors: [403, 503],
    }),
    async (c) => {
      const jobId = await resetCollectionAccessTypes(c.var.deps, principalOf(c))
      return c.json({ response: { started: true, message: RESET_MESSAGE }, jobId }, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'refreshUsageDataForOrg',
      tag: 'Background jobs',
      summary: 'Recompute the usage metrics of every workspace of the organisation',
      description: 'ADMIN and DEVELOPER (also CICD tokens).',
      response: JobStarted,
      example: { jobId: JOB_ID },
      answers: 'Background usage refresh job enqueued.',
      errors: [403, 503],
    }),
    async (c) => c.json({ jobId: await refreshUsage(c.var.deps, principalOf(c)) }, 200),
  )
  .openapi(
    rpcAction({
      name: 'fetchJobStatus',
      tag: 'Background jobs',
      summary: 'What became of a background job of the workspace',
      description:
        "ADMIN only. queued: waiting for its first or next try; running; succeeded, with its result; failed, after its last try, with the last error. Another workspace's job is not found.",
      body: z.object({ jobId: z.string().max(64) }).openapi({ example: { jobId: JOB_ID } }),
      response: z.object({ job: Job }).openapi('JobStatus'),
      example: {
        job: {
          id: JOB_ID,
          type: 'applyAccessType',
          status: 'succeeded',
          attempts: 1,
          lastError: null,
          result: { components: 1200, changed: 37, pages: 3, slowestPageMs: 180 },
          createdAt: 1764748800000,
          finishedAt: 1764748803000,
        },
      },
      answers: 'The job',
      errors: [403, 404],
    }),
    async (c) => {
      const job = await readJob(c.var.deps, principalOf(c), c.req.valid('json').jobId)
      return c.json(
        { job: { ...job, createdAt: job.createdAt.getTime(), finishedAt: job.finishedAt?.getTime() ?? null } },
        200,
      )
    },
  )
