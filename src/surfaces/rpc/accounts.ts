import { z } from '@hono/zod-openapi'
import { createWorkspace, renameSelf, switchWorkspace } from '../../domain/workspaces'
import { principalOf } from '../../http/authenticate'
import { createRouter } from '../../http/router'
import { Empty, rpcAction } from './action'

// The dashboard calls a workspace an "account".
export const accounts = createRouter()
  .openapi(
    rpcAction({
      name: 'createNewAccount',
      tag: 'Accounts',
      summary: 'Create a workspace; the caller becomes its ADMIN and the session switches to it',
      description:
        'ADMIN only, on plans with ACTIVE_ACCOUNTS. The new workspace belongs to the same organization; a member may belong to at most MAX_WORKSPACES_PER_USER workspaces.',
      body: z
        .object({ newAccountName: z.string().max(200).openapi({ example: 'Staging' }) })
        .openapi({ example: { newAccountName: 'Staging' } }),
      response: z.object({ newAccountId: z.number().int(), newAccountName: z.string() }).openapi('NewAccount'),
      example: { newAccountId: 1000001, newAccountName: 'Staging' },
      answers: 'Account created; the session now acts in it',
      errors: [403],
    }),
    async (c) => {
      const created = await createWorkspace(c.var.deps, principalOf(c), c.req.valid('json').newAccountName)
      return c.json({ newAccountId: created.id, newAccountName: created.name }, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'goToAccount',
      tag: 'Accounts',
      summary: 'Switch the session to another workspace the caller belongs to',
      description: 'Any signed-in user with a session (API tokens are bound to their workspace).',
      body: z
        .object({ newAccountId: z.number().int().openapi({ example: 1000001 }) })
        .openapi({ example: { newAccountId: 1000001 } }),
      response: Empty,
      example: {},
      answers: 'Session switched to the workspace',
      errors: [404],
    }),
    async (c) => {
      await switchWorkspace(c.var.deps, principalOf(c), c.req.valid('json').newAccountId)
      return c.json({}, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'updateUsernameAndOrganization',
      tag: 'Accounts',
      summary: 'Rename the caller and, for an ADMIN, the organisation',
      description: 'Both names are validated before either is saved.',
      body: z
        .object({
          username: z.string().max(200).openapi({ description: 'At most 24 of letters, digits, spaces, - and _' }),
          organization: z
            .string()
            .max(200)
            .optional()
            .openapi({ description: 'Required for ADMINs: at most 24 of letters, digits, spaces, . & - and _' }),
        })
        .openapi({ example: { username: 'Alice Smith', organization: 'Acme' } }),
      response: Empty,
      example: {},
      errors: [403],
    }),
    async (c) => {
      const { username, organization } = c.req.valid('json')
      await renameSelf(c.var.deps, principalOf(c), { displayName: username, organizationName: organization })
      return c.json({}, 200)
    },
  )
