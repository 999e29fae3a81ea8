import { createRoute, z } from '@hono/zod-openapi'
import {
  changeOwnPassword,
  requestPasswordReset,
  resetPasswordWithToken,
  resetTokenValid,
} from '../../domain/passwords'
import { principalOf } from '../../http/authenticate'
import { jsonBody } from '../../http/openapi'
import { createRouter } from '../../http/router'
import { documentResponse, errorsFor, headers, jsonApiRoute } from './document'
import { JSON_API } from './render'

/** Plain JSON bodies, as the original takes them; JSON:API's media type is accepted too. */
const body = <S extends z.ZodRawShape>(shape: S, example: Record<string, string>) => {
  const schema = z.strictObject(shape).openapi({ example })
  return { ...jsonBody(schema), content: { 'application/json': { schema }, 'application/vnd.api+json': { schema } } }
}

const RULES =
  'At least 8 characters with an upper-case letter, a lower-case letter, a digit and a special character; the first rule broken is reported.'

export const passwords = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/account/passwords/request_reset',
      ...jsonApiRoute({
        tag: 'Account passwords',
        operationId: 'requestPasswordReset',
        summary: 'Request a password reset for an account',
        description:
          'Emails a link with `token=` (1 hour, single use) when the address has an account. Always 204, with the same work either way; throttled per address and per IP.',
        public: true,
      }),
      request: { body: body({ email: z.string().max(320) }, { email: 'alice@example.com' }) },
      responses: {
        204: { description: 'Done, whether or not the address has an account' },
        ...errorsFor(true, 422, 429),
      },
    }),
    async (c) => {
      await requestPasswordReset(c.var.deps, c.req.valid('json').email)
      return c.body(null, 204)
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/account/passwords/reset',
      ...jsonApiRoute({
        tag: 'Account passwords',
        operationId: 'resetAccountPassword',
        summary: 'Reset a password using a reset token',
        description: `${RULES} Every session of the account ends. An unknown or used token is a 404, an expired one a 422.`,
        public: true,
      }),
      request: {
        body: body(
          { token: z.string().max(256), password: z.string().max(1024) },
          { token: 'k3J…', password: 'New-password-2!' },
        ),
      },
      responses: { 204: { description: 'The password is set' }, ...errorsFor(true, 404, 422) },
    }),
    async (c) => {
      const { token, password } = c.req.valid('json')
      await resetPasswordWithToken(c.var.deps, token, password)
      return c.body(null, 204)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/account/passwords/token_valid',
      ...jsonApiRoute({
        tag: 'Account passwords',
        operationId: 'passwordResetTokenValid',
        summary: 'Check if a password reset token is valid',
        description: 'true only for a token that exists, is unused and has not expired.',
        public: true,
      }),
      request: { query: z.object({ token: z.string().max(256) }) },
      responses: {
        200: documentResponse(
          z.object({ data: z.object({ valid: z.boolean() }) }).openapi('TokenValidity'),
          'Whether it is valid',
          {
            data: { valid: true },
          },
        ),
        ...errorsFor(true),
      },
    }),
    async (c) =>
      c.json({ data: { valid: await resetTokenValid(c.var.deps, c.req.valid('query').token) } }, 200, {
        'Content-Type': JSON_API,
      }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/account/passwords/change',
      ...jsonApiRoute({
        tag: 'Account passwords',
        operationId: 'changeAccountPassword',
        summary: 'Change the password for the authenticated account',
        description: `With the current password (a wrong one is a 422, not a 401). ${RULES} The account's other sessions end.`,
      }),
      request: {
        headers,
        body: body(
          { current_password: z.string().max(1024), new_password: z.string().max(1024) },
          { current_password: 'Old-password-1!', new_password: 'New-password-2!' },
        ),
      },
      responses: { 204: { description: 'Changed' }, ...errorsFor(false, 403, 422, 429) },
    }),
    async (c) => {
      const p = principalOf(c)
      const { current_password, new_password } = c.req.valid('json')
      await changeOwnPassword(
        c.var.deps,
        p,
        p.publicId ?? '',
        { currentPassword: current_password, newPassword: new_password },
        { current: 'current_password', next: 'new_password' },
      )
      return c.body(null, 204)
    },
  )
