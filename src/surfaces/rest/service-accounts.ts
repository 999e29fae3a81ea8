import { type OpenAPIHono, z } from '@hono/zod-openapi'
import {
  createServiceAccount,
  createServiceAccountKey,
  deleteServiceAccount,
  deleteServiceAccountKey,
  getServiceAccount,
  listServiceAccountKeys,
  listServiceAccounts,
} from '../../domain/service-accounts'
import { principalOf } from '../../http/authenticate'
import type { AppEnv } from '../../http/env'
import { markerQuery } from '../../http/query'
import { createRouter } from '../../http/router'
import {
  NewServiceAccountKeySchema,
  presentPage,
  presentServiceAccount,
  presentServiceAccountKey,
  ServiceAccountKeySchema,
  ServiceAccountSchema,
} from './present'
import { ListOf, ResourceId, restRoute } from './route'

const TAG = 'Service accounts'
const ADMIN_ONLY = 'ADMIN of the current workspace only; API keys cannot manage service accounts.'
const MARKER = 'eyJsaXN0Ijoic2VydmljZS1hY2NvdW50cyIsImFmdGVyIjoxfQ.c2lnbmF0dXJl'

const ACCOUNT = {
  id: 'S1A2C3C4T5',
  username: 'ci-deploy-bot',
  description: 'Deploys from CI',
  createdAt: '2026-11-23T10:00:00.000Z',
  createdBy: 'A1B2C3D4E5',
  updatedAt: '2026-11-23T10:00:00.000Z',
  updatedBy: 'A1B2C3D4E5',
}
const KEY = {
  id: 'K1E2Y3I4D5',
  expiresAt: '2027-11-23T10:00:00.000Z',
  createdAt: '2026-11-23T10:00:00.000Z',
  updatedAt: '2026-11-23T10:00:00.000Z',
}

const AccountParams = z.object({ sa: ResourceId })
const KeyParams = z.object({ sa: ResourceId, key: ResourceId })

const ServiceAccountSpec = z
  .strictObject({
    username: z.string().max(1000).openapi({
      description:
        "1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or a digit; unique in the organization",
    }),
    description: z.string().max(1000).openapi({ description: 'One line of plain text, at most 256 characters' }),
    role: z.string().max(100).optional().openapi({
      description:
        'A built-in or custom role of the current workspace, held in every scope; one you may assign in every scope. Default MEMBER.',
    }),
  })
  .openapi({
    example: { username: 'ci-deploy-bot', description: 'Deploys from CI', role: 'DEVELOPER' },
  })

const ServiceAccountKeySpec = z
  .strictObject({
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: 'RFC 3339 date-time in the future; without it the key never expires' }),
  })
  .openapi({ example: { expiresAt: '2027-11-23T10:00:00Z' } })

