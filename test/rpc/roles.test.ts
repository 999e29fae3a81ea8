import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { auditEvents, customRoles, invitations, memberships } from '../../src/db/schema'
import { allScopes } from '../../src/domain/roles'
import {
  db,
  expectRpcError,
  nextIp,
  post,
  seedCollection,
  seedCustomRole,
  seedOrganization,
  seedSignedIn,
  seedUser,
  setPlan,
  signIn,
} from '../support'

type TeamEntry = { id: number; login: string; role: string; scopeRoleMapping?: Record<string, string> }

const NO_PRODUCT_ACCESS =
  'You do not have access to this product. Please ask Admin to grant access or navigate to accessible product'
const MAY_NOT_MODIFY = /^User doesn't have access to modify this role\./

/** Asserts an error in the dashboard dialect: `{error, actionErrors}` with the given status. */
const expectOk = async (res: Response) => {
  const body = await res.json()
  expect({ status: res.status, body }).toEqual({ status: 200, body: {} })
}

const membershipOf = async (workspaceId: number, userId: number) => {
  const [row] = await db
    .select()
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
  return row!
}

/** The role a member holds in the API scope (where requests act without x-context-source). */
const apiRoleOf = async (workspaceId: number, userId: number) => {
  const m = await membershipOf(workspaceId, userId)
  return m.scopeRoles && Object.keys(m.scopeRoles).length ? m.scopeRoles.API : m.role
}

const rolesOf = (workspaceId: number) => db.select().from(customRoles).where(eq(customRoles.workspaceId, workspaceId))

const roleNamed = async (workspaceId: number, name: string) => (await rolesOf(workspaceId)).find((r) => r.name === name)

const auditRows = (action: string) => db.select().from(auditEvents).where(eq(auditEvents.action, action))

