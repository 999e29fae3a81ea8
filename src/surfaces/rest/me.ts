import { z } from '@hono/zod-openapi'
import type { Identity } from '../../domain/principal'
import { describeCurrentIdentity, updateOwnProfile } from '../../domain/profile'
import { principalOf } from '../../http/authenticate'
import { createRouter } from '../../http/router'
import {
  ProfileNames,
  presentServiceAccount,
  presentUser,
  ServiceAccountSchema,
  USER_EXAMPLE,
  UserSchema,
} from './present'
import { restRoute } from './route'

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

/** The fields a user may change of their own profile; anything else is refused, not ignored. */
const ProfileChange = z
  .object({
    email: z.string().max(320).optional().openapi({ format: 'email', description: 'One of your verified addresses' }),
    ...ProfileNames,
  })
  .strict()
  .openapi({ example: { givenName: 'Alice', familyName: 'Smith', displayName: 'Alice S.' } })

export const me = createRouter()
  .openapi(
    restRoute({
      method: 'get',
      path: '/me',
      operationId: 'getMe',
      tag: 'Me',
      summary: 'Get current user profile',
      description:
        'The identity behind the credential: exactly one of root, user or serviceAccount. Served from the principal cached for the credential: no database read.',
      status: 200,
      response: CurrentIdentity,
      example: { user: USER_EXAMPLE },
      errors: [403],
    }),
    async (c) => c.json(presentIdentity(await describeCurrentIdentity(c.var.deps, principalOf(c))), 200),
  )
  .openapi(
    restRoute({
      method: 'patch',
      path: '/me',
      operationId: 'updateMe',
      tag: 'Me',
      summary: 'Update my profile',
      description:
        'Only email, givenName, familyName and displayName; any other field is a 400 and changes nothing. `email` may only be set to one of your verified addresses (see /me/emails). An empty name clears it.',
      body: ProfileChange,
      status: 200,
      response: CurrentIdentity,
      example: { user: USER_EXAMPLE },
      errors: [403],
    }),
    async (c) =>
      c.json({ user: presentUser(await updateOwnProfile(c.var.deps, principalOf(c), c.req.valid('json'))) }, 200),
  )
