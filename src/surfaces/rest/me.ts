import { createRoute, z } from '@hono/zod-openapi'
import type { Identity } from '../../domain/principal'
import { describeCurrentIdentity } from '../../domain/users'
import { principalOf } from '../../http/authenticate'
import { ContextHeaders, jsonResponse, secured } from '../../http/openapi'
import { problems } from '../../http/problem'
import { createRouter } from '../../http/router'
import { presentServiceAccount, presentUser, ServiceAccountSchema, UserSchema } from './present'

const CurrentIdentity = z
  .object({
    root: z.object({}).optional(),
    user: UserSchema.optional(),
    serviceAccount: ServiceAccountSchema.optional(),
  })
  .openapi('CurrentIdentity', { description: 'Exactly one member is present' })

const presentIdentity = (i: Identity): z.infer<typeof CurrentIdentity> => {
  if (i.kind === 'root') return { root: {} }
  if (i.kind === 'user') return { user: presentUser(i.user) }
  return { serviceAccount: presentServiceAccount(i.serviceAccount) }
}

export const me = createRouter().openapi(
  createRoute({
    method: 'get',
    path: '/me',
    operationId: 'getMe',
    tags: ['REST · Me'],
    summary: 'Get current user profile',
    description:
      'The identity behind the credential: exactly one of root, user or serviceAccount. Served from the principal cached for the credential: no database read.',
    ...secured(),
    request: { headers: ContextHeaders },
    responses: {
      200: jsonResponse(
        CurrentIdentity,
        'The information about the current identity is returned.',
        'application/json',
        {
          user: {
            id: 'A1B2C3D4E5',
            email: 'alice@example.com',
            displayName: 'Alice',
            createdAt: '2026-11-23T10:00:00.000Z',
            createdBy: 'A1B2C3D4E5',
            updatedAt: '2026-11-23T10:00:00.000Z',
            updatedBy: 'A1B2C3D4E5',
          },
        },
      ),
      ...problems(401, 403),
    },
  }),
  async (c) => c.json(presentIdentity(await describeCurrentIdentity(c.var.deps, principalOf(c))), 200),
)