describe('POST /api/makeAdmin', () => {
  it('changes a GUEST to developer, upper-cased, and getTeamData shows the new role', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const guest = await seedUser(workspace.id, 'GUEST')
    await expectOk(await post('/api/makeAdmin', { email: guest.email, userRole: 'developer' }, headers))
    expect(await apiRoleOf(workspace.id, guest.id)).toBe('DEVELOPER')
    const team = await (await post('/api/getTeamData', {}, headers)).json<TeamEntry[]>()
    expect(team.find((e) => e.id === guest.id)?.role).toBe('DEVELOPER')
  })

  it('assigns a custom role and stores its name', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'AUDITOR', 'GUEST')
    const guest = await seedUser(workspace.id, 'GUEST')
    await expectOk(await post('/api/makeAdmin', { email: guest.email, userRole: 'auditor' }, headers))
    expect(await apiRoleOf(workspace.id, guest.id)).toBe('AUDITOR')
    const team = await (await post('/api/getTeamData', {}, headers)).json<TeamEntry[]>()
    expect(team.find((e) => e.id === guest.id)?.role).toBe('AUDITOR')
  })

  it('changes only the API entry of a scope map when no x-context-source is sent', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const scoped = await seedUser(workspace.id, 'MEMBER', { scopeRoles: { API: 'GUEST', AGENTIC: 'MEMBER' } })
    await expectOk(await post('/api/makeAdmin', { email: scoped.email, userRole: 'DEVELOPER' }, headers))
    expect((await membershipOf(workspace.id, scoped.id)).scopeRoles).toEqual({ API: 'DEVELOPER', AGENTIC: 'MEMBER' })
  })

  it('changes only the entry of the scope named by x-context-source', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const scoped = await seedUser(workspace.id, 'MEMBER', { scopeRoles: { API: 'GUEST', AGENTIC: 'MEMBER' } })
    const res = await post(
      '/api/makeAdmin',
      { email: scoped.email, userRole: 'GUEST' },
      { ...headers, 'x-context-source': 'AGENTIC' },
    )
    await expectOk(res)
    expect((await membershipOf(workspace.id, scoped.id)).scopeRoles).toEqual({ API: 'GUEST', AGENTIC: 'GUEST' })
    const team = await (await post('/api/getTeamData', {}, { ...headers, 'x-context-source': 'AGENTIC' })).json<
      TeamEntry[]
    >()
    expect(team.find((e) => e.id === scoped.id)?.role).toBe('GUEST')
  })

  it('rejects an unknown role with 400 Invalid user role', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const guest = await seedUser(workspace.id, 'GUEST')
    await expectRpcError(
      await post('/api/makeAdmin', { email: guest.email, userRole: 'SUPERUSER' }, headers),
      400,
      /^Invalid user role: \w+\. Valid roles: ADMIN, MEMBER/,
    )
    expect(await apiRoleOf(workspace.id, guest.id)).toBe('GUEST')
  })

  it('refuses to change the caller itself', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    await expectRpcError(
      await post('/api/makeAdmin', { email: user.email, userRole: 'GUEST' }, headers),
      400,
      'You cannot perform this action on yourself',
    )
    expect(await apiRoleOf(workspace.id, user.id)).toBe('ADMIN')
  })

  it('answers 404 User not found for an email that is not a member of the workspace', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    await expectRpcError(
      await post('/api/makeAdmin', { email: 'nobody-here@example.com', userRole: 'GUEST' }, headers),
      404,
      'User not found',
    )
    const loner = await seedUser(null)
    await expectRpcError(
      await post('/api/makeAdmin', { email: loner.email, userRole: 'GUEST' }, headers),
      404,
      'User not found',
    )
  })

  it('answers 404 for a user of another organization and leaves their role as it was', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const other = await seedOrganization()
    const stranger = await seedUser(other.workspace.id, 'GUEST')
    await expectRpcError(
      await post('/api/makeAdmin', { email: stranger.email, userRole: 'ADMIN' }, headers),
      404,
      'User not found',
    )
    expect(await apiRoleOf(other.workspace.id, stranger.id)).toBe('GUEST')
  })

  it('refuses a MEMBER caller with 403', async () => {
    const { workspace, headers } = await seedSignedIn('MEMBER')
    const guest = await seedUser(workspace.id, 'GUEST')
    await expectRpcError(
      await post('/api/makeAdmin', { email: guest.email, userRole: 'DEVELOPER' }, headers),
      403,
      "The role 'SECURITY ENGINEER' does not have access.",
    )
    expect(await apiRoleOf(workspace.id, guest.id)).toBe('GUEST')
  })

  it('does not let an ADMIN set NO_ACCESS', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const guest = await seedUser(workspace.id, 'GUEST')
    await expectRpcError(
      await post('/api/makeAdmin', { email: guest.email, userRole: 'NO_ACCESS' }, headers),
      403,
      MAY_NOT_MODIFY,
    )
    expect(await apiRoleOf(workspace.id, guest.id)).toBe('GUEST')
  })

  it('writes a makeAdmin audit event', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    const guest = await seedUser(workspace.id, 'GUEST')
    await expectOk(await post('/api/makeAdmin', { email: guest.email, userRole: 'MEMBER' }, headers))
    const rows = await auditRows('changeMemberRole')
    expect(rows).toContainEqual(
      expect.objectContaining({
        action: 'changeMemberRole',
        outcome: 'success',
        actorId: user.publicId,
        workspaceId: workspace.id,
        targetId: guest.publicId,
      }),
    )
  })
})

