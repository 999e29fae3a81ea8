import { z } from '@hono/zod-openapi'
import { createCustomRole, deleteCustomRole, updateCustomRole } from '../../domain/custom-roles'
import { changeMemberRole, setMemberScopeRoles } from '../../domain/members'
import { principalOf } from '../../http/authenticate'
import { EmailAddress } from '../../http/openapi'
import { createRouter } from '../../http/router'
import { Empty, rpcAction } from './action'
import { ScopeRoleMapping } from './team'

const CustomRole = z
  .object({
    roleName: z
      .string()
      .max(200)
      .openapi({ description: "1-50 of A-Z a-z 0-9 '-' '_'; stored upper-cased", example: 'AUDITOR' }),
    baseRole: z.string().max(64).openapi({ description: 'The built-in role it acts as', example: 'GUEST' }),
    apiCollectionIds: z.array(z.number().int()).max(90).optional(),
    defaultInviteRole: z.boolean().optional().openapi({ description: 'At most one role per workspace' }),
    allowedFeaturesForUser: z.array(z.string().max(64)).max(50).optional(),
  })
  .openapi({ example: { roleName: 'AUDITOR', baseRole: 'GUEST', apiCollectionIds: [], defaultInviteRole: false } })

const CUSTOM_ROLES =
  'ADMIN of every scope the workspace grants (a custom role acts in every scope), on plans with RBAC_FEATURE.'

export const roles = createRouter()
  .openapi(
    rpcAction({
      name: 'makeAdmin',
      tag: 'Roles',
      summary: "Change a member's role in the current product scope",
      description:
        "ADMIN only, never on oneself. With a scope map, only the request scope's entry changes; without one, the role of every scope. The caller must be able to assign both the member's current role and the new one, and no scope may be left without an ADMIN.",
      body: z
        .object({
          email: EmailAddress,
          userRole: z
            .string()
            .max(64)
            .openapi({ description: 'Built-in or custom role; upper-cased', example: 'DEVELOPER' }),
        })
        .openapi({ example: { email: 'bob@example.com', userRole: 'DEVELOPER' } }),
      response: Empty,
      example: {},
      answers: 'User role updated',
      errors: [403, 404],
    }),
    async (c) => {
      const { email, userRole } = c.req.valid('json')
      await changeMemberRole(c.var.deps, principalOf(c), { email }, userRole)
      return c.json({}, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'updateUserScopeRoleMapping',
      tag: 'Roles',
      summary: "Replace a member's role per product scope (NO_ACCESS revokes a scope)",
      description:
        "ADMIN only. In every scope it changes, the caller must be able to assign both the member's current role and the new one; an empty map grants the default invite role (else MEMBER) in every scope.",
      body: z
        .object({ email: EmailAddress, scopeRoleMapping: ScopeRoleMapping })
        .openapi({ example: { email: 'bob@example.com', scopeRoleMapping: { API: 'DEVELOPER', DAST: 'NO_ACCESS' } } }),
      response: Empty,
      example: {},
      answers: 'Scope-role mapping updated',
      errors: [403, 404],
    }),
    async (c) => {
      const { email, scopeRoleMapping } = c.req.valid('json')
      await setMemberScopeRoles(c.var.deps, principalOf(c), { email }, scopeRoleMapping)
      return c.json({}, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'createCustomRole',
      tag: 'Roles',
      summary: 'Create a custom role',
      description: CUSTOM_ROLES,
      body: CustomRole,
      response: Empty,
      example: {},
      answers: 'Custom role created',
      errors: [403],
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
      description: CUSTOM_ROLES,
      body: CustomRole,
      response: Empty,
      example: {},
      answers: 'Custom role updated',
      errors: [403, 404],
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
      description: CUSTOM_ROLES,
      body: z.object({ roleName: z.string().max(200) }).openapi({ example: { roleName: 'AUDITOR' } }),
      response: Empty,
      example: {},
      answers: 'Custom role deleted',
      errors: [403, 404],
    }),
    async (c) => {
      await deleteCustomRole(c.var.deps, principalOf(c), c.req.valid('json').roleName)
      return c.json({}, 200)
    },
  )
