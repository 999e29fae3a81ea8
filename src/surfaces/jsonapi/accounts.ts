import { createRoute, z } from '@hono/zod-openapi'
import {
  ACCOUNT_LIST,
  type Account,
  createAccount,
  deleteAccount,
  joinAccount,
  listAccounts,
  readAccount,
  resendInvitation,
  updateAccount,
} from '../../domain/accounts'
import { principalOf } from '../../http/authenticate'
import { PublicId } from '../../http/openapi'
import { jsonApiListQuery, jsonApiShowQuery } from '../../http/query'
import { createRouter } from '../../http/router'
import {
  CollectionSchema,
  collection,
  documentResponse,
  errorsFor,
  headers,
  jsonApiRoute,
  type Presented,
  readOnly,
  requestDocument,
  SingleSchema,
  single,
  underAttributes,
} from './document'
import { JSON_API } from './render'

export const ACCOUNT_TYPE = 'iam:accounts'
const listQuery = jsonApiListQuery(ACCOUNT_TYPE, ACCOUNT_LIST)
const showQuery = jsonApiShowQuery(ACCOUNT_TYPE)

const time = z.string().nullable().openapi({ format: 'date-time' })
const ScopeMap = z.record(z.string().max(32), z.string().max(64))

const AccountAttributes = z.object({
  name: z.string().nullable(),
  email: z.string(),
  sso_channel: z.string().nullable(),
  enabled: z.boolean(),
  role_name: z.string().nullable().openapi({ description: "The role in the caller's workspace and scope" }),
  role_scope: ScopeMap.nullable().openapi({ description: 'The role in each product scope of that workspace' }),
  picture_url: z.string().nullable(),
  joined_at: time,
  invitation_expired_at: time.openapi({ description: 'When the pending invitation expires' }),
  created_at: z.string().openapi({ format: 'date-time' }),
  updated_at: z.string().openapi({ format: 'date-time' }),
})

/** An account in the JSON:API dialect: snake_case, string ids, nulls kept. */
export const presentAccount = (a: Account): Presented => ({
  id: a.publicId,
  attributes: {
    name: a.displayName,
    email: a.email,
    sso_channel: a.ssoChannel,
    enabled: a.enabled,
    role_name: a.roleName,
    role_scope: a.roleScope,
    picture_url: a.pictureUrl,
    joined_at: a.joinedAt?.toISOString() ?? null,
    invitation_expired_at: a.invitationExpiresAt?.toISOString() ?? null,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
  } satisfies z.infer<typeof AccountAttributes>,
})

const EXAMPLE = {
  type: ACCOUNT_TYPE,
  id: 'A1B2C3D4E5',
  attributes: {
    name: 'Alice',
    email: 'alice@example.com',
    sso_channel: null,
    enabled: true,
    role_name: 'ADMIN',
    role_scope: { API: 'ADMIN' },
    picture_url: null,
    joined_at: '2026-11-23T10:00:00.000Z',
    invitation_expired_at: null,
    created_at: '2026-11-23T10:00:00.000Z',
    updated_at: '2026-11-23T10:00:00.000Z',
  },
}

// What a client never sets: its id, email (on update), timestamps and join state.
const READ_ONLY = {
  id: readOnly,
  sso_channel: readOnly,
  joined_at: readOnly,
  invitation_expired_at: readOnly,
  created_at: readOnly,
  updated_at: readOnly,
}

const id = z.object({ id: PublicId('must be an account id like A1B2C3D4E5') })
const Single = SingleSchema('AccountDocument', ACCOUNT_TYPE, AccountAttributes)
const ADMINS =
  'ADMIN of the current workspace, granting only roles within their own standing in every scope; what is global to the person (name, picture, enabled) needs an admin of every workspace they belong to.'

const JoinBody = z
  .object({
    data: z.object({ attributes: z.object({ password: z.string().max(1024).optional() }).optional() }).optional(),
    password: z.string().max(1024).optional(),
  })
  .openapi({ example: { data: { type: ACCOUNT_TYPE, attributes: { password: 'Bobs-password-1' } } } })