describe('POST /api/updateUserScopeRoleMapping', () => {
  it('stores the map exactly and leaves scopes left out with no access', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    await expectOk(
      await post(
        '/api/updateUserScopeRoleMapping',
        { email: member.email, scopeRoleMapping: { API: 'GUEST', AGENTIC: 'DEVELOPER' } },
        headers,
      ),
    )
    expect((await membershipOf(workspace.id, member.id)).scopeRoles).toEqual({ API: 'GUEST', AGENTIC: 'DEVELOPER' })

    const memberHeaders = await signIn(member, workspace.id)
    expect((await post('/api/getTeamData', {}, memberHeaders)).status).toBe(200)
    await expectRpcError(
      await post('/api/getTeamData', {}, { ...memberHeaders, 'x-context-source': 'DAST' }),
      403,
      NO_PRODUCT_ACCESS,
    )
    const team = await (await post('/api/getTeamData', {}, { ...headers, 'x-context-source': 'AGENTIC' })).json<
      TeamEntry[]
    >()
    expect(team.find((e) => e.id === member.id)).toMatchObject({
      role: 'DEVELOPER',
      scopeRoleMapping: { API: 'GUEST', AGENTIC: 'DEVELOPER' },
    })
  })

  it('revokes a scope set to NO_ACCESS', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER', { scopeRoles: { API: 'MEMBER', AGENTIC: 'MEMBER' } })
    const memberHeaders = await signIn(member, workspace.id)
    expect((await post('/api/getTeamData', {}, { ...memberHeaders, 'x-context-source': 'AGENTIC' })).status).toBe(200)
    await expectOk(
      await post(
        '/api/updateUserScopeRoleMapping',
        { email: member.email, scopeRoleMapping: { API: 'MEMBER', AGENTIC: 'NO_ACCESS' } },
        headers,
      ),
    )
    expect((await membershipOf(workspace.id, member.id)).scopeRoles).toEqual({ API: 'MEMBER', AGENTIC: 'NO_ACCESS' })
    await expectRpcError(
      await post('/api/getTeamData', {}, { ...memberHeaders, 'x-context-source': 'AGENTIC' }),
      403,
      NO_PRODUCT_ACCESS,
    )
    expect((await post('/api/getTeamData', {}, memberHeaders)).status).toBe(200)
  })

  it('rejects an unknown product scope with 400', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const res = await post(
      '/api/updateUserScopeRoleMapping',
      { email: member.email, scopeRoleMapping: { API: 'GUEST', FOO: 'GUEST' } },
      headers,
    )
    expect(res.status).toBe(400)
    const body = await res.json<{ error: string; actionErrors: string[] }>()
    expect(body.error).toMatch(/^Invalid product scope/)
    expect(body.actionErrors).toEqual([body.error])
    expect((await membershipOf(workspace.id, member.id)).scopeRoles).toEqual(allScopes('MEMBER'))
  })

  it('rejects an unknown role with 400 Invalid role', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    await expectRpcError(
      await post(
        '/api/updateUserScopeRoleMapping',
        { email: member.email, scopeRoleMapping: { API: 'SUPERUSER' } },
        headers,
      ),
      400,
      /^Invalid role: SUPERUSER\. Valid roles: /,
    )
    expect((await membershipOf(workspace.id, member.id)).scopeRoles).toEqual(allScopes('MEMBER'))
  })

  it('refuses a GUEST caller, even for their own map', async () => {
    const { workspace, user, headers } = await seedSignedIn('GUEST')
    const other = await seedUser(workspace.id, 'GUEST')
    const res = await post(
      '/api/updateUserScopeRoleMapping',
      { email: other.email, scopeRoleMapping: { API: 'ADMIN' } },
      headers,
    )
    await expectRpcError(res, 403, "The role 'GUEST' does not have access.")
    const self = await post(
      '/api/updateUserScopeRoleMapping',
      { email: user.email, scopeRoleMapping: { API: 'ADMIN', AGENTIC: 'ADMIN' } },
      headers,
    )
    expect(self.status).toBe(403)
    expect((await membershipOf(workspace.id, user.id)).scopeRoles).toEqual(allScopes('GUEST'))
    expect((await membershipOf(workspace.id, other.id)).scopeRoles).toEqual(allScopes('GUEST'))
  })

  it('refuses a MEMBER caller', async () => {
    const { workspace, headers } = await seedSignedIn('MEMBER')
    const other = await seedUser(workspace.id, 'GUEST')
    await expectRpcError(
      await post(
        '/api/updateUserScopeRoleMapping',
        { email: other.email, scopeRoleMapping: { API: 'GUEST' } },
        headers,
      ),
      403,
      "The role 'SECURITY ENGINEER' does not have access.",
    )
    expect((await membershipOf(workspace.id, other.id)).scopeRoles).toEqual(allScopes('GUEST'))
  })

  it('does not let an ADMIN of API who is MEMBER in AGENTIC grant AGENTIC ADMIN, to others or themselves', async () => {
    const { workspace, user, headers } = await seedSignedIn('MEMBER', {
      scopeRoles: { API: 'ADMIN', AGENTIC: 'MEMBER' },
    })
    const target = await seedUser(workspace.id, 'MEMBER', { scopeRoles: { API: 'GUEST', AGENTIC: 'GUEST' } })
    await expectRpcError(
      await post(
        '/api/updateUserScopeRoleMapping',
        { email: target.email, scopeRoleMapping: { API: 'GUEST', AGENTIC: 'ADMIN' } },
        headers,
      ),
      403,
      MAY_NOT_MODIFY,
    )
    await expectRpcError(
      await post(
        '/api/updateUserScopeRoleMapping',
        { email: user.email, scopeRoleMapping: { API: 'ADMIN', AGENTIC: 'ADMIN' } },
        headers,
      ),
      403,
      MAY_NOT_MODIFY,
    )
    expect((await membershipOf(workspace.id, target.id)).scopeRoles).toEqual({ API: 'GUEST', AGENTIC: 'GUEST' })
    expect((await membershipOf(workspace.id, user.id)).scopeRoles).toEqual({ API: 'ADMIN', AGENTIC: 'MEMBER' })
  })

  it('lets an ADMIN of API who is MEMBER in AGENTIC grant AGENTIC GUEST', async () => {
    const { workspace, headers } = await seedSignedIn('MEMBER', { scopeRoles: { API: 'ADMIN', AGENTIC: 'MEMBER' } })
    const target = await seedUser(workspace.id, 'MEMBER', { scopeRoles: { API: 'GUEST', AGENTIC: 'DEVELOPER' } })
    await expectOk(
      await post(
        '/api/updateUserScopeRoleMapping',
        { email: target.email, scopeRoleMapping: { API: 'GUEST', AGENTIC: 'GUEST' } },
        headers,
      ),
    )
    expect((await membershipOf(workspace.id, target.id)).scopeRoles).toEqual({ API: 'GUEST', AGENTIC: 'GUEST' })
  })

  it('gives MEMBER on every scope for an empty map when there is no default invite role', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const guest = await seedUser(workspace.id, 'GUEST')
    await expectOk(await post('/api/updateUserScopeRoleMapping', { email: guest.email, scopeRoleMapping: {} }, headers))
    expect((await membershipOf(workspace.id, guest.id)).scopeRoles).toEqual({
      API: 'MEMBER',
      AGENTIC: 'MEMBER',
      ENDPOINT: 'MEMBER',
      DAST: 'MEMBER',
    })
  })

  it('gives the default invite role on every scope for an empty map', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await expectOk(
      await post('/api/createCustomRole', { roleName: 'starter', baseRole: 'GUEST', defaultInviteRole: true }, headers),
    )
    await seedCustomRole(workspace.id, 'OTHER', 'MEMBER')
    const member = await seedUser(workspace.id, 'MEMBER')
    await expectOk(
      await post('/api/updateUserScopeRoleMapping', { email: member.email, scopeRoleMapping: {} }, headers),
    )
    expect((await membershipOf(workspace.id, member.id)).scopeRoles).toEqual({
      API: 'STARTER',
      AGENTIC: 'STARTER',
      ENDPOINT: 'STARTER',
      DAST: 'STARTER',
    })
  })

  it("answers 404 for another organization's user and changes nothing", async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const other = await seedOrganization()
    const stranger = await seedUser(other.workspace.id, 'GUEST')
    await expectRpcError(
      await post(
        '/api/updateUserScopeRoleMapping',
        { email: stranger.email, scopeRoleMapping: { API: 'ADMIN' } },
        headers,
      ),
      404,
      'User not found',
    )
    expect((await membershipOf(other.workspace.id, stranger.id)).scopeRoles).toEqual(allScopes('GUEST'))
  })
})

