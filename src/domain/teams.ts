import { and, asc, eq, gt, inArray, type SQL, sql } from 'drizzle-orm'
import { newPublicId } from '../auth/crypto'
import { named } from '../db/client'
import { organizations, teamMembers, teams, users } from '../db/schema'
import { authorize, authorizeIn } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { conflict, isUniqueViolation, notFound } from './errors'
import { type MarkerPage, type MarkerQuery, markerPage } from './listing'
import { peopleOf } from './organizations'
import type { Principal, WorkspaceAccess } from './principal'
import { resolveRole, unknownRole } from './roles'
import { validName } from './rules'
import { authSecret } from './sessions'

/** A named group of an organization's people, with the role its members get by default. */
export type Team = {
  id: number
  publicId: string
  organizationPublicId: string
  name: string
  description: string | null
  defaultRole: string
  createdAt: Date
  createdBy: string | null
  updatedAt: Date
  updatedBy: string | null
}

export type TeamInput = { name: string; description?: string; defaultRoleId?: string }
export type TeamUpdate = { name?: string; description?: string | null; defaultRoleId?: string }

const TEAM_NOT_FOUND = 'Team not found'
const USER_NOT_FOUND = 'User not found'

const teamColumns = {
  ...named('team', {
    id: teams.id,
    publicId: teams.publicId,
    name: teams.name,
    description: teams.description,
    defaultRole: teams.defaultRole,
    createdAt: teams.createdAt,
    createdBy: teams.createdBy,
    updatedAt: teams.updatedAt,
    updatedBy: teams.updatedBy,
  }),
  organizationPublicId: named('org', { publicId: organizations.publicId }).publicId,
}

/** The teams matching `where`, in key order (batch-safe: every column has a name of its own). */
const selectTeams = (deps: Deps, where: SQL | undefined) =>
  deps.db
    .select(teamColumns)
    .from(teams)
    .innerJoin(organizations, eq(organizations.id, teams.organizationId))
    .where(where)
    .orderBy(asc(teams.id))

const oneTeam = (deps: Deps, organizationId: number, publicId: string) =>
  selectTeams(deps, and(eq(teams.organizationId, organizationId), eq(teams.publicId, publicId)))

const after = (key: number | string | null) => (key === null ? undefined : gt(teams.id, Number(key)))

const requireTeam = async (deps: Deps, organizationId: number, publicId: string): Promise<Team> => {
  const [team] = await oneTeam(deps, organizationId, publicId)
  if (!team) throw notFound(TEAM_NOT_FOUND)
  return team
}

/** A role a team may give: built-in or custom in the current workspace; NO_ACCESS grants nothing. */
const teamRole = (ws: WorkspaceAccess, name: string) => {
  const role = resolveRole(name, ws.customRoles)
  if (!role || role.base === 'NO_ACCESS') throw unknownRole('Invalid defaultRoleId', name, ws.customRoles)
  return role.name
}

const duplicateName = (name: string) => conflict(`A team named '${name}' already exists in this organization`)

/** Team writes fail on the organization's UNIQUE name index rather than a racy read before them. */
const uniqueName = async <T>(name: string | undefined, write: () => Promise<T>): Promise<T> => {
  try {
    return await write()
  } catch (err) {
    if (name !== undefined && isUniqueViolation(err)) throw duplicateName(name)
    throw err
  }
}

/** The teams of the organization of the caller's workspace, one keyset page at a time. */
export const listTeams = async (deps: Deps, p: Principal, q: MarkerQuery): Promise<MarkerPage<Team>> => {
  const ws = await authorizeIn(deps, p, 'manageTeams')
  return markerPage(
    authSecret(deps),
    'teams',
    q,
    (key, take) => selectTeams(deps, and(eq(teams.organizationId, ws.organizationId), after(key))).limit(take),
    (t) => t.id,
  )
}

/** The teams the calling user belongs to in the organization of their workspace (none for keys of service accounts and root). */
export const listMyTeams = async (deps: Deps, p: Principal, q: MarkerQuery): Promise<MarkerPage<Team>> => {
  await authorize(deps, p, 'listOwnTeams')
  const organizationId = p.workspace?.organizationId
  const userId = p.kind === 'user' ? p.id : null
  return markerPage(
    authSecret(deps),
    'my-teams',
    q,
    async (key, take) =>
      organizationId === undefined || userId === null
        ? []
        : selectTeams(
            deps,
            and(
              eq(teams.organizationId, organizationId),
              inArray(
                teams.id,
                deps.db.select({ id: teamMembers.teamId }).from(teamMembers).where(eq(teamMembers.userId, userId)),
              ),
              after(key),
            ),
          ).limit(take),
    (t) => t.id,
  )
}

/** A new team of the caller's organization; its name is unique there. */
export const createTeam = async (deps: Deps, p: Principal, input: TeamInput): Promise<Team> => {
  const ws = await authorizeIn(deps, p, 'manageTeams')
  const name = validName(input.name, 'name', 100)
  const description = input.description === undefined ? null : validName(input.description, 'description', 256)
  const defaultRole = teamRole(ws, input.defaultRoleId ?? 'GUEST')
  const publicId = newPublicId()
  const now = deps.now()
  const [, [team]] = await uniqueName(name, () =>
    commit(deps, p, {
      event: { action: 'createTeam', targetType: 'team', targetId: publicId, detail: { name, defaultRole } },
      writes: [
        deps.db.insert(teams).values({
          publicId,
          organizationId: ws.organizationId,
          name,
          description,
          defaultRole,
          createdAt: now,
          createdBy: p.publicId,
          updatedAt: now,
          updatedBy: p.publicId,
        }),
        // Read back in the same batch: the answer carries the organization's public id.
        oneTeam(deps, ws.organizationId, publicId),
      ],
    }),
  )
  if (!team) throw new Error('The team was not stored')
  return team
}

