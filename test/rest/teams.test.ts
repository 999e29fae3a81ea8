import { env } from 'cloudflare:workers'
import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { auditEvents, memberships, serviceAccounts, teamMembers, teams, workspaces } from '../../src/db/schema'
import { api, db, type Headers, seedApiToken, seedCustomRole, seedOrganization, seedUser, signIn } from '../support'
import { expectPaging, expectProblem, seedAdminAndMember, send } from '../support/rest'

type Team = {
  id: string
  organizationId: string
  name: string
  description?: string
  createdAt: string
  createdBy?: string
  updatedAt: string
  updatedBy?: string
  defaultRoleId: string
}

const createTeam = async (headers: Headers, body: Record<string, unknown> = {}) => {
  const res = await send('POST', '/org/teams', headers, { name: `Team ${crypto.randomUUID()}`, ...body })
  expect(res.status).toBe(201)
  return res.json<Team>()
}

const teamRow = async (publicId: string) => (await db.select().from(teams).where(eq(teams.publicId, publicId)))[0]

const memberRows = async (teamPublicId: string) =>
  db
    .select({ userId: teamMembers.userId, role: teamMembers.role })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(eq(teams.publicId, teamPublicId))

describe('POST /org/teams', () => {
  it('creates a team of the caller’s organization, GUEST by default, and audits it', async () => {
    const { org, admin, headers } = await seedAdminAndMember()
    const res = await send('POST', '/org/teams', headers, { name: '  Platform  ', description: 'Owns CI' })
    expect(res.status).toBe(201)
    expect(res.headers.get('content-type')).toContain('application/json')
    const team = await res.json<Team>()
    expect(team).toEqual({
      id: expect.stringMatching(/^[A-Z0-9]{10}$/),
      organizationId: org.publicId,
      name: 'Platform',
      description: 'Owns CI',
      createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      createdBy: admin.publicId,
      updatedAt: team.createdAt,
      updatedBy: admin.publicId,
      defaultRoleId: 'GUEST',
    })
    const [event] = await db.select().from(auditEvents).where(eq(auditEvents.targetId, team.id))
    expect(event).toMatchObject({
      action: 'createTeam',
      actorId: admin.publicId,
      outcome: 'success',
      organizationId: org.id,
    })
  })

  it('takes a built-in role in any case, or a custom role of the workspace, as default role', async () => {
    const { workspace, headers } = await seedAdminAndMember()
    await seedCustomRole(workspace.id, 'AUDITOR', 'GUEST')
    expect((await createTeam(headers, { defaultRoleId: 'developer' })).defaultRoleId).toBe('DEVELOPER')
    expect((await createTeam(headers, { defaultRoleId: 'auditor' })).defaultRoleId).toBe('AUDITOR')
  })

  it('refuses invalid input with a problem naming the field, and creates nothing', async () => {
    const { org, headers } = await seedAdminAndMember()
    const cases: [unknown, RegExp][] = [
      [{}, /^name is required/],
      [{ name: '' }, /^name cannot be empty/],
      [{ name: '   ' }, /^name cannot be empty/],
      [{ name: 'a\nb' }, /^name must be one line/],
      [{ name: 'x\u202Eevil' }, /^name must be one line/],
      [{ name: 'x'.repeat(101) }, /^name can't be longer than 100/],
      [{ name: 42 }, /^name must be a string/],
      [{ name: 'ok', description: 'a\r\nb' }, /^description must be one line/],
      [{ name: 'ok', description: 'x'.repeat(257) }, /^description can't be longer than 256/],
      [{ name: 'ok', defaultRoleId: 'OWNER' }, /^Invalid defaultRoleId: OWNER\. Valid roles: ADMIN, MEMBER/],
      [{ name: 'ok', defaultRoleId: 'NO_ACCESS' }, /^Invalid defaultRoleId/],
      [{ name: 'ok', members: [] }, /unknown field: members/],
      ['{"name":', /./],
    ]
    for (const [body, message] of cases)
      await expectProblem(await send('POST', '/org/teams', headers, body), 400, message)
    const plain = { ...headers, 'Content-Type': 'text/plain' }
    await expectProblem(await api('/org/teams', { method: 'POST', headers: plain, body: '{"name":"x"}' }), 415)
    expect(await db.select().from(teams).where(eq(teams.organizationId, org.id))).toEqual([])
  })

  it('answers 409 for a name the organization already uses, and allows it in another organization', async () => {
    const { headers } = await seedAdminAndMember()
    const { headers: other } = await seedAdminAndMember()
    await createTeam(headers, { name: 'Red team' })
    await expectProblem(await send('POST', '/org/teams', headers, { name: ' Red team ' }), 409, /Red team/)
    await createTeam(other, { name: 'Red team' })
  })
})

describe('GET /org/teams/{team}', () => {
  it('describes a team of the organization', async () => {
    const { headers } = await seedAdminAndMember()
    const team = await createTeam(headers)
    const res = await send('GET', `/org/teams/${team.id}`, headers)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(team)
  })

  it('refuses ids that are not 10 upper-case letters and digits with 400, and unknown ones with 404', async () => {
    const { headers } = await seedAdminAndMember()
    for (const bad of ['abc', 'a1b2c3d4e5', 'A1B2C3D4E5F', 'A1B2C3D4E_'])
      expect(
        (await expectProblem(await send('GET', `/org/teams/${bad}`, headers), 400, /team/)).errors?.[0],
      ).toMatchObject({ parameter: 'team' })
    await expectProblem(await send('GET', '/org/teams/ZZZZZZZZZZ', headers), 404, /Team not found/)
  })
})

describe('PATCH /org/teams/{team}', () => {
  it('changes the fields given and who changed it; members keep their role', async () => {
    const { workspace, headers, member } = await seedAdminAndMember()
    const other = await seedUser(workspace.id, 'GUEST')
    const team = await createTeam(headers, { description: 'Old' })
    expect((await send('PUT', `/org/teams/${team.id}/members/${member.publicId}`, headers)).status).toBe(204)
    const res = await send('PATCH', `/org/teams/${team.id}`, headers, { name: 'Renamed', defaultRoleId: 'developer' })
    expect(res.status).toBe(200)
    const updated = await res.json<Team>()
    expect(updated).toMatchObject({ id: team.id, name: 'Renamed', description: 'Old', defaultRoleId: 'DEVELOPER' })
    expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(team.updatedAt))
    expect((await send('PUT', `/org/teams/${team.id}/members/${other.publicId}`, headers)).status).toBe(204)
    expect((await memberRows(team.id)).map((m) => m.role).sort()).toEqual(['DEVELOPER', 'GUEST'])

    const cleared = await send('PATCH', `/org/teams/${team.id}`, headers, { description: null })
    expect(await cleared.json()).not.toHaveProperty('description')
    const [event] = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.targetId, team.id), eq(auditEvents.action, 'updateTeam')))
    expect(event?.detail).toEqual({ name: 'Renamed', defaultRole: 'DEVELOPER' })
  })

  it('answers an empty update with the team unchanged', async () => {
    const { headers } = await seedAdminAndMember()
    const team = await createTeam(headers)
    const res = await send('PATCH', `/org/teams/${team.id}`, headers, {})
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(team)
  })

  it('refuses invalid fields, unknown fields and a taken name, and changes nothing', async () => {
    const { headers } = await seedAdminAndMember()
    const taken = await createTeam(headers)
    const team = await createTeam(headers)
    for (const [body, message] of [
      [{ name: '' }, /^name cannot be empty/],
      [{ name: 'a\tb' }, /^name must be one line/],
      [{ defaultRoleId: 'BOSS' }, /^Invalid defaultRoleId: BOSS/],
      [{ organizationId: 'A1B2C3D4E5' }, /unknown field: organizationId/],
      [{ name: null }, /^name must be a string/],
    ] as const)
      await expectProblem(await send('PATCH', `/org/teams/${team.id}`, headers, body), 400, message)
    await expectProblem(await send('PATCH', `/org/teams/${team.id}`, headers, { name: taken.name }), 409)
    expect(await (await send('GET', `/org/teams/${team.id}`, headers)).json()).toEqual(team)
  })
})