// Typed plainly: merged into the surface, the full route types exceed what tsc can represent.
export const serviceAccounts: OpenAPIHono<AppEnv> = createRouter()
  .openapi(
    restRoute({
      method: 'get',
      path: '/org/service-accounts',
      operationId: 'listServiceAccounts',
      tag: TAG,
      summary: 'List service accounts',
      description: `The service accounts of the organization of the current workspace, by creation. ${ADMIN_ONLY}`,
      query: markerQuery,
      status: 200,
      response: ListOf('ServiceAccountList', ServiceAccountSchema),
      example: { items: [ACCOUNT], marker: MARKER },
      errors: [403],
    }),
    async (c) =>
      c.json(
        presentPage(await listServiceAccounts(c.var.deps, principalOf(c), c.req.valid('query')), presentServiceAccount),
        200,
      ),
  )
  .openapi(
    restRoute({
      method: 'post',
      path: '/org/service-accounts',
      operationId: 'createServiceAccount',
      tag: TAG,
      summary: 'Create a service account',
      description: `A non-human identity of the organization, holding the given role in the current workspace in every scope. ${ADMIN_ONLY}`,
      body: ServiceAccountSpec,
      status: 201,
      response: ServiceAccountSchema,
      example: ACCOUNT,
      errors: [403, 409, 415],
    }),
    async (c) =>
      c.json(presentServiceAccount(await createServiceAccount(c.var.deps, principalOf(c), c.req.valid('json'))), 201),
  )
  .openapi(
    restRoute({
      method: 'get',
      path: '/org/service-accounts/{sa}',
      operationId: 'describeServiceAccount',
      tag: TAG,
      summary: 'Describe a service account',
      description: `One service account of the organization. ${ADMIN_ONLY}`,
      params: AccountParams,
      status: 200,
      response: ServiceAccountSchema,
      example: ACCOUNT,
      errors: [403, 404],
    }),
    async (c) =>
      c.json(presentServiceAccount(await getServiceAccount(c.var.deps, principalOf(c), c.req.valid('param').sa)), 200),
  )
  .openapi(
    restRoute({
      method: 'delete',
      path: '/org/service-accounts/{sa}',
      operationId: 'deleteServiceAccount',
      tag: TAG,
      summary: 'Delete a service account',
      description: `Deletes the account, its memberships and its keys; the keys stop working at once. ${ADMIN_ONLY}`,
      params: AccountParams,
      status: 204,
      errors: [403, 404],
    }),
    async (c) => {
      await deleteServiceAccount(c.var.deps, principalOf(c), c.req.valid('param').sa)
      return c.body(null, 204)
    },
  )
  .openapi(
    restRoute({
      method: 'get',
      path: '/org/service-accounts/{sa}/keys',
      operationId: 'listServiceAccountKeys',
      tag: TAG,
      summary: 'List the keys of a service account',
      description: `The account's keys, by creation, never their secrets. ${ADMIN_ONLY}`,
      params: AccountParams,
      query: markerQuery,
      status: 200,
      response: ListOf('ServiceAccountKeyList', ServiceAccountKeySchema),
      example: { items: [KEY] },
      errors: [403, 404],
    }),
    async (c) =>
      c.json(
        presentPage(
          await listServiceAccountKeys(c.var.deps, principalOf(c), c.req.valid('param').sa, c.req.valid('query')),
          presentServiceAccountKey,
        ),
        200,
      ),
  )
  .openapi(
    restRoute({
      method: 'post',
      path: '/org/service-accounts/{sa}/keys',
      operationId: 'createServiceAccountKey',
      tag: TAG,
      summary: 'Create a key for a service account',
      description: `A key that authenticates as the account in the current workspace, as \`Authorization: Bearer\` or \`X-API-KEY\`. The key is shown in this answer only; it is stored as a hash. ${ADMIN_ONLY}`,
      params: AccountParams,
      body: ServiceAccountKeySpec,
      status: 201,
      response: NewServiceAccountKeySchema,
      example: { ...KEY, key: 'q7Xb2LmN9pR4sT6vW8yZ0aC3dE5fG7hJ9kL1mN3p' },
      errors: [403, 404, 415],
    }),
    async (c) => {
      const { expiresAt } = c.req.valid('json')
      const created = await createServiceAccountKey(
        c.var.deps,
        principalOf(c),
        c.req.valid('param').sa,
        expiresAt === undefined ? null : new Date(expiresAt),
      )
      return c.json({ ...presentServiceAccountKey(created), key: created.key }, 201)
    },
  )
  .openapi(
    restRoute({
      method: 'delete',
      path: '/org/service-accounts/{sa}/keys/{key}',
      operationId: 'deleteServiceAccountKey',
      tag: TAG,
      summary: 'Delete a key of a service account',
      description: `The key stops working at once. ${ADMIN_ONLY}`,
      params: KeyParams,
      status: 204,
      errors: [403, 404],
    }),
    async (c) => {
      const { sa, key } = c.req.valid('param')
      await deleteServiceAccountKey(c.var.deps, principalOf(c), sa, key)
      return c.body(null, 204)
    },
  )
