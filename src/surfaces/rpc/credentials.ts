import { z } from '@hono/zod-openapi'
import { deleteCookie } from 'hono/cookie'
import { createApiToken, deleteApiToken, endSession, issuePasswordReset } from '../../domain/credentials'
import { invalid } from '../../domain/errors'
import { HOST_COOKIE, principalOf, SESSION_COOKIE } from '../../http/authenticate'
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
      description:
        "ADMIN only. A password belongs to the user everywhere, so the caller must administer every workspace the user belongs to, at or above the user's role in each scope. The link is valid two hours; only its hash is stored.",
      body: z
        .object({ userEmail: z.string().max(320).openapi({ format: 'email' }) })
        .openapi({ example: { userEmail: 'bob@example.com' } }),
      response: z
        .object({ passwordResetToken: z.string().openapi({ description: 'The reset link, valid 2 hours' }) })
        .openapi('PasswordReset'),
      example: { passwordResetToken: 'https://dash.example.com/login?token=Qk9C...' },
      answers: 'Password reset token generated.',
      errors: [403, 404, 429],
    }),
    async (c) => {
      const { userEmail } = c.req.valid('json')
      if (userEmail.trim() === '') throw invalid('Email cannot be null or empty')
      const { link } = await issuePasswordReset(c.var.deps, principalOf(c), { email: userEmail })
      return c.json({ passwordResetToken: link }, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'addApiToken',
      tag: 'Credentials',
      summary: 'Create an API token of the caller in the current workspace',
      description:
        'Every role but GUEST; EXTERNAL_API and CICD tokens need their plan features. The key acts as its owner in this workspace, as X-API-KEY or Authorization: Bearer.',
      body: z
        .object({ tokenUtility: z.enum(['BURP', 'CICD', 'EXTERNAL_API']) })
        .openapi({ example: { tokenUtility: 'EXTERNAL_API' } }),
      response: z.object({ apiTokenList: z.array(ApiToken) }).openapi('ApiTokenList'),
      example: {
        apiTokenList: [
          {
            id: 1,
            accountId: 1000000,
            name: 'external_api',
            key: 'Abc123...40 characters',
            timestamp: 1764720000,
            userId: 1,
            username: 'alice@example.com',
            utility: 'EXTERNAL_API',
          },
        ],
      },
      answers: 'The new token, in a list',
      errors: [403],
    }),
    async (c) => {
      const p = principalOf(c)
      const { token, key } = await createApiToken(c.var.deps, p, c.req.valid('json').tokenUtility)
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
      description: 'Only the owner deletes a token; it stops working at once.',
      body: z.object({ apiTokenId: z.number().int() }).openapi({ example: { apiTokenId: 1 } }),
      response: z.object({ apiTokenDeleted: z.boolean() }).openapi('ApiTokenDeleted'),
      example: { apiTokenDeleted: true },
      errors: [403],
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
      description:
        'The session stops working at once. The answer says where to send the browser: LOGOUT_URL when configured, else redirectUrl or the login page.',
      body: z
        .object({
          redirectUrl: z
            .string()
            .max(2048)
            .optional()
            .openapi({ description: 'A path of the dashboard, or an address on an allowed origin' }),
        })
        .openapi({ example: { redirectUrl: '/login' } }),
      response: z
        .object({ logoutUrl: z.string(), redirectUrl: z.string().nullable() })
        .openapi('Logout', { description: 'Where to send the browser to complete the logout' }),
      example: { logoutUrl: 'https://dash.example.com/login', redirectUrl: '/login' },
      errors: [403],
    }),
    async (c) => {
      const { redirectUrl } = c.req.valid('json')
      const logoutUrl = await endSession(c.var.deps, principalOf(c), redirectUrl)
      deleteCookie(c, SESSION_COOKIE, HOST_COOKIE)
      return c.json({ logoutUrl, redirectUrl: redirectUrl ?? null }, 200)
    },
  )