describe('DELETE /org/teams/{team}', () => {
  it('deletes the team and its member list, answering 204 without a body', async () => {
    const { headers, member, memberHeaders } = await seedAdminAndMember()
    const team = await createTeam(headers)
    await send('PUT', `/org/teams/${team.id}/members/${member.publicId}`, headers)
    const res = await send('DELETE', `/org/teams/${team.id}`, headers)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    await expectProblem(await send('GET', `/org/teams/${team.id}`, headers), 404)
    expect(await memberRows(team.id)).toEqual([])
    expect(await (await send('GET', '/me/teams', memberHeaders)).json()).toEqual({ items: [] })
    await expectProblem(await send('DELETE', `/org/teams/${team.id}`, headers), 404)
    // The member stays in the organization.
    expect(await db.select().from(memberships).where(eq(memberships.userId, member.id))).toHaveLength(1)
  })
})

describe('PUT /org/teams/{team}/members/{user}', () => {
  it("adds a person of the organization with the team's default role, idempotently", async () => {
    const { headers, member } = await seedAdminAndMember()
    const team = await createTeam(headers, { defaultRoleId: 'DEVELOPER' })
    for (let i = 0; i < 2; i++) {
      const res = await send('PUT', `/org/teams/${team.id}/members/${member.publicId}`, headers)
      expect(res.status).toBe(204)
      expect(await res.text()).toBe('')
    }
    expect(await memberRows(team.id)).toEqual([{ userId: member.id, role: 'DEVELOPER' }])
  })

  it('adds people of any workspace of the organization', async () => {
    const { org, headers } = await seedAdminAndMember()
    const [second] = await db
      .insert(workspaces)
      .values({ id: Math.floor(Math.random() * 1e9) + 2e9, organizationId: org.id, name: 'Second' })
      .returning()
    const elsewhere = await seedUser(second!.id, 'GUEST')
    const team = await createTeam(headers)
    expect((await send('PUT', `/org/teams/${team.id}/members/${elsewhere.publicId}`, headers)).status).toBe(204)
  })

  it('answers 404 for a user outside the organization, or unknown, and 400 for a malformed id', async () => {
    const { headers } = await seedAdminAndMember()
    const { member: stranger } = await seedAdminAndMember()
    const nobody = await seedUser(null)
    const team = await createTeam(headers)
    for (const user of [stranger, nobody])
      await expectProblem(
        await send('PUT', `/org/teams/${team.id}/members/${user.publicId}`, headers),
        404,
        /User not found/,
      )
    await expectProblem(await send('PUT', `/org/teams/${team.id}/members/ZZZZZZZZZZ`, headers), 404)
    await expectProblem(await send('PUT', `/org/teams/ZZZZZZZZZZ/members/${stranger.publicId}`, headers), 404, /Team/)
    const bad = await expectProblem(await send('PUT', `/org/teams/${team.id}/members/nope`, headers), 400, /user/)
    expect(bad.errors?.[0]?.parameter).toBe('user')
    expect(await memberRows(team.id)).toEqual([])
  })
})

