import { createRoute, z } from '@hono/zod-openapi'
import { endSession, listSessions, SESSION_LIST, type Session } from '../../domain/logins'
import { principalOf } from '../../http/authenticate'
import { PublicId } from '../../http/openapi'
import { jsonApiListQuery } from '../../http/query'
import { createRouter } from '../../http/router'
import { ACCOUNT_TYPE, presentAccount } from './accounts'
import {
  CollectionSchema,
  collection,
  documentResponse,
  errorsFor,
  headers,
  jsonApiRoute,
  type Presented,
} from './document'
import { JSON_API } from './render'

const TYPE = 'iam:account_sessions'
const listQuery = jsonApiListQuery(TYPE, SESSION_LIST, [ACCOUNT_TYPE])

const Attributes = z.object({
  account_id: z.string(),
  user_agent: z.string().nullable(),
  ip: z.string().nullable(),
  created_at: z.string().openapi({ format: 'date-time' }),
  last_used_at: z.string().openapi({ format: 'date-time' }),
  expires_at: z.string().openapi({ format: 'date-time' }),
})

const present = (s: Session): Presented => ({
  id: s.id,
  attributes: {
    account_id: s.accountPublicId,
    user_agent: s.userAgent,
    ip: s.remoteIp,
    created_at: s.authTime.toISOString(),
    last_used_at: s.lastUsedAt.toISOString(),
    expires_at: s.expiresAt.toISOString(),
  },
  relationships: { account: { data: { type: ACCOUNT_TYPE, id: s.accountPublicId } } },
})

export const accountSessions = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/account_sessions',
      ...jsonApiRoute({
        tag: 'Account sessions',
        operationId: 'listAccountSessions',
        summary: 'Return a paginated list of iam:account_sessions',
        description:
          'Your own live sessions, and for an ADMIN those in the current workspace. `included[]=account` adds their accounts; refresh_seq and nonce are never filterable.',
      }),
      request: { query: listQuery.schema, headers },
      responses: {
        200: documentResponse(CollectionSchema('AccountSessionCollection', TYPE, Attributes), 'Sessions', {
          data: [
            {
              type: TYPE,
              id: 'L1B2C3D4E5',
              attributes: {
                account_id: 'A1B2C3D4E5',
                user_agent: 'Mozilla/5.0',
                ip: '203.0.113.7',
                created_at: '2026-12-03T09:00:00.000Z',
                last_used_at: '2026-12-03T09:00:00.000Z',
                expires_at: '2026-12-04T09:00:00.000Z',
              },
              relationships: { account: { data: { type: ACCOUNT_TYPE, id: 'A1B2C3D4E5' } } },
            },
          ],
          meta: {},
          links: {
            self: 'https://iam.example.com/account_sessions',
            first: 'https://iam.example.com/account_sessions?page[number]=1&page[size]=1000',
          },
        }),
        ...errorsFor(false),
      },
    }),
    async (c) => {
      const q = listQuery.parse(c.req.queries())
      const { accounts, ...page } = await listSessions(c.var.deps, principalOf(c), q)
      const included = accounts.map((a) => ({ type: ACCOUNT_TYPE, resource: presentAccount(a) }))
      return c.json(collection(c.req.url, TYPE, page, q, present, included), 200, { 'Content-Type': JSON_API })
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/account_sessions/{id}',
      ...jsonApiRoute({
        tag: 'Account sessions',
        operationId: 'deleteAccountSession',
        summary: 'Delete the iam:account_sessions',
        description: "Ends a session you may see: its token is refused from its next request. Anyone else's is a 404.",
      }),
      request: {
        params: z.object({ id: PublicId('must be a session id') }),
        headers,
      },
      responses: { 204: { description: 'Ended' }, ...errorsFor(false, 404) },
    }),
    async (c) => {
      await endSession(c.var.deps, principalOf(c), c.req.valid('param').id)
      return c.body(null, 204)
    },
  )
