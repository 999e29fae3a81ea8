import { z } from '@hono/zod-openapi'
import { createCustomRole, deleteCustomRole, updateCustomRole } from '../../domain/custom-roles'
import { makeAdmin, updateUserScopeRoleMapping } from '../../domain/members'
import { principalOf } from '../../http/authenticate'
import { EmailAddress } from '../../http/openapi'
import { createRouter } from '../../http/router'
import { Empty, rpcAction } from './action'
import { ScopeRoleMapping } from './team'

const CustomRole = z.object({
  roleName: z
    .string()
    .max(200)
    .openapi({ description: "1-50 of A-Z a-z 0-9 '-' '_'; stored upper-cased", example: 'AUDITOR' }),
  baseRole: z.string().max(64).openapi({ description: 'The built-in role it acts as', example: 'GUEST' }),
  apiCollectionIds: z.array(z.number().int()).max(90).optional(),
  defaultInviteRole: z.boolean().optional().openapi({ description: 'At most one role per workspace' }),
  allowedFeaturesForUser: z.array(z.string().max(64)).max(50).optional(),
})

export const roles = createRouter()
  .openapi(
    rpcAction({
      name: 'makeAdmin',
      tag: 'Roles',
      summary: "Change a member's role in the current product scope",
      body: z.object({
        email: EmailAddress,
        userRole: z
          .string()
          .max(64)
          .openapi({ description: 'Built-in or custom role; upper-cased', example: 'DEVELOPER' }),
      }),
      response: Empty,
    }),
    async (c) => {
      await makeAdmin(c.var.deps, principalOf(c), c.req.valid('json'))
      return c.json({}, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'updateUserScopeRoleMapping',
      tag: 'Roles',
      summary: "Replace a member's role per product scope (NO_ACCESS revokes a scope)",
      body: z.object({ email: EmailAddress, scopeRoleMapping: ScopeRoleMapping }),
      response: Empty,
    }),
    async (c) => {
      await updateUserScopeRoleMapping(c.var.deps, principalOf(c), c.req.valid('json'))
      return c.json({}, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'createCustomRole',
      tag: 'Roles',
      summary: 'Create a custom role',
      body: CustomRole,
      response: Empty,
    }),
    async (c) => {
      await createCustomRole(c.var.deps, principalOf(c), c.req.valid('json'))
      return c.json({}, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'updateCustomRole',
      tag: 'Roles',
      summary: 'Update a custom role',
      body: CustomRole,
      response: Empty,
    }),
    async (c) => {
      await updateCustomRole(c.var.deps, principalOf(c), c.req.valid('json'))
      return c.json({}, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'deleteCustomRole',
      tag: 'Roles',
      summary: 'Delete a custom role that no member or pending invitation holds',
      body: z.object({ roleName: z.string().max(200) }),
      response: Empty,
    }),
    async (c) => {
      await deleteCustomRole(c.var.deps, principalOf(c), c.req.valid('json').roleName)
      return c.json({}, 200)
    },
  )