describe('DELETE /org/teams/{team}/members/{user}', () => {
  it('takes the member off the team; their organization membership stays', async () => {
    const { headers, member, memberHeaders } = await seedAdminAndMember()
    const team = await createTeam(headers)
    await send('PUT', `/org/teams/${team.id}/members/${member.publicId}`, headers)
    const res = await send('DELETE', `/org/teams/${team.id}/members/${member.publicId}`, headers)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(await memberRows(team.id)).toEqual([])
    expect((await send('GET', '/me', memberHeaders)).status).toBe(200)
    await expectProblem(
      await send('DELETE', `/org/teams/${team.id}/members/${member.publicId}`, headers),
      404,
      /not a member/,
    )
  })
})

describe('GET /org/teams', () => {
  it("lists the organization's teams by creation, paging with limit and a signed marker", async () => {
    const { headers } = await seedAdminAndMember()
    const { headers: other } = await seedAdminAndMember()
    await createTeam(other)
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await createTeam(headers)).id)
    await createTeam(other)
    const otherMarker = (await (await send('GET', '/org/teams?limit=1', other)).json<{ marker: string }>()).marker
    // A marker of this list from another organization only says where to start: it cannot reach their teams.
    const fromOther = await (await send('GET', `/org/teams?marker=${encodeURIComponent(otherMarker)}`, headers)).json<{
      items: Team[]
    }>()
    expect(fromOther.items.every((t) => ids.includes(t.id))).toBe(true)
    await expectPaging('/org/teams', headers, ids, await myTeamsMarker())
  })

  it('answers an organization without teams with no items and no marker', async () => {
    const { headers } = await seedAdminAndMember()
    for (const q of ['', '?limit=0', '?limit=1'])
      expect(await (await send('GET', `/org/teams${q}`, headers)).json()).toEqual({ items: [] })
  })
})

