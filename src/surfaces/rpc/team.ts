import { createRoute, z } from '@hono/zod-openapi'
import type { ScopeRoleMap } from '../../db/schema'
import { getTeamData, type PendingInvitation, type TeamMember } from '../../domain/team'
import { principalOf } from '../../http/authenticate'
import { jsonBody, jsonResponse, secured } from '../../http/openapi'
import { createRouter } from '../../http/router'
import { rpcErrors } from './render'

const ScopeRoleMapping = z.record(z.string(), z.string()).openapi('ScopeRoleMapping', {
  example: { API: 'ADMIN', AGENTIC: 'MEMBER' },
})

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

/** An empty body: these actions take no parameters (unknown keys are ignored, as in Akto). */
export const NoParameters = z.object({}).openapi({ description: 'No request parameters required' })

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
  ...(m.scopeRoles ? { scopeRoleMapping: m.scopeRoles as Record<string, string> } : {}),
})

const presentInvitation = (i: PendingInvitation): z.infer<typeof TeamEntry> => ({
  id: i.issuerUserId ?? 0,
  login: i.email,
  name: '-',
  role: invitationText(i.scopeRoles),
  isInvitation: true,
})

export const team = createRouter().openapi(
  createRoute({
    method: 'post',
    path: '/api/getTeamData',
    tags: ['RPC · Team'],
    summary: 'Members and pending invitations of the current workspace',
    ...secured({ readOnly: true }),
    request: { body: jsonBody(NoParameters, false) },
    responses: {
      200: jsonResponse(z.array(TeamEntry), 'Users and pending invitations'),
      ...rpcErrors(400, 401, 403),
    },
  }),
  async (c) => {
    const { members, invitations } = await getTeamData(c.var.deps, principalOf(c))
    return c.json([...members.map(presentMember), ...invitations.map(presentInvitation)], 200)
  },
)