describe('POST /api/createCustomRole', () => {
  it("accepts the names from Akto's own test and stores them upper-cased", async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    for (const roleName of ['HELLO', 'HELLOworld', 'HELLOworld123', 'HELLO-world__ADMIN'])
      await expectOk(await post('/api/createCustomRole', { roleName, baseRole: 'GUEST' }, headers))
    const names = (await rolesOf(workspace.id)).map((r) => r.name).sort()
    expect(names).toEqual(['HELLO', 'HELLO-WORLD__ADMIN', 'HELLOWORLD', 'HELLOWORLD123'])
  })

  it('accepts a name of exactly 50 characters', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await expectOk(await post('/api/createCustomRole', { roleName: 'A'.repeat(50), baseRole: 'GUEST' }, headers))
    expect(await roleNamed(workspace.id, 'A'.repeat(50))).toBeDefined()
  })

  it('rejects names with characters other than letters, digits, - and _', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    for (const roleName of ['HELLO.WORLD', 'HELLO WORLD', 'héllo'])
      await expectRpcError(
        await post('/api/createCustomRole', { roleName, baseRole: 'GUEST' }, headers),
        400,
        "Role names can only be alphanumeric and contain '-'and '_'",
      )
    expect(await rolesOf(workspace.id)).toEqual([])
  })

  it('rejects an empty name', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    await expectRpcError(
      await post('/api/createCustomRole', { roleName: '', baseRole: 'GUEST' }, headers),
      400,
      'Role names cannot be empty.',
    )
  })

  it('rejects a name of 51 characters', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await expectRpcError(
      await post('/api/createCustomRole', { roleName: 'A'.repeat(51), baseRole: 'GUEST' }, headers),
      400,
      'Role names cannot be more than 50 characters.',
    )
    expect(await rolesOf(workspace.id)).toEqual([])
  })

  it('rejects every built-in role name in any case as a reserved keyword', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const reserved = [
      'ADMIN',
      'admin',
      'Member',
      'DEVELOPER',
      'guest',
      'THREAT_ENGINEER',
      'threat_viewer',
      'NO_ACCESS',
      'no_access',
      'viewer',
      'VIEWER',
    ]
    for (const roleName of reserved)
      await expectRpcError(
        await post('/api/createCustomRole', { roleName, baseRole: 'GUEST' }, headers),
        400,
        `${roleName} is a reserved keyword.`,
      )
    expect(await rolesOf(workspace.id)).toEqual([])
  })

  it('rejects a duplicate name in any case', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await expectOk(await post('/api/createCustomRole', { roleName: 'AUDITOR', baseRole: 'GUEST' }, headers))
    for (const roleName of ['AUDITOR', 'auditor', 'Auditor'])
      await expectRpcError(
        await post('/api/createCustomRole', { roleName, baseRole: 'MEMBER' }, headers),
        400,
        'Existing role with same name exists.',
      )
    expect(await rolesOf(workspace.id)).toEqual([expect.objectContaining({ name: 'AUDITOR', baseRole: 'GUEST' })])
  })

  it('rejects a base role that does not exist', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    for (const baseRole of ['SUPERUSER', 'SECURITY ENGINEER', ''])
      await expectRpcError(
        await post('/api/createCustomRole', { roleName: 'AUDITOR', baseRole }, headers),
        400,
        'Base role does not exist',
      )
    expect(await rolesOf(workspace.id)).toEqual([])
  })

  it('rejects a second default invite role', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await expectOk(
      await post('/api/createCustomRole', { roleName: 'FIRST', baseRole: 'GUEST', defaultInviteRole: true }, headers),
    )
    await expectRpcError(
      await post('/api/createCustomRole', { roleName: 'SECOND', baseRole: 'GUEST', defaultInviteRole: true }, headers),
      400,
      'Default invite role already exists.',
    )
    await expectOk(
      await post('/api/createCustomRole', { roleName: 'THIRD', baseRole: 'GUEST', defaultInviteRole: false }, headers),
    )
    const rows = await rolesOf(workspace.id)
    expect(rows.map((r) => [r.name, r.defaultInviteRole]).sort()).toEqual([
      ['FIRST', true],
      ['THIRD', false],
    ])
  })

  it('accepts collections of the workspace and rejects one that is not in it', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const other = await seedOrganization()
    const mine = await seedCollection(workspace.id, 'mine.example.com')
    const theirs = await seedCollection(other.workspace.id, 'theirs.example.com')
    const rejected = await post(
      '/api/createCustomRole',
      { roleName: 'SPY', baseRole: 'GUEST', apiCollectionIds: [mine.id, theirs.id] },
      headers,
    )
    expect(rejected.status).toBe(400)
    const body = await rejected.json<{ error: string; actionErrors: string[] }>()
    expect(body.actionErrors).toEqual([body.error])
    expect(await roleNamed(workspace.id, 'SPY')).toBeUndefined()

    await expectOk(
      await post(
        '/api/createCustomRole',
        { roleName: 'SCOPED', baseRole: 'GUEST', apiCollectionIds: [mine.id] },
        headers,
      ),
    )
    expect((await roleNamed(workspace.id, 'SCOPED'))?.apiCollectionIds).toEqual([mine.id])
  })

  it('keeps THREAT_ENGINEER and THREAT_VIEWER base roles as given', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await expectOk(await post('/api/createCustomRole', { roleName: 'HUNTER', baseRole: 'THREAT_ENGINEER' }, headers))
    await expectOk(await post('/api/createCustomRole', { roleName: 'WATCHER', baseRole: 'THREAT_VIEWER' }, headers))
    expect((await roleNamed(workspace.id, 'HUNTER'))?.baseRole).toBe('THREAT_ENGINEER')
    expect((await roleNamed(workspace.id, 'WATCHER'))?.baseRole).toBe('THREAT_VIEWER')
  })

  it('writes a createCustomRole audit event', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    await expectOk(await post('/api/createCustomRole', { roleName: 'AUDITOR', baseRole: 'GUEST' }, headers))
    expect(await auditRows('createCustomRole')).toContainEqual(
      expect.objectContaining({
        outcome: 'success',
        actorId: user.publicId,
        workspaceId: workspace.id,
        targetId: 'AUDITOR',
      }),
    )
  })

  it('refuses a MEMBER caller', async () => {
    const { workspace, headers } = await seedSignedIn('MEMBER')
    await expectRpcError(
      await post('/api/createCustomRole', { roleName: 'AUDITOR', baseRole: 'GUEST' }, headers),
      403,
      "The role 'SECURITY ENGINEER' does not have access.",
    )
    expect(await rolesOf(workspace.id)).toEqual([])
  })

  it('refuses with 403 when the plan lists features but not RBAC_FEATURE', async () => {
    const { org, workspace, headers } = await seedSignedIn('ADMIN')
    await setPlan(org.id, { SECURITY_TYPE_AGENTIC: true, RBAC_FEATURE: false })
    await expectRpcError(
      await post('/api/createCustomRole', { roleName: 'AUDITOR', baseRole: 'GUEST' }, headers),
      403,
      'This feature is not available in your plan.',
    )
    expect(await rolesOf(workspace.id)).toEqual([])

    await setPlan(org.id, { SECURITY_TYPE_AGENTIC: true, RBAC_FEATURE: true })
    await expectOk(await post('/api/createCustomRole', { roleName: 'AUDITOR', baseRole: 'GUEST' }, headers))
  })

  it('keeps custom roles per workspace: the same name in another workspace is fine', async () => {
    const first = await seedSignedIn('ADMIN')
    const second = await seedSignedIn('ADMIN')
    await expectOk(await post('/api/createCustomRole', { roleName: 'AUDITOR', baseRole: 'GUEST' }, first.headers))
    await expectOk(await post('/api/createCustomRole', { roleName: 'auditor', baseRole: 'MEMBER' }, second.headers))
    expect((await roleNamed(first.workspace.id, 'AUDITOR'))?.baseRole).toBe('GUEST')
    expect((await roleNamed(second.workspace.id, 'AUDITOR'))?.baseRole).toBe('MEMBER')
  })
})

