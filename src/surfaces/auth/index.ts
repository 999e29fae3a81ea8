import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { acceptInvitation } from '../../domain/invitations'
import { TRUSTED_DEVICE_DAYS } from '../../domain/mfa'
import { verifyEmail } from '../../domain/profile'
import { bootstrap, completeSignIn, type Session, signIn } from '../../domain/sign-in'
import { bearerOf, HOST_COOKIE, SESSION_COOKIE } from '../../http/authenticate'
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
    passwordChangeRequired: z.boolean().optional().openapi({
      description:
        'Present (true) after an admin reset the password: this session may only read /me and set a new password (POST /org/users/{id}/password)',
    }),
    deviceToken: z.string().optional().openapi({
      description: 'With trustDevice: send it back (or keep its cookie) to skip the second factor for 30 days',
    }),
  })
  .openapi('SignedIn')

const SecondFactorRequired = z
  .object({
    mfaRequired: z.literal(true),
    mfaToken: z.string().openapi({ description: 'Complete the sign-in with POST /auth/login/mfa within 5 minutes' }),
  })
  .openapi('SecondFactorRequired')

const SIGNED_IN_EXAMPLE = {
  token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...',
  expiresAt: '2026-12-04T10:00:00.000Z',
  user: { id: 'A1B2C3D4E5', email: 'admin@example.com' },
}

const DEVICE_COOKIE = 'device'

/** The session also travels as an HttpOnly cookie for browsers, and so does a trusted device's token. */
export const signedIn = (c: Context<AppEnv>, s: Session & { deviceToken?: string | null }) => {
  setCookie(c, SESSION_COOKIE, s.token, { ...HOST_COOKIE, expires: s.expiresAt })
  if (s.deviceToken)
    setCookie(c, DEVICE_COOKIE, s.deviceToken, { ...HOST_COOKIE, maxAge: TRUSTED_DEVICE_DAYS * 24 * 60 * 60 })
  return {
    token: s.token,
    expiresAt: s.expiresAt.toISOString(),
    user: s.user,
    ...(s.passwordChangeRequired ? { passwordChangeRequired: true } : {}),
    ...(s.deviceToken ? { deviceToken: s.deviceToken } : {}),
  }
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
        'Returns a session token and sets the same session as an HttpOnly cookie. A wrong email and a wrong password get the same 401. A user with a second factor gets `{mfaRequired, mfaToken}` and no session, unless `deviceToken` (or its cookie) names one of their trusted devices. At most 10 attempts a minute per IP and per account from one IP, 50 per account in all.',
      request: {
        body: jsonBody(
          z
            .object({
              email: EmailAddress,
              password: Password,
              deviceToken: z
                .string()
                .max(128)
                .optional()
                .openapi({ description: 'A trusted device, from an earlier sign-in' }),
            })
            .openapi({ example: { email: 'admin@example.com', password: 'Change-me-1!' } }),
        ),
      },
      responses: {
        200: jsonResponse(
          z.union([SignedIn, SecondFactorRequired]),
          'Signed in, or a second factor is needed',
          'application/json',
          SIGNED_IN_EXAMPLE,
        ),
        ...problems(400, 401, 429),
      },
    }),
    async (c) => {
      const body = c.req.valid('json')
      const result = await signIn(c.var.deps, {
        ...body,
        deviceToken: body.deviceToken ?? getCookie(c, DEVICE_COOKIE, 'host'),
      })
      if (result.kind === 'secondFactor') return c.json({ mfaRequired: true as const, mfaToken: result.mfaToken }, 200)
      return c.json(signedIn(c, result), 200)
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/login/mfa',
      operationId: 'signInSecondFactor',
      tags: ['Auth'],
      summary: 'Complete a sign-in with the second factor',
      description:
        'The current 6-digit code of the authenticator app (each code is accepted once), or a recovery code (each works once). With trustDevice, the answer also carries a deviceToken, and its HttpOnly cookie, that skips the second factor on this device for 30 days. Throttled like sign-in.',
      request: {
        body: jsonBody(
          z
            .object({
              mfaToken: z.string().max(2048),
              code: z.string().max(16).optional().openapi({ example: '123456' }),
              recoveryCode: z.string().max(32).optional().openapi({ example: 'ABCDE-FGH23' }),
              trustDevice: z.boolean().optional(),
            })
            .openapi({ example: { mfaToken: 'eyJhbGciOi...', code: '123456', trustDevice: true } }),
        ),
      },
      responses: {
        200: jsonResponse(SignedIn, 'Signed in', 'application/json', { ...SIGNED_IN_EXAMPLE, deviceToken: 'mJ6u...' }),
        ...problems(400, 401, 429),
      },
    }),
    async (c) => c.json(signedIn(c, await completeSignIn(c.var.deps, c.req.valid('json'))), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/auth/verify-email',
      operationId: 'verifyEmail',
      tags: ['Auth'],
      summary: 'Verify an email address from the link emailed to it',
      description: 'The link of POST /me/emails: single use, valid 24 hours. A used or expired link is a 400.',
      request: {
        query: z.object({ token: z.string().max(128).openapi({ description: 'The token of the emailed link' }) }),
      },
      responses: {
        200: jsonResponse(
          z
            .object({ email: z.string(), verifiedAt: z.string().openapi({ format: 'date-time' }) })
            .openapi('VerifiedEmail'),
          'The address is verified',
          'application/json',
          { email: 'alice@work.example.com', verifiedAt: '2026-12-03T10:00:00.000Z' },
        ),
        ...problems(400),
      },
    }),
    async (c) => {
      const verified = await verifyEmail(c.var.deps, c.req.valid('query').token)
      return c.json({ email: verified.email, verifiedAt: verified.verifiedAt.toISOString() }, 200)
    },
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