export const getTeam = async (deps: Deps, p: Principal, teamId: string): Promise<Team> => {
  const ws = await authorizeIn(deps, p, 'manageTeams')
  return requireTeam(deps, ws.organizationId, teamId)
}

/** Changes the fields given; an empty update changes nothing. Members keep the role they were added with. */
export const updateTeam = async (deps: Deps, p: Principal, teamId: string, update: TeamUpdate): Promise<Team> => {
  const ws = await authorizeIn(deps, p, 'manageTeams')
  const changes: Partial<Pick<Team, 'name' | 'description' | 'defaultRole'>> = {}
  if (update.name !== undefined) changes.name = validName(update.name, 'name', 100)
  if (update.description !== undefined)
    changes.description = update.description === null ? null : validName(update.description, 'description', 256)
  if (update.defaultRoleId !== undefined) changes.defaultRole = teamRole(ws, update.defaultRoleId)
  const team = await requireTeam(deps, ws.organizationId, teamId)
  if (Object.keys(changes).length === 0) return team
  const [, [updated]] = await uniqueName(changes.name, () =>
    commit(deps, p, {
      event: { action: 'updateTeam', targetType: 'team', targetId: team.publicId, detail: changes },
      writes: [
        deps.db
          .update(teams)
          .set({ ...changes, updatedAt: deps.now(), updatedBy: p.publicId })
          .where(eq(teams.id, team.id)),
        oneTeam(deps, ws.organizationId, team.publicId),
      ],
    }),
  )
  if (!updated) throw notFound(TEAM_NOT_FOUND)
  return updated
}

export const deleteTeam = async (deps: Deps, p: Principal, teamId: string) => {
  const ws = await authorizeIn(deps, p, 'manageTeams')
  const team = await requireTeam(deps, ws.organizationId, teamId)
  await commit(deps, p, {
    event: { action: 'deleteTeam', targetType: 'team', targetId: team.publicId, detail: { name: team.name } },
    writes: [
      deps.db.delete(teamMembers).where(eq(teamMembers.teamId, team.id)),
      deps.db.delete(teams).where(eq(teams.id, team.id)),
    ],
  })
}

/** A team of the caller's organization and a person of it, in one round trip; either missing is a 404. */
const requireTeamAndPerson = async (deps: Deps, ws: WorkspaceAccess, teamId: string, userId: string) => {
  const [[team], [person]] = await deps.db.batch([
    oneTeam(deps, ws.organizationId, teamId),
    deps.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.publicId, userId), inArray(users.id, peopleOf(deps, ws.organizationId)))),
  ])
  if (!team) throw notFound(TEAM_NOT_FOUND)
  if (!person) throw notFound(USER_NOT_FOUND)
  return { team, person }
}

/** Adds a person of the organization to a team, with the team's default role; adding a member again changes nothing. */
export const addTeamMember = async (deps: Deps, p: Principal, teamId: string, userId: string) => {
  const ws = await authorizeIn(deps, p, 'manageTeams')
  const { team, person } = await requireTeamAndPerson(deps, ws, teamId, userId)
  await commit(deps, p, {
    event: { action: 'addTeamMember', targetType: 'team', targetId: team.publicId, detail: { user: userId } },
    // Both may go between the read and this batch: then nothing is written, and the caller gets the 404.
    checks: [
      {
        reason: 'team-exists',
        holds: sql`EXISTS ${deps.db.select({ one: sql`1` }).from(teams).where(eq(teams.id, team.id))}`,
        refusal: notFound(TEAM_NOT_FOUND),
      },
      {
        reason: 'person-of-organization',
        holds: sql`${person.id} IN ${peopleOf(deps, ws.organizationId)}`,
        refusal: notFound(USER_NOT_FOUND),
      },
    ],
    writes: [
      deps.db
        .insert(teamMembers)
        .values({
          teamId: team.id,
          userId: person.id,
          role: team.defaultRole,
          createdAt: deps.now(),
          createdBy: p.publicId,
        })
        .onConflictDoNothing(),
    ],
  })
}

/** Takes a member off a team; their place in the organization stays. Not a member: 404. */
export const removeTeamMember = async (deps: Deps, p: Principal, teamId: string, userId: string) => {
  const ws = await authorizeIn(deps, p, 'manageTeams')
  const [[team], [member]] = await deps.db.batch([
    oneTeam(deps, ws.organizationId, teamId),
    deps.db
      .select({ userId: teamMembers.userId })
      .from(teamMembers)
      .innerJoin(teams, eq(teams.id, teamMembers.teamId))
      .innerJoin(users, eq(users.id, teamMembers.userId))
      .where(and(eq(teams.organizationId, ws.organizationId), eq(teams.publicId, teamId), eq(users.publicId, userId))),
  ])
  if (!team) throw notFound(TEAM_NOT_FOUND)
  if (!member) throw notFound('User is not a member of this team')
  await commit(deps, p, {
    event: { action: 'removeTeamMember', targetType: 'team', targetId: team.publicId, detail: { user: userId } },
    writes: [
      deps.db.delete(teamMembers).where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, member.userId))),
    ],
  })
}