describe('custom roles act as their base role', () => {
  it('forbids inviteUsers to a GUEST-based custom role and allows it on the very next request after its base becomes MEMBER', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await expectOk(await post('/api/createCustomRole', { roleName: 'WATCHER', baseRole: 'GUEST' }, headers))
    const watcher = await seedUser(workspace.id, 'WATCHER')
    const watcherHeaders = { ...(await signIn(watcher, workspace.id)), 'cf-connecting-ip': nextIp() }
    const invite = { inviteeEmail: 'someone-new@example.com', inviteeRole: 'GUEST' }

    await expectRpcError(
      await post('/api/inviteUsers', invite, watcherHeaders),
      403,
      "The role 'GUEST' does not have access.",
    )

    await expectOk(await post('/api/updateCustomRole', { roleName: 'WATCHER', baseRole: 'MEMBER' }, headers))
    const res = await post('/api/inviteUsers', invite, watcherHeaders)
    expect(res.status).not.toBe(403)
    expect(res.status).toBe(200)
    expect(await apiRoleOf(workspace.id, watcher.id)).toBe('WATCHER')
  })
})

describe('POST /api/updateCustomRole', () => {
  it('updates the base role and writes an audit event', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'AUDITOR', 'GUEST')
    await expectOk(await post('/api/updateCustomRole', { roleName: 'AUDITOR', baseRole: 'THREAT_VIEWER' }, headers))
    expect((await roleNamed(workspace.id, 'AUDITOR'))?.baseRole).toBe('THREAT_VIEWER')
    expect(await auditRows('updateCustomRole')).toContainEqual(
      expect.objectContaining({
        outcome: 'success',
        actorId: user.publicId,
        workspaceId: workspace.id,
        targetId: 'AUDITOR',
      }),
    )
  })

  it('answers 404 Role does not exist. for an unknown role', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    await expectRpcError(
      await post('/api/updateCustomRole', { roleName: 'GHOST', baseRole: 'GUEST' }, headers),
      404,
      'Role does not exist.',
    )
  })

  it('answers 404 for a role of another workspace and leaves it as it was', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const other = await seedOrganization()
    await seedCustomRole(other.workspace.id, 'THEIRS', 'GUEST')
    await expectRpcError(
      await post('/api/updateCustomRole', { roleName: 'THEIRS', baseRole: 'ADMIN' }, headers),
      404,
      'Role does not exist.',
    )
    expect((await roleNamed(other.workspace.id, 'THEIRS'))?.baseRole).toBe('GUEST')
  })

  it('keeps the default invite flag on the role that already has it, and refuses it to another role', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'STARTER', 'GUEST', true)
    await seedCustomRole(workspace.id, 'OTHER', 'GUEST')
    await expectOk(
      await post(
        '/api/updateCustomRole',
        { roleName: 'STARTER', baseRole: 'DEVELOPER', defaultInviteRole: true },
        headers,
      ),
    )
    expect(await roleNamed(workspace.id, 'STARTER')).toMatchObject({ baseRole: 'DEVELOPER', defaultInviteRole: true })

    await expectRpcError(
      await post('/api/updateCustomRole', { roleName: 'OTHER', baseRole: 'GUEST', defaultInviteRole: true }, headers),
      400,
      'Default invite role already exists.',
    )
    expect((await roleNamed(workspace.id, 'OTHER'))?.defaultInviteRole).toBe(false)
  })

  it('refuses a MEMBER caller', async () => {
    const { workspace, headers } = await seedSignedIn('MEMBER')
    await seedCustomRole(workspace.id, 'AUDITOR', 'GUEST')
    await expectRpcError(
      await post('/api/updateCustomRole', { roleName: 'AUDITOR', baseRole: 'ADMIN' }, headers),
      403,
      "The role 'SECURITY ENGINEER' does not have access.",
    )
    expect((await roleNamed(workspace.id, 'AUDITOR'))?.baseRole).toBe('GUEST')
  })
})

