import { z } from '@hono/zod-openapi'
import { createNewAccount, goToAccount, updateUsernameAndOrganization } from '../../domain/workspaces'
import { principalOf } from '../../http/authenticate'
import { createRouter } from '../../http/router'
import { Empty, rpcAction } from './action'

export const accounts = createRouter()
  .openapi(
    rpcAction({
      name: 'createNewAccount',
      tag: 'Accounts',
      summary: 'Create a workspace; the caller becomes its ADMIN and the session switches to it',
      body: z.object({ newAccountName: z.string().max(200).openapi({ example: 'Staging' }) }),
      response: z.object({ newAccountId: z.number().int(), newAccountName: z.string() }).openapi('NewAccount'),
      description: 'Account created; the session now acts in it',
    }),
    async (c) => {
      const created = await createNewAccount(c.var.deps, principalOf(c), c.req.valid('json').newAccountName)
      return c.json({ newAccountId: created.id, newAccountName: created.name }, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'goToAccount',
      tag: 'Accounts',
      summary: 'Switch the session to another workspace the caller belongs to',
      body: z.object({ newAccountId: z.number().int().openapi({ example: 1000001 }) }),
      response: Empty,
      description: 'Session switched to the workspace',
    }),
    async (c) => {
      await goToAccount(c.var.deps, principalOf(c), c.req.valid('json').newAccountId)
      return c.json({}, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'updateUsernameAndOrganization',
      tag: 'Accounts',
      summary: 'Rename the caller and, for an ADMIN, the organisation',
      body: z.object({
        username: z.string().max(200).openapi({ description: 'At most 24 of letters, digits, spaces, - and _' }),
        organization: z
          .string()
          .max(200)
          .optional()
          .openapi({ description: 'Required for ADMINs: at most 24 of letters, digits, spaces, . & - and _' }),
      }),
      response: Empty,
    }),
    async (c) => {
      await updateUsernameAndOrganization(c.var.deps, principalOf(c), c.req.valid('json'))
      return c.json({}, 200)
    },
  )
