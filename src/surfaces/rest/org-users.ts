import { z } from '@hono/zod-openapi'
import {
  createPerson,
  deletePerson,
  listPeople,
  readPerson,
  resetPersonMfa,
  updatePerson,
} from '../../domain/org-users'
import { changeOwnPassword, resetToTemporaryPassword } from '../../domain/passwords'
import { principalOf } from '../../http/authenticate'
import { EmailAddress } from '../../http/openapi'
import { markerQuery } from '../../http/query'
import { createRouter } from '../../http/router'
import { ProfileNames, presentPage, presentUser, USER_EXAMPLE, UserSchema } from './present'
import { ListOf, ResourceId, restRoute } from './route'

const User = z.object({ user: ResourceId })

const ADMINS =
  'ADMIN of the current workspace; a person of another organization is a 404. What is global to the person (their profile, password, second factor) needs an admin of every workspace they belong to, at or above their role in each scope.'

export const orgUsers = createRouter()
  .openapi(
    restRoute({
      method: 'get',
      path: '/org/users',
      operationId: 'listUsers',
      tag: 'Org users',
      summary: 'List users',
      description: `The people of the organization (a membership in one of its workspaces), in a stable order. ${ADMINS}`,
      query: markerQuery,
      status: 200,
      response: ListOf('UserList', UserSchema),
      example: { items: [USER_EXAMPLE], marker: 'eyJsaXN0Ijoib3JnL3VzZXJzIiwiYWZ0ZXIiOjJ9.Qm9…' },
      errors: [403],
    }),
    async (c) => {
      const page = await listPeople(c.var.deps, principalOf(c), c.req.valid('query'))
      return c.json(presentPage(page, presentUser), 200)
    },
  )
  .openapi(
    restRoute({
      method: 'post',
      path: '/org/users',
      operationId: 'createUser',
      tag: 'Org users',
      summary: 'Create a user',
      description: `A new person in the current workspace, with its default invite role (else GUEST) in every scope, and no password: give them a temporary one with POST /org/users/{user}/password/reset. A taken email is a 409. ${ADMINS}`,
      body: z
        .object({ email: EmailAddress, ...ProfileNames })
        .strict()
        .openapi({ example: { email: 'bob@example.com', givenName: 'Bob', displayName: 'Bob' } }),
      status: 201,
      response: UserSchema,
      example: USER_EXAMPLE,
      errors: [403, 409],
    }),
    async (c) => c.json(presentUser(await createPerson(c.var.deps, principalOf(c), c.req.valid('json'))), 201),
  )
  .openapi(
    restRoute({
      method: 'get',
      path: '/org/users/{user}',
      operationId: 'describeUser',
      tag: 'Org users',
      summary: 'Describe a user',
      description: ADMINS,
      params: User,
      status: 200,
      response: UserSchema,
      example: USER_EXAMPLE,
      errors: [403, 404],
    }),
    async (c) => c.json(presentUser(await readPerson(c.var.deps, principalOf(c), c.req.valid('param').user)), 200),
  )
  .openapi(
    restRoute({
      method: 'patch',
      path: '/org/users/{user}',
      operationId: 'updateUser',
      tag: 'Org users',
      summary: 'Update a user',
      description: `Changes only the fields sent; any other field is a 400. A new email replaces the sign-in address (409 when taken). ${ADMINS}`,
      params: User,
      body: z
        .object({ email: EmailAddress.optional(), ...ProfileNames })
        .strict()
        .openapi({ example: { displayName: 'Bobby' } }),
      status: 200,
      response: UserSchema,
      example: USER_EXAMPLE,
      errors: [403, 404, 409],
    }),
    async (c) =>
      c.json(
        presentUser(await updatePerson(c.var.deps, principalOf(c), c.req.valid('param').user, c.req.valid('json'))),
        200,
      ),
  )
  .openapi(
    restRoute({
      method: 'delete',
      path: '/org/users/{user}',
      operationId: 'deleteUser',
      tag: 'Org users',
      summary: 'Delete a user',
      description: `Ends the person's memberships, team memberships, API tokens, invitations and sessions in this organization, at once; their account goes only when no other organization has them. Deleting yourself is a 400, and no workspace may be left without an ADMIN. ${ADMINS}`,
      params: User,
      status: 204,
      errors: [403, 404],
    }),
    async (c) => {
      await deletePerson(c.var.deps, principalOf(c), c.req.valid('param').user)
      return c.body(null, 204)
    },
  )
  .openapi(
    restRoute({
      method: 'delete',
      path: '/org/users/{user}/mfa',
      operationId: 'resetUserMfa',
      tag: 'Org users',
      summary: 'Reset user MFA',
      description: `Removes the person's TOTP secret, recovery codes and trusted devices, and ends their sessions: they sign in again and may enrol anew. ${ADMINS}`,
      params: User,
      status: 204,
      errors: [403, 404],
    }),
    async (c) => {
      await resetPersonMfa(c.var.deps, principalOf(c), c.req.valid('param').user)
      return c.body(null, 204)
    },
  )
  .openapi(
    restRoute({
      method: 'post',
      path: '/org/users/{user}/password',
      operationId: 'changePassword',
      tag: 'Org users',
      summary: 'Change user password',
      description:
        'The user themself, with the current password (a wrong one is a 400, not a 401; guesses are throttled like sign-in). The user’s other sessions end; this one stays, and a temporary password’s restriction is lifted.',
      params: User,
      body: z
        .object({ currentPassword: z.string().max(1024), newPassword: z.string().max(1024) })
        .strict()
        .openapi({ example: { currentPassword: 'Old-password-1!', newPassword: 'New-password-2!' } }),
      status: 204,
      errors: [403, 429],
    }),
    async (c) => {
      await changeOwnPassword(c.var.deps, principalOf(c), c.req.valid('param').user, c.req.valid('json'))
      return c.body(null, 204)
    },
  )
  .openapi(
    restRoute({
      method: 'post',
      path: '/org/users/{user}/password/reset',
      operationId: 'resetPassword',
      tag: 'Org users',
      summary: 'Reset user password',
      description: `A temporary password of 20 random characters, answered once and never stored in clear. The old password, every session and every trusted device end at once; signing in with the temporary password gives a session that may only read /me and set a new password. ${ADMINS}`,
      params: User,
      status: 200,
      response: z.object({ password: z.string() }).openapi('TemporaryPassword'),
      example: { password: 'q7R!x2Lm9@kT4w#Zp8Nc' },
      errors: [403, 404],
    }),
    async (c) => c.json(await resetToTemporaryPassword(c.var.deps, principalOf(c), c.req.valid('param').user), 200),
  )
