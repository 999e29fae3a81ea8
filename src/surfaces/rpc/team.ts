import { z } from '@hono/zod-openapi'
import { invalid } from '../../domain/errors'
import { inviteMember, withdrawInvitation } from '../../domain/invitations'
import { removeMember } from '../../domain/members'
import type { ScopeRoleMap } from '../../domain/roles'
import { ROLE_HIERARCHY } from '../../domain/roles'
import { listTeam, type PendingInvitation, type TeamMember } from '../../domain/team'
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
  id: m.user.id,
  login: m.user.email,
  name: m.user.displayName ?? '',
  role: m.roleName,
  ...(m.membership.scopeRoles ? { scopeRoleMapping: m.membership.scopeRoles } : {}),
})

// Akto lists an invitation under its issuer's id, with the grant spelled out as its role.
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
      description:
        'Every role but NO_ACCESS. Members come first (with their role in the request scope and their scope map), then pending invitations.',
      response: z.array(TeamEntry),
      example: [
        { id: 1, login: 'alice@example.com', name: 'Alice', role: 'ADMIN', scopeRoleMapping: { API: 'ADMIN' } },
        {
          id: 1,
          login: 'bob@example.com',
          name: '-',
          role: 'Invitation sent for DEVELOPER on API Security',
          isInvitation: true,
        },
      ],
      answers: 'Users and pending invitations',
      errors: [403],
    }),
    async (c) => {
      const { members, invitations } = await listTeam(c.var.deps, principalOf(c))
      return c.json([...members.map(presentMember), ...invitations.map(presentInvitation)], 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'inviteUsers',
      tag: 'Team',
      summary: 'Invite a user to the current workspace (10 per hour per IP)',
      description:
        "ADMIN, MEMBER, THREAT_ENGINEER and THREAT_VIEWER invite within their own role in each scope; the address must share the workspace's email domain. The link (valid one week) is built from APP_ORIGIN and emailed through the job queue; inviting the same address again replaces its code.",
      body: z
        .object({
          inviteeEmail: EmailAddress.openapi({ description: 'Must belong to the same organisation domain' }),
          inviteeName: z.string().max(100).optional().openapi({ description: 'One line of plain text' }),
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
        })
        .openapi({ example: { inviteeEmail: 'bob@example.com', inviteeName: 'Bob', inviteeRole: 'DEVELOPER' } }),
      response: z
        .object({
          finalInviteCode: z.string().openapi({ description: 'The invitation link; its code is valid for one week' }),
          inviteeRole: z.string().optional(),
          scopeRoleMapping: ScopeRoleMapping,
        })
        .openapi('Invitation'),
      example: {
        finalInviteCode:
          'https://dash.example.com/addUserToAccount?signupInvitationCode=eyJhbGciOi...&signupEmailId=bob%40example.com',
        inviteeRole: 'DEVELOPER',
        scopeRoleMapping: { API: 'DEVELOPER' },
      },
      answers: 'Invitation sent successfully',
      errors: [403, 429],
    }),
    async (c) => {
      const body = c.req.valid('json')
      // Akto's legacy form: inviteeRole alone grants that role in the API scope.
      const scopeRoles =
        body.scopeRoleMapping && Object.keys(body.scopeRoleMapping).length
          ? body.scopeRoleMapping
          : body.inviteeRole !== undefined
            ? { API: body.inviteeRole }
            : null
      if (!scopeRoles) throw invalid('Either scopeRoleMapping or inviteeRole must be provided')
      const sent = await inviteMember(c.var.deps, principalOf(c), {
        email: body.inviteeEmail,
        name: body.inviteeName,
        scopeRoles,
      })
      return c.json(
        { finalInviteCode: sent.link, inviteeRole: body.inviteeRole, scopeRoleMapping: sent.scopeRoles },
        200,
      )
    },
  )
  .openapi(
    rpcAction({
      name: 'removeInvitation',
      tag: 'Team',
      summary: 'Withdraw a pending invitation (its issuer or an ADMIN)',
      description: 'The invitation must be pending in the current workspace.',
      body: z.object({ email: EmailAddress }).openapi({ example: { email: 'bob@example.com' } }),
      response: Empty,
      example: {},
      answers: 'Invitation removed successfully.',
      errors: [403, 404],
    }),
    async (c) => {
      await withdrawInvitation(c.var.deps, principalOf(c), c.req.valid('json').email)
      return c.json({}, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'removeUser',
      tag: 'Team',
      summary: 'Remove a user (or their pending invitation) from the current workspace',
      description:
        "ADMIN only, and only someone at or below the caller's role in every scope they hold. Their sessions in the workspace, their API tokens for it and the invitations they issued there end at once. No workspace may be left without an ADMIN in any scope.",
      body: z.object({ email: EmailAddress }).openapi({ example: { email: 'bob@example.com' } }),
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
      example: {
        email: 'bob@example.com',
        id: 2,
        passwordResetToken: null,
        roleHierarchy: 'SUCCESS',
        userRoleHierarchy: ['ADMIN', 'MEMBER', 'DEVELOPER', 'GUEST', 'THREAT_ENGINEER', 'THREAT_VIEWER'],
        users: null,
      },
      answers: 'User removed or invitation deleted successfully',
      errors: [403],
    }),
    async (c) => {
      const p = principalOf(c)
      const { email } = c.req.valid('json')
      const removed = await removeMember(c.var.deps, p, { email })
      return c.json(
        {
          email,
          id: removed.kind === 'member' ? removed.member.user.id : 0,
          passwordResetToken: null,
          roleHierarchy: 'SUCCESS',
          userRoleHierarchy: [...ROLE_HIERARCHY[p.workspace?.role ?? 'NO_ACCESS']],
          users: null,
        },
        200,
      )
    },
  )
