import { createRoute, z } from '@hono/zod-openapi'
import { ACCOUNT_LIST, type Account, listAccounts } from '../../domain/users'
import { principalOf } from '../../http/authenticate'
import { ContextHeaders, jsonResponse, secured } from '../../http/openapi'
import { jsonApiListQuery } from '../../http/query'
import { createRouter } from '../../http/router'
import { CollectionSchema, collection } from './document'
import { JSON_API, jsonApiErrors } from './render'

const TYPE = 'iam:accounts'
const listQuery = jsonApiListQuery(TYPE, ACCOUNT_LIST)

const nullableTime = z.string().nullable().openapi({ format: 'date-time' })
const AccountAttributes = z.object({
  name: z.string().nullable(),
  email: z.string(),
  given_name: z.string().nullable(),
  family_name: z.string().nullable(),
  sso_channel: z.string().nullable(),
  enabled: z.boolean(),
  role_name: z.string().nullable().openapi({ description: "Role in the caller's workspace" }),
  role_scope: z.record(z.string(), z.string()).nullable(),
  picture_url: z.string().nullable(),
  joined_at: nullableTime,
  invitation_expired_at: nullableTime,
  created_at: z.string().openapi({ format: 'date-time' }),
  updated_at: z.string().openapi({ format: 'date-time' }),
})

const presentAccount = (a: Account) => ({
  id: a.publicId,
  attributes: {
    name: a.displayName,
    email: a.email,
    given_name: a.givenName,
    family_name: a.familyName,
    sso_channel: a.ssoChannel,
    enabled: a.enabled,
    role_name: a.roleName,
    role_scope: a.roleScope,
    picture_url: a.pictureUrl,
    joined_at: a.joinedAt?.toISOString() ?? null,
    invitation_expired_at: null,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
  } satisfies z.infer<typeof AccountAttributes>,
})

export const accounts = createRouter().openapi(
  createRoute({
    method: 'get',
    path: '/accounts',
    operationId: 'listAccounts',
    tags: ['JSON:API · Accounts'],
    summary: 'Return a paginated list of iam:accounts',
    description:
      "Users visible to the caller: root sees everyone, an ADMIN the members of the current workspace, anyone else only themselves. `role_name` is the effective role in the caller's workspace and scope.",
    ...secured(),
    request: { query: listQuery.schema, headers: ContextHeaders },
    responses: {
      200: jsonResponse(CollectionSchema('AccountCollection', TYPE, AccountAttributes), 'Accounts', JSON_API, {
        data: [
          {
            type: TYPE,
            id: 'A1B2C3D4E5',
            attributes: {
              name: 'Alice',
              email: 'alice@example.com',
              enabled: true,
              role_name: 'ADMIN',
              created_at: '2026-11-23T10:00:00.000Z',
            },
          },
        ],
        meta: { count: 1, more: false },
        links: {
          self: 'https://iam.example.com/accounts?count=true',
          first: 'https://iam.example.com/accounts?count=true&page[number]=1&page[size]=1000',
        },
      }),
      ...jsonApiErrors(400, 401, 403),
    },
  }),
  async (c) => {
    const q = listQuery.parse(c.req.queries())
    const page = await listAccounts(c.var.deps, principalOf(c), q)
    return c.json(collection(c.req.url, TYPE, page, q, presentAccount), 200, { 'Content-Type': JSON_API })
  },
)
