import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { setCookie } from 'hono/cookie'
import { acceptInvitation } from '../../domain/invitations'
import { bootstrap, signIn } from '../../domain/sign-in'
import { bearerOf, SESSION_COOKIE } from '../../http/authenticate'
import type { AppEnv } from '../../http/env'
import { EmailAddress, jsonBody, jsonResponse } from '../../http/openapi'
import { problems, renderProblem } from '../../http/problem'
import { createRouter } from '../../http/router'
import type { Surface } from '../../http/surface'

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

const SIGNED_IN_EXAMPLE = {
  token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...',
  expiresAt: '2026-12-04T10:00:00.000Z',
  user: { id: 'A1B2C3D4E5', email: 'admin@example.com' },
}

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

const router = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/bootstrap',
      operationId: 'bootstrap',
      tags: ['Auth'],
      summary: 'Create the first organization, workspace and admin',
      description:
        'Only while no user exists. When BOOTSTRAP_TOKEN is configured it must be sent as `Authorization: Bearer`.',
      request: {
        body: jsonBody(
          z
            .object({
              email: EmailAddress,
              password: Password,
              organization: z.string().max(200).openapi({ example: 'Acme', description: 'At most 24 characters' }),
              name: z.string().max(200).optional().openapi({ example: 'Alice' }),
            })
            .openapi({ example: { email: 'admin@example.com', password: 'Change-me-1!', organization: 'Acme' } }),
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
          'application/json',
          {
            user: { id: 'A1B2C3D4E5', email: 'admin@example.com' },
            organization: { id: 'F6G7H8I9J0', name: 'Acme' },
            workspace: { id: 1000000, name: 'Acme' },
          },
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
      operationId: 'signIn',
      tags: ['Auth'],
      summary: 'Sign in with email and password',
      description:
        'Returns a session token and sets the same session as an HttpOnly cookie. A wrong email and a wrong password get the same 401. At most 10 attempts a minute per IP and per account from one IP, 50 per account in all.',
      request: {
        body: jsonBody(
          z
            .object({ email: EmailAddress, password: Password })
            .openapi({ example: { email: 'admin@example.com', password: 'Change-me-1!' } }),
        ),
      },
      responses: {
        200: jsonResponse(SignedIn, 'Signed in', 'application/json', SIGNED_IN_EXAMPLE),
        ...problems(400, 401, 429),
      },
    }),
    async (c) => c.json(signedIn(c, await signIn(c.var.deps, c.req.valid('json'))), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/signup',
      operationId: 'signUp',
      tags: ['Auth'],
      summary: 'Accept an invitation and sign in',
      description:
        "Creates the user with the invited roles, or, when the email already has an account, checks that account's password and adds the membership.",
      request: {
        body: jsonBody(
          z
            .object({
              invitationCode: z
                .string()
                .max(4096)
                .openapi({ description: 'The invitation link, or its signupInvitationCode' }),
              password: Password,
              name: z.string().max(200).optional(),
            })
            .openapi({
              example: {
                invitationCode: 'https://dash.example.com/addUserToAccount?signupInvitationCode=eyJhbGciOi...',
                password: 'Change-me-1!',
                name: 'Bob',
              },
            }),
        ),
      },
      responses: {
        201: jsonResponse(SignedIn, 'Signed in as a member of the workspace', 'application/json', SIGNED_IN_EXAMPLE),
        ...problems(400, 401, 409, 429),
      },
    }),
    async (c) => {
      const { invitationCode, password, name } = c.req.valid('json')
      return c.json(
        signedIn(c, await acceptInvitation(c.var.deps, { invitation: invitationCode, password, name })),
        201,
      )
    },
  )

/** Sign-in routes (`/auth/*`), answering errors as problem details. */
export const auth: Surface = { name: 'auth', router, prefixes: ['/auth'], render: renderProblem }
