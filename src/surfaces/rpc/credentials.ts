import { z } from '@hono/zod-openapi'
import { deleteCookie } from 'hono/cookie'
import { addApiToken, deleteApiToken, logout, resetUserPassword } from '../../domain/credentials'
import { principalOf, SESSION_COOKIE } from '../../http/authenticate'
import { createRouter } from '../../http/router'
import { rpcAction } from './action'

const ApiToken = z
  .object({
    id: z.number().int(),
    accountId: z.number().int(),
    name: z.string(),
    key: z.string().openapi({ description: 'The 40-character key; shown only in this answer' }),
    timestamp: z.number().int().openapi({ description: 'Creation time, epoch seconds' }),
    userId: z.number().int(),
    username: z.string().nullable(),
    utility: z.enum(['BURP', 'CICD', 'EXTERNAL_API']),
  })
  .openapi('ApiToken')

export const credentials = createRouter()
  .openapi(
    rpcAction({
      name: 'resetUserPassword',
      tag: 'Credentials',
      summary: 'A single-use password reset link for a member (once per 2 hours per user)',
      body: z.object({ userEmail: z.string().max(320).openapi({ format: 'email' }) }),
      response: z
        .object({ passwordResetToken: z.string().openapi({ description: 'The reset link, valid 2 hours' }) })
        .openapi('PasswordReset'),
      description: 'Password reset token generated.',
    }),
    async (c) =>
      c.json(
        { passwordResetToken: await resetUserPassword(c.var.deps, principalOf(c), c.req.valid('json').userEmail) },
        200,
      ),
  )
  .openapi(
    rpcAction({
      name: 'addApiToken',
      tag: 'Credentials',
      summary: 'Create an API token of the caller in the current workspace',
      body: z.object({ tokenUtility: z.enum(['BURP', 'CICD', 'EXTERNAL_API']) }),
      response: z.object({ apiTokenList: z.array(ApiToken) }).openapi('ApiTokenList'),
      description: 'The new token, in a list',
    }),
    async (c) => {
      const p = principalOf(c)
      const { token, key } = await addApiToken(c.var.deps, p, c.req.valid('json').tokenUtility)
      const presented = {
        id: token.id,
        accountId: token.workspaceId,
        name: token.name,
        key,
        timestamp: Math.floor(token.createdAt.getTime() / 1000),
        userId: token.userId ?? 0,
        username: p.email,
        utility: token.utility,
      }
      return c.json({ apiTokenList: [presented] }, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'deleteApiToken',
      tag: 'Credentials',
      summary: "Delete one of the caller's own API tokens",
      body: z.object({ apiTokenId: z.number().int() }),
      response: z.object({ apiTokenDeleted: z.boolean() }).openapi('ApiTokenDeleted'),
    }),
    async (c) =>
      c.json(
        { apiTokenDeleted: await deleteApiToken(c.var.deps, principalOf(c), c.req.valid('json').apiTokenId) },
        200,
      ),
  )
  .openapi(
    rpcAction({
      name: 'logout',
      tag: 'Credentials',
      summary: 'End the session and clear its cookie',
      body: z.object({
        redirectUrl: z
          .string()
          .max(2048)
          .optional()
          .openapi({ description: 'A path of the dashboard, or an address on an allowed origin' }),
      }),
      response: z
        .object({ logoutUrl: z.string(), redirectUrl: z.string().nullable() })
        .openapi('Logout', { description: 'Where to send the browser to complete the logout' }),
    }),
    async (c) => {
      const { redirectUrl } = c.req.valid('json')
      const logoutUrl = await logout(c.var.deps, principalOf(c), redirectUrl)
      deleteCookie(c, SESSION_COOKIE, { prefix: 'host', path: '/', secure: true })
      return c.json({ logoutUrl, redirectUrl: redirectUrl ?? null }, 200)
    },
  )
