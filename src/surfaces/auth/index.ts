import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { setCookie } from 'hono/cookie'
import { acceptInvitation } from '../../domain/invitations'
import { bootstrap, login } from '../../domain/sign-in'
import { bearerOf, SESSION_COOKIE } from '../../http/authenticate'
import type { AppEnv } from '../../http/env'
import { EmailAddress, jsonBody, jsonResponse } from '../../http/openapi'
import { createRouter } from '../../http/router'
import { problems } from '../rest/render'

const Password = z.string().max(1024).openapi({
  format: 'password',
  description: '8+ characters with upper case, lower case, a digit and a special character',
})

const SignedIn = z
  .object({
    token: z.string().openapi({ description: 'Send as Authorization: Bearer, or as the access-token header' }),
    expiresAt: z.string().openapi({ format: 'date-time' }),
    user: z.object({ id: z.string(), email: z.string() }),
  })
  .openapi('SignedIn')

/** The session also travels as an HttpOnly cookie for browsers. */
export const signedIn = (
  c: Context<AppEnv>,
  s: { token: string; expiresAt: Date; user: { id: string; email: string } },
) => {
  setCookie(c, SESSION_COOKIE, s.token, {
    prefix: 'host',
    httpOnly: true,
    secure: true,
    sameSite: 'Lax',
    path: '/',
    expires: s.expiresAt,
  })
  return { token: s.token, expiresAt: s.expiresAt.toISOString(), user: s.user }
}

export const auth = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/bootstrap',
      tags: ['Auth'],
      summary: 'Create the first organization, workspace and admin',
      description:
        'Only while no user exists. When BOOTSTRAP_TOKEN is configured it must be sent as `Authorization: Bearer`.',
      request: {
        body: jsonBody(
          z.object({
            email: EmailAddress,
            password: Password,
            organization: z.string().max(200).openapi({ example: 'Acme', description: 'At most 24 characters' }),
            name: z.string().max(200).optional().openapi({ example: 'Alice' }),
          }),
        ),
      },
      responses: {
        201: jsonResponse(
          z
            .object({
              user: z.object({ id: z.string(), email: z.string() }),
              organization: z.object({ id: z.string(), name: z.string() }),
              workspace: z.object({ id: z.number().int(), name: z.string() }),
            })
            .openapi('Bootstrapped'),
          'The first admin, organization and workspace',
        ),
        ...problems(400, 401, 409, 503),
      },
    }),
    async (c) => c.json(await bootstrap(c.var.deps, c.req.valid('json'), bearerOf(c)), 201),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/login',
      tags: ['Auth'],
      summary: 'Sign in with email and password',
      description: 'Returns a session token and sets the same session as an HttpOnly cookie.',
      request: { body: jsonBody(z.object({ email: EmailAddress, password: Password })) },
      responses: {
        200: jsonResponse(SignedIn, 'Signed in'),
        ...problems(400, 401, 429),
      },
    }),
    async (c) => c.json(signedIn(c, await login(c.var.deps, c.req.valid('json'))), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/signup',
      tags: ['Auth'],
      summary: 'Accept an invitation and sign in',
      description:
        "Creates the user with the invited roles, or, when the email already has an account, checks that account's password and adds the membership.",
      request: {
        body: jsonBody(
          z.object({
            invitationCode: z
              .string()
              .max(4096)
              .openapi({ description: 'The signupInvitationCode of the invitation link' }),
            password: Password,
            name: z.string().max(200).optional(),
          }),
        ),
      },
      responses: {
        201: jsonResponse(SignedIn, 'Signed in as a member of the workspace'),
        ...problems(400, 401, 409, 429),
      },
    }),
    async (c) => c.json(signedIn(c, await acceptInvitation(c.var.deps, c.req.valid('json'))), 201),
  )
