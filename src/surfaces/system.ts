import { createRoute, z } from '@hono/zod-openapi'
import { sql } from 'drizzle-orm'
import { unavailable } from '../domain/errors'
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
    try {
      await c.var.deps.db.run(sql`SELECT 1`)
    } catch {
      throw unavailable('The database does not answer')
    }
    return c.json({ status: 'ok' as const }, 200)
  },
)