describe('POST /api/deleteCustomRole', () => {
  it('deletes a role nobody holds and writes an audit event', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'UNUSED', 'GUEST')
    await expectOk(await post('/api/deleteCustomRole', { roleName: 'UNUSED' }, headers))
    expect(await roleNamed(workspace.id, 'UNUSED')).toBeUndefined()
    expect(await auditRows('deleteCustomRole')).toContainEqual(
      expect.objectContaining({
        outcome: 'success',
        actorId: user.publicId,
        workspaceId: workspace.id,
        targetId: 'UNUSED',
      }),
    )
  })

  it('refuses while a member holds the role as their role', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'HELD', 'GUEST')
    await seedUser(workspace.id, 'HELD')
    await expectRpcError(
      await post('/api/deleteCustomRole', { roleName: 'HELD' }, headers),
      400,
      'Role is associated with users. Cannot delete.',
    )
    expect(await roleNamed(workspace.id, 'HELD')).toBeDefined()
  })

  it('refuses while a member holds the role inside a scope map', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'SCOPED', 'GUEST')
    await seedUser(workspace.id, 'MEMBER', { scopeRoles: { API: 'MEMBER', AGENTIC: 'SCOPED' } })
    await expectRpcError(
      await post('/api/deleteCustomRole', { roleName: 'SCOPED' }, headers),
      400,
      'Role is associated with users. Cannot delete.',
    )
    expect(await roleNamed(workspace.id, 'SCOPED')).toBeDefined()
  })

  it('refuses while a pending invitation holds the role', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'INVITED', 'GUEST')
    await expectOk(await post('/api/createCustomRole', { roleName: 'BYAPI', baseRole: 'GUEST' }, headers))
    const res = await post(
      '/api/inviteUsers',
      { inviteeEmail: 'pending-one@example.com', inviteeRole: 'BYAPI' },
      { ...headers, 'cf-connecting-ip': nextIp() },
    )
    expect(res.status).toBe(200)
    await expectRpcError(
      await post('/api/deleteCustomRole', { roleName: 'BYAPI' }, headers),
      400,
      'Role is associated with pending invites. Cannot delete.',
    )
    expect(await roleNamed(workspace.id, 'BYAPI')).toBeDefined()

    const [admin] = await db.select().from(memberships).where(eq(memberships.workspaceId, workspace.id))
    await db.insert(invitations).values({
      workspaceId: workspace.id,
      email: 'pending-two@example.com',
      scopeRoles: { API: 'GUEST', AGENTIC: 'INVITED' },
      issuerUserId: admin!.userId,
      codeHash: `hash-${crypto.randomUUID()}`,
      expiresAt: new Date(Date.now() + 86_400_000),
    })
    await expectRpcError(
      await post('/api/deleteCustomRole', { roleName: 'INVITED' }, headers),
      400,
      'Role is associated with pending invites. Cannot delete.',
    )
    expect(await roleNamed(workspace.id, 'INVITED')).toBeDefined()
  })

  it('answers 404 Role does not exist. for an unknown role', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    await expectRpcError(
      await post('/api/deleteCustomRole', { roleName: 'GHOST' }, headers),
      404,
      'Role does not exist.',
    )
  })

  it('refuses a MEMBER caller', async () => {
    const { workspace, headers } = await seedSignedIn('MEMBER')
    await seedCustomRole(workspace.id, 'UNUSED', 'GUEST')
    await expectRpcError(
      await post('/api/deleteCustomRole', { roleName: 'UNUSED' }, headers),
      403,
      "The role 'SECURITY ENGINEER' does not have access.",
    )
    expect(await roleNamed(workspace.id, 'UNUSED')).toBeDefined()
  })
})