export const accounts = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/accounts',
      ...jsonApiRoute({
        tag: 'Accounts',
        operationId: 'listAccounts',
        summary: 'Return a paginated list of iam:accounts',
        description:
          "Root sees everyone, an ADMIN the members of the current workspace, anyone else only themselves. `role_name` is the effective role in the caller's workspace and scope. Filters and sorts come from an allow-list; anything else is a 400 naming the parameter.",
      }),
      request: { query: listQuery.schema, headers },
      responses: {
        200: documentResponse(CollectionSchema('AccountCollection', ACCOUNT_TYPE, AccountAttributes), 'Accounts', {
          data: [EXAMPLE],
          meta: { count: 1, more: false },
          links: {
            self: 'https://iam.example.com/accounts?count=true',
            first: 'https://iam.example.com/accounts?count=true&page[number]=1&page[size]=1000',
          },
        }),
        ...errorsFor(false, 403),
      },
    }),
    async (c) => {
      const q = listQuery.parse(c.req.queries())
      const page = await listAccounts(c.var.deps, principalOf(c), q)
      return c.json(collection(c.req.url, ACCOUNT_TYPE, page, q, presentAccount), 200, { 'Content-Type': JSON_API })
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/accounts/{id}',
      ...jsonApiRoute({
        tag: 'Accounts',
        operationId: 'showAccount',
        summary: 'Show a specific iam:accounts',
        description: 'An account the caller may see (as in the list); anything else is a 404.',
      }),
      request: { params: id, query: showQuery.schema, headers },
      responses: { 200: documentResponse(Single, 'The account', { data: EXAMPLE }), ...errorsFor(false, 404) },
    }),
    async (c) => {
      const { fields } = showQuery.parse(c.req.queries())
      const account = await readAccount(c.var.deps, principalOf(c), c.req.valid('param').id)
      return c.json(single(ACCOUNT_TYPE, presentAccount(account), fields), 200, { 'Content-Type': JSON_API })
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/accounts',
      ...jsonApiRoute({
        tag: 'Accounts',
        operationId: 'createAccount',
        summary: 'Create a new iam:accounts',
        description: `A pending account in the current workspace, and an invitation (3 days) emailed to it with a link carrying \`token=\`. ${ADMINS} An address that has an account already is a 409.`,
      }),
      request: {
        headers,
        body: requestDocument(
          ACCOUNT_TYPE,
          {
            email: z.string().max(320),
            name: z.string().max(200).nullable().optional(),
            role_name: z.string().max(64),
            role_scope: ScopeMap.optional(),
            enabled: z.boolean().optional(),
            picture_url: readOnly,
            ...READ_ONLY,
          },
          { email: 'bob@example.com', name: 'Bob', role_name: 'DEVELOPER' },
        ),
      },
      responses: {
        201: documentResponse(Single, 'The pending account', { data: EXAMPLE }),
        ...errorsFor(false, 403, 409, 422),
      },
    }),
    async (c) => {
      const { attributes: a } = c.req.valid('json').data
      const account = await createAccount(c.var.deps, principalOf(c), {
        email: a.email,
        name: a.name,
        roleName: a.role_name,
        roleScope: a.role_scope,
        enabled: a.enabled,
      })
      return c.json(single(ACCOUNT_TYPE, presentAccount(account)), 201, { 'Content-Type': JSON_API })
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/accounts/{id}',
      ...jsonApiRoute({
        tag: 'Accounts',
        operationId: 'updateAccount',
        summary: 'Update a iam:accounts',
        description: `Anyone may change \`name\` and \`picture_url\` of their own account. Everything else takes an admin: ${ADMINS} Disabling ends the account's sessions at once. Read-only attributes (id, email, timestamps, joined_at) are a 422.`,
      }),
      request: {
        params: id,
        headers,
        body: requestDocument(
          ACCOUNT_TYPE,
          {
            name: z.string().max(200).nullable().optional(),
            picture_url: z.string().max(2048).nullable().optional(),
            enabled: z.boolean().optional(),
            role_name: z.string().max(64).optional(),
            role_scope: ScopeMap.optional(),
            email: readOnly,
            ...READ_ONLY,
          },
          { role_name: 'MEMBER' },
        ),
      },
      responses: {
        200: documentResponse(Single, 'The account', { data: EXAMPLE }),
        ...errorsFor(false, 403, 404, 422),
      },
    }),
    async (c) => {
      const { attributes: a } = c.req.valid('json').data
      const account = await updateAccount(c.var.deps, principalOf(c), c.req.valid('param').id, {
        name: a.name,
        pictureUrl: a.picture_url,
        enabled: a.enabled,
        roleName: a.role_name,
        roleScope: a.role_scope,
      })
      return c.json(single(ACCOUNT_TYPE, presentAccount(account)), 200, { 'Content-Type': JSON_API })
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/accounts/{id}',
      ...jsonApiRoute({
        tag: 'Accounts',
        operationId: 'deleteAccount',
        summary: 'Delete the iam:accounts',
        description: `Deletes a pending account; one that joined is disabled instead (its sessions end). ${ADMINS}`,
      }),
      request: { params: id, headers },
      responses: { 204: { description: 'Deleted, or disabled' }, ...errorsFor(false, 403, 404) },
    }),
    async (c) => {
      await deleteAccount(c.var.deps, principalOf(c), c.req.valid('param').id)
      return c.body(null, 204)
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/accounts/{token}/join',
      ...jsonApiRoute({
        tag: 'Accounts',
        operationId: 'joinAccount',
        summary: 'Mark account as joined when user accepts invitation',
        description:
          'No credentials: the invitation token is the proof. With `password` (attributes or top level) it is set at once; without one, `meta.password_reset_token` (1 hour) sets it through /account/passwords/reset. An address that has an account already must send its password. Unknown token 404, expired 422.',
        public: true,
      }),
      request: {
        params: z.object({ token: z.string().max(256) }),
        body: {
          content: {
            'application/vnd.api+json': { schema: JoinBody },
            'application/json': { schema: JoinBody },
          },
          required: false,
        },
      },
      responses: {
        200: documentResponse(
          SingleSchema(
            'JoinedAccount',
            ACCOUNT_TYPE,
            AccountAttributes,
            z.object({ password_reset_token: z.string().optional() }),
          ),
          'The account, joined',
          { data: EXAMPLE, meta: { password_reset_token: 'k3J…' } },
        ),
        ...errorsFor(true, 404, 422, 429),
      },
    }),
    async (c) => {
      const body = c.req.valid('json')
      const inAttributes = body?.data?.attributes?.password !== undefined
      const password = body?.data?.attributes?.password ?? body?.password
      const joined = await joinAccount(c.var.deps, c.req.valid('param').token, password).catch((err) => {
        throw inAttributes ? underAttributes(err) : err
      })
      const meta = joined.resetToken ? { password_reset_token: joined.resetToken } : {}
      return c.json(single(ACCOUNT_TYPE, presentAccount(joined.account), {}, meta), 200, { 'Content-Type': JSON_API })
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/accounts/{id}/resend_invitation',
      ...jsonApiRoute({
        tag: 'Accounts',
        operationId: 'resendInvitation',
        summary: 'Resend account invitation email',
        description: `A new invitation for a pending account: the old link stops working and the new one lives 3 days. An account that joined is a 409. ${ADMINS}`,
      }),
      request: { params: id, headers },
      responses: { 204: { description: 'Sent' }, ...errorsFor(false, 403, 404, 409) },
    }),
    async (c) => {
      await resendInvitation(c.var.deps, principalOf(c), c.req.valid('param').id)
      return c.body(null, 204)
    },
  )