/** A marker of another list: `/me/teams` of a user in two teams, shown one at a time. */
const myTeamsMarker = async () => {
  const { headers, workspace } = await seedAdminAndMember()
  const user = await seedUser(workspace.id, 'GUEST')
  for (let i = 0; i < 2; i++) {
    const team = await createTeam(headers)
    await send('PUT', `/org/teams/${team.id}/members/${user.publicId}`, headers)
  }
  const page = await (await send('GET', '/me/teams?limit=1', await signIn(user, workspace.id))).json<{
    marker: string
  }>()
  expect(page.marker).toBeDefined()
  return page.marker
}

describe('GET /me/teams', () => {
  it('lists the teams the caller belongs to in the organization of the current workspace only', async () => {
    const { workspace, headers } = await seedAdminAndMember()
    const { workspace: otherWorkspace, headers: otherAdmin } = await seedAdminAndMember()
    const user = await seedUser(workspace.id, 'GUEST')
    await db.insert(memberships).values({ workspaceId: otherWorkspace.id, userId: user.id, role: 'GUEST' })
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const team = await createTeam(headers)
      ids.push(team.id)
      await send('PUT', `/org/teams/${team.id}/members/${user.publicId}`, headers)
    }
    await createTeam(headers)
    const elsewhere = await createTeam(otherAdmin)
    expect((await send('PUT', `/org/teams/${elsewhere.id}/members/${user.publicId}`, otherAdmin)).status).toBe(204)

    const session = await signIn(user, workspace.id)
    const res = await send('GET', '/me/teams', session)
    expect(res.status).toBe(200)
    const body = await res.json<{ items: Team[] }>()
    expect(body.items.map((t) => t.id)).toEqual(ids)
    expect(body.items[0]).toEqual(await (await send('GET', `/org/teams/${ids[0]}`, headers)).json())
    const there = await (await send('GET', '/me/teams', await signIn(user, otherWorkspace.id))).json<{
      items: Team[]
    }>()
    expect(there.items.map((t) => t.id)).toEqual([elsewhere.id])

    const orgMarker = (await (await send('GET', '/org/teams?limit=1', headers)).json<{ marker: string }>()).marker
    await expectPaging('/me/teams', session, ids, orgMarker)
  })

  it('answers a service account key or root with no teams', async () => {
    const { org, workspace } = await seedOrganization()
    const [bot] = await db
      .insert(serviceAccounts)
      .values({ publicId: 'BOTTEAMS01', organizationId: org.id, username: 'bot' })
      .returning()
    await db.insert(memberships).values({ workspaceId: workspace.id, serviceAccountId: bot!.id, role: 'ADMIN' })
    const { headers } = await seedApiToken(workspace.id, { serviceAccountId: bot!.id })
    expect(await (await send('GET', '/me/teams', headers)).json()).toEqual({ items: [] })
    const root = { Authorization: `Bearer ${env.ROOT_TOKEN}`, account: String(workspace.id) }
    expect(await (await send('GET', '/me/teams', root)).json()).toEqual({ items: [] })
  })
})

