import { createRoute, z } from '@hono/zod-openapi'
import { checkDatabase } from '../domain/context'
import { jsonResponse } from '../http/openapi'
import { createRouter } from '../http/router'
import { problems } from './rest/render'

export const system = createRouter().openapi(
  createRoute({
    method: 'get',
    path: '/health',
    tags: ['System'],
    summary: 'Liveness and database reachability',
    responses: {
      200: jsonResponse(z.object({ status: z.literal('ok') }).openapi('Health'), 'The Worker and D1 answer'),
      ...problems(503),
    },
  }),
  async (c) => {
    await checkDatabase(c.var.deps)
    return c.json({ status: 'ok' as const }, 200)
  },
)
