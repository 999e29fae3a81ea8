import { z } from '@hono/zod-openapi'
import {
  addTeamMember,
  createTeam,
  deleteTeam,
  getTeam,
  listMyTeams,
  listTeams,
  removeTeamMember,
  updateTeam,
} from '../../domain/teams'
import { principalOf } from '../../http/authenticate'
import { markerQuery } from '../../http/query'
import { createRouter } from '../../http/router'
import { presentPage, presentTeam, TeamSchema } from './present'
import { ListOf, ResourceId, restRoute } from './route'

const TAG = 'Teams'
const ADMIN_ONLY = 'ADMIN of the current workspace only.'

const TEAM = {
  id: 'T1E2A3M4I5',
  organizationId: 'O1R2G3I4D5',
  name: 'Platform security',
  description: 'Owns the CI scanners',
  createdAt: '2026-11-23T10:00:00.000Z',
  createdBy: 'A1B2C3D4E5',
  updatedAt: '2026-11-23T10:00:00.000Z',
  updatedBy: 'A1B2C3D4E5',
  defaultRoleId: 'GUEST',
}

const TeamList = ListOf('TeamList', TeamSchema)
const TeamParams = z.object({ team: ResourceId })
const MemberParams = z.object({ team: ResourceId, user: ResourceId })

const Name = z.string().max(1000).openapi({ description: 'One line of plain text, 1 to 100 characters' })
const Description = z.string().max(1000).openapi({ description: 'One line of plain text, at most 256 characters' })
const DefaultRoleId = z
  .string()
  .max(100)
  .openapi({ description: 'A built-in role or a custom role of the current workspace; default GUEST' })

const TeamSpec = z
  .strictObject({ name: Name, description: Description.optional(), defaultRoleId: DefaultRoleId.optional() })
  .openapi({
    example: { name: 'Platform security', description: 'Owns the CI scanners', defaultRoleId: 'GUEST' },
  })

const TeamUpdate = z
  .strictObject({
    name: Name.optional(),
    description: Description.nullable().optional().openapi({ description: 'null removes it' }),
    defaultRoleId: DefaultRoleId.optional(),
  })
  .openapi({ example: { defaultRoleId: 'DEVELOPER' } })

export const teams = createRouter()
  .openapi(
    restRoute({
      method: 'get',
      path: '/me/teams',
      operationId: 'listMyTeams',
      tag: 'Me',
      summary: 'List my teams',
      description:
        'The teams the caller belongs to in the organization of their current workspace, by creation. A service account or root belongs to none.',
      query: markerQuery,
      status: 200,
      response: TeamList,
      example: { items: [TEAM] },
      errors: [403],
    }),
    async (c) =>
      c.json(presentPage(await listMyTeams(c.var.deps, principalOf(c), c.req.valid('query')), presentTeam), 200),
  )
  .openapi(
    restRoute({
      method: 'get',
      path: '/org/teams',
      operationId: 'listTeams',
      tag: TAG,
      summary: 'List teams',
      description: `The teams of the organization of the current workspace, by creation. ${ADMIN_ONLY}`,
      query: markerQuery,
      status: 200,
      response: TeamList,
      example: { items: [TEAM], marker: 'eyJsaXN0IjoidGVhbXMiLCJhZnRlciI6MX0.c2lnbmF0dXJl' },
      errors: [403],
    }),
    async (c) =>
      c.json(presentPage(await listTeams(c.var.deps, principalOf(c), c.req.valid('query')), presentTeam), 200),
  )
  .openapi(
    restRoute({
      method: 'post',
      path: '/org/teams',
      operationId: 'createTeam',
      tag: TAG,
      summary: 'Create a team',
      description: `A team of the organization; its name is unique there (409 otherwise). ${ADMIN_ONLY}`,
      body: TeamSpec,
      status: 201,
      response: TeamSchema,
      example: TEAM,
      errors: [403, 409, 415],
    }),
    async (c) => c.json(presentTeam(await createTeam(c.var.deps, principalOf(c), c.req.valid('json'))), 201),
  )
  .openapi(
    restRoute({
      method: 'get',
      path: '/org/teams/{team}',
      operationId: 'describeTeam',
      tag: TAG,
      summary: 'Describe a team',
      description: `One team of the organization. ${ADMIN_ONLY}`,
      params: TeamParams,
      status: 200,
      response: TeamSchema,
      example: TEAM,
      errors: [403, 404],
    }),
    async (c) => c.json(presentTeam(await getTeam(c.var.deps, principalOf(c), c.req.valid('param').team)), 200),
  )
  .openapi(
    restRoute({
      method: 'patch',
      path: '/org/teams/{team}',
      operationId: 'updateTeam',
      tag: TAG,
      summary: 'Update a team',
      description: `Changes the fields given; members keep the role they were added with. ${ADMIN_ONLY}`,
      params: TeamParams,
      body: TeamUpdate,
      status: 200,
      response: TeamSchema,
      example: TEAM,
      errors: [403, 404, 409, 415],
    }),
    async (c) =>
      c.json(
        presentTeam(await updateTeam(c.var.deps, principalOf(c), c.req.valid('param').team, c.req.valid('json'))),
        200,
      ),
  )
  .openapi(
    restRoute({
      method: 'delete',
      path: '/org/teams/{team}',
      operationId: 'deleteTeam',
      tag: TAG,
      summary: 'Delete a team',
      description: `Deletes the team and its member list; the members stay in the organization. ${ADMIN_ONLY}`,
      params: TeamParams,
      status: 204,
      errors: [403, 404],
    }),
    async (c) => {
      await deleteTeam(c.var.deps, principalOf(c), c.req.valid('param').team)
      return c.body(null, 204)
    },
  )
  .openapi(
    restRoute({
      method: 'put',
      path: '/org/teams/{team}/members/{user}',
      operationId: 'addTeamMember',
      tag: TAG,
      summary: 'Add a team member',
      description: `Adds a person of the organization to the team with the team's default role; adding a member again changes nothing. ${ADMIN_ONLY}`,
      params: MemberParams,
      status: 204,
      errors: [403, 404],
    }),
    async (c) => {
      const { team, user } = c.req.valid('param')
      await addTeamMember(c.var.deps, principalOf(c), team, user)
      return c.body(null, 204)
    },
  )
  .openapi(
    restRoute({
      method: 'delete',
      path: '/org/teams/{team}/members/{user}',
      operationId: 'removeTeamMember',
      tag: TAG,
      summary: 'Remove a team member',
      description: `Takes the user off the team (404 if not a member); their place in the organization stays. ${ADMIN_ONLY}`,
      params: MemberParams,
      status: 204,
      errors: [403, 404],
    }),
    async (c) => {
      const { team, user } = c.req.valid('param')
      await removeTeamMember(c.var.deps, principalOf(c), team, user)
      return c.body(null, 204)
    },
  )
