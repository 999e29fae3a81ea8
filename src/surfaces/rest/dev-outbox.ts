import { z } from '@hono/zod-openapi'
import { notFound } from '../../domain/errors'
import { readOutbox } from '../../domain/outbox'
import { principalOf } from '../../http/authenticate'
import { createRouter } from '../../http/router'
import { restRoute, Timestamp } from './route'

const route = restRoute({
  method: 'get',
  path: '/dev/outbox',
  operationId: 'readDevOutbox',
  tag: 'Development',
  summary: 'Read the development outbox',
  description:
    'Only where emails go to the local outbox (EMAIL_OUTBOX=true, as `npm run dev` sets up), and only for the root token: the emails that would have been sent, newest first, links included. Elsewhere this route does not exist.',
  query: z.object({
    to: z.string().max(320).optional().openapi({ format: 'email', description: 'Only emails to this address' }),
  }),
  status: 200,
  response: z
    .object({
      items: z.array(
        z.object({ to: z.string(), subject: z.string(), text: z.string(), html: z.string(), createdAt: Timestamp }),
      ),
    })
    .openapi('Outbox'),
  example: {
    items: [
      {
        to: 'bob@example.com',
        subject: 'You are invited to Acme',
        text: 'You have been invited…',
        html: '<p>You have been invited…</p>',
        createdAt: '2026-12-03T09:00:00.000Z',
      },
    ],
  },
  errors: [403, 404],
})

export const devOutbox = createRouter()

// Without the outbox the route does not exist: 404 before anything asks for credentials.
devOutbox.use('/dev/outbox', async (c, next) => {
  if (c.env.EMAIL_OUTBOX !== 'true') throw notFound(`No route for ${c.req.method} ${c.req.path}`)
  await next()
})

devOutbox.openapi(route, async (c) => {
  const emails = await readOutbox(c.var.deps, principalOf(c), c.req.valid('query').to)
  const items = emails.map((e) => ({
    to: e.to,
    subject: e.subject,
    text: e.text,
    html: e.html ?? '',
    createdAt: e.createdAt.toISOString(),
  }))
  return c.json({ items }, 200)
})