describe('who may call the team routes', () => {
  const routes = (team: string, user: string): [string, string, unknown?][] => [
    ['GET', '/org/teams'],
    ['POST', '/org/teams', { name: 'Intruders' }],
    ['GET', `/org/teams/${team}`],
    ['PATCH', `/org/teams/${team}`, { name: 'Hijacked' }],
    ['DELETE', `/org/teams/${team}`],
    ['PUT', `/org/teams/${team}/members/${user}`],
    ['DELETE', `/org/teams/${team}/members/${user}`],
  ]

  it('answers 401 without credentials, on every route including /me/teams', async () => {
    for (const [method, path, body] of [
      ...routes('A1B2C3D4E5', 'A1B2C3D4E5'),
      ['GET', '/me/teams'] as [string, string],
    ]) {
      for (const headers of [{}, { Authorization: 'Bearer not.a.token' }] as Headers[]) {
        const problem = await expectProblem(await send(method, path, headers, body), 401)
        expect(problem.code, `${method} ${path}`).toBe('UNAUTHENTICATED')
      }
    }
  })

  it('answers 403 to a MEMBER, a GUEST and an ADMIN of another scope only, and changes nothing', async () => {
    const { workspace, headers, member, memberHeaders } = await seedAdminAndMember()
    const team = await createTeam(headers)
    await send('PUT', `/org/teams/${team.id}/members/${member.publicId}`, headers)
    const guest = await signIn(await seedUser(workspace.id, 'GUEST'), workspace.id)
    const dastAdmin = await signIn(
      await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'MEMBER', DAST: 'ADMIN' } }),
      workspace.id,
    )
    for (const caller of [memberHeaders, guest, dastAdmin])
      for (const [method, path, body] of routes(team.id, member.publicId))
        expect((await expectProblem(await send(method, path, caller, body), 403)).code, `${method} ${path}`).toBe(
          'FORBIDDEN',
        )
    expect((await send('GET', `/org/teams/${team.id}`, { ...dastAdmin, 'x-context-source': 'DAST' })).status).toBe(200)
    expect(await (await send('GET', `/org/teams/${team.id}`, headers)).json()).toEqual(team)
    expect(await memberRows(team.id)).toHaveLength(1)
    expect(await (await send('GET', '/me/teams', memberHeaders)).json()).toEqual({ items: [team] })
    const denied = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'manageTeams'), eq(auditEvents.outcome, 'denied')))
    expect(denied.length).toBeGreaterThanOrEqual(21)
  })

  it("answers 404 to another organization's ADMIN on every route naming a team or user, and changes nothing", async () => {
    const { headers, member } = await seedAdminAndMember()
    const { headers: stranger, member: theirMember } = await seedAdminAndMember()
    const team = await createTeam(headers)
    const theirTeam = await createTeam(stranger)
    await send('PUT', `/org/teams/${team.id}/members/${member.publicId}`, headers)
    for (const [method, path, body] of routes(team.id, member.publicId).filter(([, p]) => p !== '/org/teams'))
      await expectProblem(await send(method, path, stranger, body), 404)
    // Their own team, but our member: still 404.
    await expectProblem(await send('PUT', `/org/teams/${theirTeam.id}/members/${member.publicId}`, stranger), 404)
    await expectProblem(await send('DELETE', `/org/teams/${theirTeam.id}/members/${member.publicId}`, stranger), 404)
    expect((await send('PUT', `/org/teams/${theirTeam.id}/members/${theirMember.publicId}`, stranger)).status).toBe(204)

    expect(await (await send('GET', `/org/teams/${team.id}`, headers)).json()).toEqual(team)
    expect(await memberRows(team.id)).toEqual([{ userId: member.id, role: 'GUEST' }])
    expect(await memberRows(theirTeam.id)).toEqual([{ userId: theirMember.id, role: 'GUEST' }])
    const listed = await (await send('GET', '/org/teams', stranger)).json<{ items: Team[] }>()
    expect(listed.items.map((t) => t.id)).toEqual([theirTeam.id])
    expect((await teamRow(team.id))?.name).toBe(team.name)
  })
})
