import { z } from '@hono/zod-openapi'
import { type Address, addOwnEmail, listOwnEmails } from '../../domain/profile'
import { principalOf } from '../../http/authenticate'
import { EmailAddress } from '../../http/openapi'
import { markerQuery } from '../../http/query'
import { createRouter } from '../../http/router'
import { defined, presentPage } from './present'
import { ListOf, ResourceId, restRoute, Timestamp } from './route'

const UserEmail = z
  .object({
    userId: ResourceId,
    email: z.string().openapi({ format: 'email' }),
    verifiedAt: Timestamp.optional().openapi({ description: 'Absent until the address is verified' }),
    createdAt: Timestamp,
    createdBy: ResourceId.optional(),
    updatedAt: Timestamp,
    updatedBy: ResourceId.optional(),
  })
  .openapi('UserEmail')

const presentEmail = (a: Address) =>
  defined({
    userId: a.userPublicId,
    email: a.email,
    verifiedAt: a.verifiedAt?.toISOString(),
    createdAt: a.createdAt.toISOString(),
    createdBy: a.createdBy,
    updatedAt: a.updatedAt.toISOString(),
    updatedBy: a.updatedBy,
  })

const EXAMPLE = {
  userId: 'A1B2C3D4E5',
  email: 'alice@example.com',
  verifiedAt: '2026-11-23T10:00:00.000Z',
  createdAt: '2026-11-23T10:00:00.000Z',
  createdBy: 'A1B2C3D4E5',
  updatedAt: '2026-11-23T10:00:00.000Z',
  updatedBy: 'A1B2C3D4E5',
}

export const myEmails = createRouter()
  .openapi(
    restRoute({
      method: 'get',
      path: '/me/emails',
      operationId: 'listMyEmails',
      tag: 'Me',
      summary: 'List my email addresses',
      description: 'Every address of your account, the sign-in address among them, with its verification state.',
      query: markerQuery,
      status: 200,
      response: ListOf('UserEmailList', UserEmail),
      example: { items: [EXAMPLE] },
      errors: [403],
    }),
    async (c) => {
      const page = await listOwnEmails(c.var.deps, principalOf(c), c.req.valid('query'))
      return c.json(presentPage(page, presentEmail), 200)
    },
  )
  .openapi(
    restRoute({
      method: 'post',
      path: '/me/emails',
      operationId: 'addMyEmail',
      tag: 'Me',
      summary: 'Add an email address',
      description:
        'Adds the address, unverified, and emails it a link (GET /auth/verify-email?token=…) that verifies it: single use, valid 24 hours. An address that any user already has is a 409.',
      body: z
        .object({ email: EmailAddress })
        .strict()
        .openapi({ example: { email: 'alice@work.example.com' } }),
      status: 201,
      response: UserEmail,
      example: { ...EXAMPLE, email: 'alice@work.example.com', verifiedAt: undefined },
      errors: [403, 409, 429],
    }),
    async (c) => c.json(presentEmail(await addOwnEmail(c.var.deps, principalOf(c), c.req.valid('json').email)), 201),
  )
