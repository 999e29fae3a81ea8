import { createRoute, z } from '@hono/zod-openapi'
import { checkDatabase } from '../domain/context'
import { jsonResponse } from '../http/openapi'
import { problems, renderProblem } from '../http/problem'
import { createRouter } from '../http/router'
import type { Surface } from '../http/surface'

export const system: Surface = {
  name: 'system',
  router: createRouter().openapi(
    createRoute({
      method: 'get',
      path: '/health',
      operationId: 'health',
      tags: ['System'],
      summary: 'Liveness and database reachability',
      description: 'No credentials needed. 503 when D1 does not answer or the deployment is misconfigured.',
      responses: {
        200: jsonResponse(
          z.object({ status: z.literal('ok') }).openapi('Health'),
          'The Worker and D1 answer',
          'application/json',
          {
            status: 'ok',
          },
        ),
        ...problems(503),
      },
    }),
    async (c) => {
      await checkDatabase(c.var.deps)
      return c.json({ status: 'ok' as const }, 200)
    },
  ),
  prefixes: ['/health'],
  render: renderProblem,
}
