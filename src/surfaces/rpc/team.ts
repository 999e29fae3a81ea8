import { z } from '@hono/zod-openapi'
import type { ScopeRoleMap } from '../../db/schema'
import { inviteUsers, removeInvitation } from '../../domain/invitations'
import { removeUser } from '../../domain/members'
import { getTeamData, type PendingInvitation, type TeamMember } from '../../domain/team'
import { principalOf } from '../../http/authenticate'
import { EmailAddress } from '../../http/openapi'
import { createRouter } from '../../http/router'
import { Empty, rpcAction } from './action'

export const ScopeRoleMapping = z
  .record(z.string().max(32), z.string().max(64))
  .openapi('ScopeRoleMapping', { example: { API: 'ADMIN', AGENTIC: 'MEMBER' } })

const TeamEntry = z
  .object({
    id: z.number().int().openapi({ description: 'User id; for an invitation, the id of who sent it' }),
    login: z.string().openapi({ example: 'alice@example.com' }),
    name: z.string(),
    role: z.string().openapi({ description: 'Role in the current product scope', example: 'ADMIN' }),
    scopeRoleMapping: ScopeRoleMapping.optional(),
    isInvitation: z.boolean().optional(),
  })
  .openapi('TeamEntry')

const SCOPE_LABELS: Record<string, string> = {
  API: 'API Security',
  AGENTIC: 'Akto ARGUS',
  ENDPOINT: 'Akto ATLAS',
  DAST: 'DAST',
}

const invitationText = (scopeRoles: ScopeRoleMap) => {
  const grants = Object.entries(scopeRoles).map(([scope, role]) => `${role} on ${SCOPE_LABELS[scope] ?? scope}`)
  return grants.length ? `Invitation sent for ${grants.join(', ')}` : 'Invitation sent'
}

const presentMember = (m: TeamMember): z.infer<typeof TeamEntry> => ({
  id: m.userId,
  login: m.email,
  name: m.name,
  role: m.roleName,
  ...(m.scopeRoles ? { scopeRoleMapping: m.scopeRoles } : {}),
})

const presentInvitation = (i: PendingInvitation): z.infer<typeof TeamEntry> => ({
  id: i.issuerUserId ?? 0,
  login: i.email,
  name: '-',
  role: invitationText(i.scopeRoles),
  isInvitation: true,
})

export const team = createRouter()
  .openapi(
    rpcAction({
      name: 'getTeamData',
      tag: 'Team',
      summary: 'Members and pending invitations of the current workspace',
      readOnly: true,
      response: z.array(TeamEntry),
      description: 'Users and pending invitations',
    }),
    async (c) => {
      const { members, invitations } = await getTeamData(c.var.deps, principalOf(c))
      return c.json([...members.map(presentMember), ...invitations.map(presentInvitation)], 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'inviteUsers',
      tag: 'Team',
      summary: 'Invite a user to the current workspace (10 per hour per IP)',
      body: z.object({
        inviteeEmail: EmailAddress.openapi({ description: 'Must belong to the same organisation domain' }),
        inviteeName: z.string().max(100).optional(),
        inviteeRole: z.string().max(64).optional().openapi({
          description: "ADMIN, MEMBER, DEVELOPER, VIEWER or a custom role, within the inviter's hierarchy",
          example: 'DEVELOPER',
        }),
        scopeRoleMapping: ScopeRoleMapping.optional().openapi({
          description: 'Instead of inviteeRole: a role per scope',
        }),
        websiteHostName: z.string().max(2048).optional().openapi({
          description: 'Ignored: links are always built from the configured APP_ORIGIN',
        }),
      }),
      response: z
        .object({
          finalInviteCode: z.string().openapi({ description: 'The invitation link; its code is valid for one week' }),
          inviteeRole: z.string().optional(),
          scopeRoleMapping: ScopeRoleMapping,
        })
        .openapi('Invitation'),
      description: 'Invitation sent successfully',
    }),
    async (c) => c.json(await inviteUsers(c.var.deps, principalOf(c), c.req.valid('json')), 200),
  )
  .openapi(
    rpcAction({
      name: 'removeInvitation',
      tag: 'Team',
      summary: 'Withdraw a pending invitation (its issuer or an ADMIN)',
      body: z.object({ email: EmailAddress }),
      response: Empty,
      description: 'Invitation removed successfully.',
    }),
    async (c) => {
      await removeInvitation(c.var.deps, principalOf(c), c.req.valid('json').email)
      return c.json({}, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'removeUser',
      tag: 'Team',
      summary: 'Remove a user (or their pending invitation) from the current workspace',
      body: z.object({ email: EmailAddress }),
      response: z
        .object({
          email: z.string(),
          id: z.number().int().openapi({ description: 'The removed user, 0 for an invitation' }),
          passwordResetToken: z.null(),
          roleHierarchy: z.string(),
          userRoleHierarchy: z.array(z.string()),
          users: z.null(),
        })
        .openapi('RemovedUser'),
      description: 'User removed or invitation deleted successfully',
    }),
    async (c) => {
      const { email } = c.req.valid('json')
      const removed = await removeUser(c.var.deps, principalOf(c), email)
      return c.json(
        {
          email,
          id: removed.userId,
          passwordResetToken: null,
          roleHierarchy: 'SUCCESS',
          userRoleHierarchy: [...removed.hierarchy],
          users: null,
        },
        200,
      )
    },
  )