describe('roles are judged in every scope they touch', () => {
  it('refuses makeAdmin on a member without a scope map unless the caller may assign in every scope', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN', { scopeRoles: { API: 'ADMIN', AGENTIC: 'GUEST' } })
    const target = await seedUser(workspace.id, 'GUEST', { scopeRoles: {} })
    // Without a scope map the new role would apply to AGENTIC too, where the caller is only GUEST.
    await expectRpcError(
      await post('/api/makeAdmin', { email: target.email, userRole: 'ADMIN' }, headers),
      403,
      MAY_NOT_MODIFY,
    )
    expect(await apiRoleOf(workspace.id, target.id)).toBe('GUEST')
  })

  it('changes only the scope entry, not the plain role, of a member with a scope map', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const target = await seedUser(workspace.id, 'AUDITOR_OLD', { scopeRoles: { API: 'GUEST' } })
    await expectOk(await post('/api/makeAdmin', { email: target.email, userRole: 'DEVELOPER' }, headers))
    expect(await membershipOf(workspace.id, target.id)).toMatchObject({
      role: 'AUDITOR_OLD',
      scopeRoles: { API: 'DEVELOPER' },
    })
  })

  it('lets only an ADMIN of every scope change custom roles', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN', { scopeRoles: { API: 'ADMIN', AGENTIC: 'MEMBER' } })
    await seedCustomRole(workspace.id, 'HELPER', 'GUEST')
    const message = 'Custom roles act in every product scope: only an ADMIN of every scope may change them'
    await expectRpcError(
      await post('/api/createCustomRole', { roleName: 'NEWONE', baseRole: 'GUEST' }, headers),
      403,
      message,
    )
    await expectRpcError(
      await post('/api/updateCustomRole', { roleName: 'HELPER', baseRole: 'ADMIN' }, headers),
      403,
      message,
    )
    await expectRpcError(await post('/api/deleteCustomRole', { roleName: 'HELPER' }, headers), 403, message)
    expect((await roleNamed(workspace.id, 'HELPER'))?.baseRole).toBe('GUEST')
  })

  it('deletes a custom role whose name survives only as a scope-mapped member plain role', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'FORMER', 'GUEST')
    await seedUser(workspace.id, 'FORMER', { scopeRoles: { API: 'DEVELOPER' } })
    await expectOk(await post('/api/deleteCustomRole', { roleName: 'FORMER' }, headers))
  })

  it('marks a NO_ACCESS refusal with X-No-Access-Error for the dashboard', async () => {
    const { headers } = await seedSignedIn('ADMIN', { scopeRoles: { AGENTIC: 'ADMIN' } })
    const res = await post('/api/getTeamData', {}, headers)
    expect(res.status).toBe(403)
    expect(res.headers.get('x-no-access-error')).toBe('true')
  })
})

describe('plan features', () => {
  it('gate createNewAccount, resetCollectionAccessTypes and API token utilities', async () => {
    const { org, headers } = await seedSignedIn('ADMIN')
    await setPlan(org.id, { RBAC_FEATURE: true })
    const plan = 'This feature is not available in your plan.'
    await expectRpcError(await post('/api/createNewAccount', { newAccountName: 'More' }, headers), 403, plan)
    await expectRpcError(await post('/api/resetCollectionAccessTypes', {}, headers), 403, plan)
    await expectRpcError(await post('/api/addApiToken', { tokenUtility: 'EXTERNAL_API' }, headers), 403, plan)
    await expectRpcError(await post('/api/addApiToken', { tokenUtility: 'CICD' }, headers), 403, plan)
    expect((await post('/api/addApiToken', { tokenUtility: 'BURP' }, headers)).status).toBe(200)
    await setPlan(org.id, { ACTIVE_ACCOUNTS: true, API_COLLECTIONS: true, AKTO_EXTERNAL_API: true })
    expect((await post('/api/addApiToken', { tokenUtility: 'EXTERNAL_API' }, headers)).status).toBe(200)
    expect((await post('/api/resetCollectionAccessTypes', {}, headers)).status).toBe(200)
  })
})
