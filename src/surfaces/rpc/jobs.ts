import { z } from '@hono/zod-openapi'
import { applyAccessType, refreshUsageDataForOrg, resetCollectionAccessTypes } from '../../domain/background'
import { principalOf } from '../../http/authenticate'
import { createRouter } from '../../http/router'
import { rpcAction } from './action'

const JobStarted = z
  .object({ jobId: z.string().openapi({ description: 'The background job; its row records how it went' }) })
  .openapi('JobStarted')

const RESET_MESSAGE =
  'Reset started in the background. This may take a few minutes. Refresh the inventory page to see updated access types.'

export const jobs = createRouter()
  .openapi(
    rpcAction({
      name: 'applyAccessType',
      tag: 'Background jobs',
      summary: "Recompute the workspace's component access types from its private CIDR and partner IP lists",
      response: JobStarted,
      description: 'Background access-type calculation job started.',
    }),
    async (c) => c.json({ jobId: await applyAccessType(c.var.deps, principalOf(c)) }, 200),
  )
  .openapi(
    rpcAction({
      name: 'resetCollectionAccessTypes',
      tag: 'Background jobs',
      summary: "Recompute each collection's access type",
      response: z
        .object({ response: z.object({ started: z.boolean(), message: z.string() }), jobId: z.string() })
        .openapi('ResetStarted'),
      description: 'Background reset job started.',
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
      response: JobStarted,
      description: 'Background usage refresh job enqueued.',
    }),
    async (c) => c.json({ jobId: await refreshUsageDataForOrg(c.var.deps, principalOf(c)) }, 200),
  )
