import { and, count, eq, inArray, isNull } from 'drizzle-orm'
import { describe, expect, it, vi } from 'vitest'
import { newPublicId } from '../../src/auth/crypto'
import {
  apiTokens,
  auditEvents,
  customRoles,
  emailOutbox,
  invitations,
  jobs,
  logins,
  memberships,
  organizations,
  passwordResets,
  users,
  workspaces,
} from '../../src/db/schema'
import { effectiveRole, GRANTABLE_SCOPES } from '../../src/domain/roles'
import {
  db,
  expectRpcError,
  type Headers,
  nextIp,
  post,
  STRONG_PASSWORD,
  seedCustomRole,
  seedOrganization,
  seedSignedIn,
  seedUser,
  setPlan,
  signIn,
} from '../support'

/**
 * The attacker's side of the authorization holes that were closed: each test tries to get around
 * a rule, and shows the refusal, that nothing changed, and (where it matters) the audit trail.
 */

type TeamEntry = { id: number; login: string; role: string; isInvitation?: boolean }

const ROOT_TOKEN = 'test-only-root-token-of-32-characters'
const ALL_ADMIN = { API: 'ADMIN', AGENTIC: 'ADMIN', ENDPOINT: 'ADMIN', DAST: 'ADMIN' }
const ALL_MEMBER = { API: 'MEMBER', AGENTIC: 'MEMBER', ENDPOINT: 'MEMBER', DAST: 'MEMBER' }

const MAY_NOT_MODIFY = /^User doesn't have access to modify this role\./
const NOT_INVITED = 'This invitation is not valid any more: ask an admin to invite you again'
const PASSWORD_IS_GLOBAL =
  "This belongs to the user in every workspace: only an admin of each of the user's workspaces, at or above the user's role in every scope, may change it"
const ROOT_NEEDS_ACCOUNT = 'Root acts in one workspace at a time: send its id in the account header'
const ACCESS_CHANGED = 'Your access changed while this request was on its way; send it again'
const SESSION_ENDED = 'Session is invalid or has expired'
const lastAdmin = (scope: string) =>
  `This would leave the ${scope} scope of this workspace without an ADMIN: make someone else ADMIN there first`
const oneLine = (label: string) =>
  `${label} must be one line of plain text, without control characters, line breaks or direction overrides`

/** Root acting in a workspace, as an operator would call it. */
const rootIn = (workspaceId: number): Headers => ({
  Authorization: `Bearer ${ROOT_TOKEN}`,
  account: String(workspaceId),
})

/** A never-used address at example.com, the domain of every seeded workspace's first member. */
const freshEmail = () => `target-${newPublicId().toLowerCase()}@example.com`

const invite = (body: Record<string, unknown>, headers: Headers) =>
  post('/api/inviteUsers', body, { ...headers, 'CF-Connecting-IP': nextIp() })

/** Invites through the action and returns the link it answers; fails the test when refused. */
const inviteLink = async (
  headers: Headers,
  email: string,
  role: Record<string, unknown> = { inviteeRole: 'DEVELOPER' },
) => {
  const res = await invite({ inviteeEmail: email, ...role }, headers)
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json<{ finalInviteCode: string }>()).finalInviteCode
}

const signup = (body: Record<string, unknown>, ip = nextIp()) => post('/auth/signup', body, { 'CF-Connecting-IP': ip })

/** Accepts an invitation and returns the new session's headers; fails the test when refused. */
const accept = async (link: string, password = STRONG_PASSWORD) => {
  const res = await signup({ invitationCode: link, password })
  expect(res.status, await res.clone().text()).toBe(201)
  return { Authorization: `Bearer ${(await res.json<{ token: string }>()).token}` }
}

const membershipOf = async (workspaceId: number, userId: number) =>
  (
    await db
      .select()
      .from(memberships)
      .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
  )[0]

const usersWithEmail = (email: string) => db.select().from(users).where(eq(users.email, email))
const invitationsTo = (email: string) => db.select().from(invitations).where(eq(invitations.email, email))
const resetsOf = (userId: number) => db.select().from(passwordResets).where(eq(passwordResets.userId, userId))

const teamOf = async (headers: Headers) => {
  const res = await post('/api/getTeamData', {}, headers)
  expect(res.status).toBe(200)
  return res.json<TeamEntry[]>()
}

/** The status a session gets on a plain read of its workspace: 200 while it still acts. */
const sessionActs = async (headers: Headers) => (await post('/api/getTeamData', {}, headers)).status

/** Denied audit events of an action, optionally narrowed (by actor, workspace, or client IP). */
const deniedEvents = (action: string, where: { actorId?: string; workspaceId?: number; ip?: string } = {}) =>
  db
    .select()
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.action, action),
        eq(auditEvents.outcome, 'denied'),
        where.actorId === undefined ? undefined : eq(auditEvents.actorId, where.actorId),
        where.workspaceId === undefined ? undefined : eq(auditEvents.workspaceId, where.workspaceId),
        where.ip === undefined ? undefined : eq(auditEvents.ip, where.ip),
      ),
    )

/** How many members are ADMIN (custom roles resolved) in each grantable scope of a workspace. */
const adminsPerScope = async (workspaceId: number) => {
  const [rows, roles] = await Promise.all([
    db.select().from(memberships).where(eq(memberships.workspaceId, workspaceId)),
    db.select().from(customRoles).where(eq(customRoles.workspaceId, workspaceId)),
  ])
  const custom = new Map(roles.map((r) => [r.name, r.baseRole]))
  return Object.fromEntries(
    GRANTABLE_SCOPES.map((s) => [
      s,
      rows.filter((m) => m.userId !== null && effectiveRole(m, s, custom).base === 'ADMIN').length,
    ]),
  )
}

const expectAnAdminEverywhere = async (workspaceId: number) => {
  const admins = await adminsPerScope(workspaceId)
  for (const scope of GRANTABLE_SCOPES) expect(admins[scope], `ADMINs in ${scope}`).toBeGreaterThanOrEqual(1)
}

describe('removeUser judges the caller scope by scope', () => {
  it('refuses an ADMIN invited as ADMIN (API only) removing the all-scope creator: 403, the creator stays and still acts', async () => {
    const { workspace, user: creator, headers: creatorHeaders } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    const headers = await accept(await inviteLink(creatorHeaders, email, { inviteeRole: 'ADMIN' }))
    const [invited] = await usersWithEmail(email)
    expect((await membershipOf(workspace.id, invited!.id))?.scopeRoles).toEqual({ API: 'ADMIN' })
    const before = await membershipOf(workspace.id, creator.id)

    await expectRpcError(await post('/api/removeUser', { email: creator.email }, headers), 403, MAY_NOT_MODIFY)

    expect(await membershipOf(workspace.id, creator.id)).toEqual(before)
    expect(await db.select().from(logins).where(eq(logins.userId, creator.id))).toHaveLength(1)
    expect(await sessionActs(creatorHeaders)).toBe(200)
    expect(await deniedEvents('removeMember', { actorId: invited!.publicId, workspaceId: workspace.id })).toEqual([
      expect.objectContaining({ detail: { reason: expect.stringMatching(MAY_NOT_MODIFY) } }),
    ])
  })

  it('refuses a one-scope ADMIN removing a member who is GUEST in API but ADMIN in DAST', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const lead = await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'ADMIN' } })
    const hidden = await seedUser(workspace.id, 'GUEST', { scopeRoles: { API: 'GUEST', DAST: 'ADMIN' } })
    const before = await membershipOf(workspace.id, hidden.id)

    await expectRpcError(
      await post('/api/removeUser', { email: hidden.email }, await signIn(lead, workspace.id)),
      403,
      MAY_NOT_MODIFY,
    )
    expect(await membershipOf(workspace.id, hidden.id)).toEqual(before)
  })

  it('lets an all-scope ADMIN remove a one-scope ADMIN, whose session ends at once', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const lead = await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'ADMIN' } })
    const leadHeaders = await signIn(lead, workspace.id)

    const res = await post('/api/removeUser', { email: lead.email }, headers)
    expect(res.status).toBe(200)
    expect((await res.json<{ id: number }>()).id).toBe(lead.id)
    expect(await membershipOf(workspace.id, lead.id)).toBeUndefined()
    expect(await sessionActs(leadHeaders)).toBe(401)
  })
})

describe('an invitation dies with its issuer’s standing', () => {
  it('refuses the kept link of a MEMBER who was removed, for a new address and for an existing account', async () => {
    const { workspace, headers: adminHeaders } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const memberHeaders = await signIn(member, workspace.id)
    const email = freshEmail()
    const link = await inviteLink(memberHeaders, email)
    const existing = await seedUser(null, 'GUEST', { password: STRONG_PASSWORD })
    const existingLink = await inviteLink(memberHeaders, existing.email)

    expect((await post('/api/removeUser', { email: member.email }, adminHeaders)).status).toBe(200)
    expect(await invitationsTo(email)).toEqual([])

    for (const [invitationCode, password] of [
      [link, STRONG_PASSWORD],
      [new URL(link).searchParams.get('signupInvitationCode')!, STRONG_PASSWORD],
      [existingLink, STRONG_PASSWORD],
    ] as const) {
      const res = await signup({ invitationCode, password })
      expect(res.status).toBe(400)
      expect((await res.json<{ message: string }>()).message).toBe(NOT_INVITED)
    }
    expect(await usersWithEmail(email)).toEqual([])
    expect(await membershipOf(workspace.id, existing.id)).toBeUndefined()
    expect((await teamOf(adminHeaders)).filter((e) => e.isInvitation)).toEqual([])
  })

  for (const [how, demote] of [
    ['makeAdmin', (email: string) => ({ path: '/api/makeAdmin', body: { email, userRole: 'GUEST' } })],
    [
      'updateUserScopeRoleMapping',
      (email: string) => ({
        path: '/api/updateUserScopeRoleMapping',
        body: { email, scopeRoleMapping: { API: 'GUEST', AGENTIC: 'GUEST', ENDPOINT: 'GUEST', DAST: 'GUEST' } },
      }),
    ],
  ] as const) {
    it(`drops the pending invitation of a MEMBER demoted to GUEST through ${how}, and refuses its link`, async () => {
      const { workspace, headers: adminHeaders } = await seedSignedIn('ADMIN')
      const member = await seedUser(workspace.id, 'MEMBER')
      const email = freshEmail()
      const link = await inviteLink(await signIn(member, workspace.id), email)
      expect((await teamOf(adminHeaders)).some((e) => e.isInvitation && e.login === email)).toBe(true)

      const { path, body } = demote(member.email)
      expect((await post(path, body, adminHeaders)).status).toBe(200)

      expect((await teamOf(adminHeaders)).some((e) => e.login === email)).toBe(false)
      expect(await invitationsTo(email)).toEqual([])
      const res = await signup({ invitationCode: link, password: STRONG_PASSWORD })
      expect(res.status).toBe(400)
      expect((await res.json<{ message: string }>()).message).toBe(NOT_INVITED)
      expect(await usersWithEmail(email)).toEqual([])
    })
  }

  it('drops even a GUEST invitation once its MEMBER issuer becomes a DEVELOPER, who may not invite', async () => {
    const { workspace, headers: adminHeaders } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const email = freshEmail()
    const link = await inviteLink(await signIn(member, workspace.id), email, { inviteeRole: 'GUEST' })
    // A DEVELOPER outranks a GUEST but may not invite at all (INVITE_MEMBERS is READ for DEVELOPER).
    expect((await post('/api/makeAdmin', { email: member.email, userRole: 'DEVELOPER' }, adminHeaders)).status).toBe(
      200,
    )
    expect(await invitationsTo(email)).toEqual([])
    expect((await signup({ invitationCode: link, password: STRONG_PASSWORD })).status).toBe(400)
  })

  it('keeps a root-issued invitation working when a member-issued one beside it dies', async () => {
    const { workspace, user: admin, headers: adminHeaders } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const byMember = freshEmail()
    const memberLink = await inviteLink(await signIn(member, workspace.id), byMember, { inviteeRole: 'GUEST' })
    const byRoot = freshEmail()
    const rootLink = await inviteLink(rootIn(workspace.id), byRoot, { inviteeRole: 'MEMBER' })
    expect((await invitationsTo(byRoot))[0]).toMatchObject({ issuerKind: 'root', issuerUserId: null })
    expect((await post('/api/removeUser', { email: member.email }, adminHeaders)).status).toBe(200)

    expect((await signup({ invitationCode: memberLink, password: STRONG_PASSWORD })).status).toBe(400)
    const headers = await accept(rootLink)
    const [created] = await usersWithEmail(byRoot)
    expect(await membershipOf(workspace.id, created!.id)).toMatchObject({ scopeRoles: { API: 'MEMBER' } })
    expect((await teamOf(headers)).map((e) => e.login)).toEqual(expect.arrayContaining([admin.email, byRoot]))
  })

  it('refuses the link of an issuer whose custom role lost its standing, with a denied acceptInvitation event', async () => {
    const { workspace, headers: adminHeaders } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'LEAD', 'MEMBER')
    const lead = await seedUser(workspace.id, 'LEAD')
    const email = freshEmail()
    const link = await inviteLink(await signIn(lead, workspace.id), email)
    expect((await post('/api/updateCustomRole', { roleName: 'LEAD', baseRole: 'GUEST' }, adminHeaders)).status).toBe(
      200,
    )

    const ip = nextIp()
    const res = await signup({ invitationCode: link, password: STRONG_PASSWORD }, ip)
    expect(res.status).toBe(400)
    expect((await res.json<{ message: string }>()).message).toBe(NOT_INVITED)
    expect(await usersWithEmail(email)).toEqual([])
    expect((await invitationsTo(email))[0]?.status).toBe('pending')
    await vi.waitFor(async () =>
      expect(await deniedEvents('acceptInvitation', { ip })).toEqual([
        expect.objectContaining({ actorType: 'anonymous', detail: { reason: NOT_INVITED } }),
      ]),
    )
  })
})

describe('no change leaves a scope without an ADMIN', () => {
  it('refuses the only ADMIN demoting themselves through updateUserScopeRoleMapping, naming the scope', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    await seedUser(workspace.id, 'MEMBER')
    const before = await membershipOf(workspace.id, user.id)
    for (const [scopeRoleMapping, scope] of [
      [{ ...ALL_ADMIN, DAST: 'MEMBER' }, 'DAST'],
      [{ ...ALL_ADMIN, AGENTIC: 'NO_ACCESS' }, 'AGENTIC'],
      [{ API: 'ADMIN' }, 'AGENTIC'],
      [ALL_MEMBER, 'API'],
      [{}, 'API'],
    ] as const) {
      const res = await post('/api/updateUserScopeRoleMapping', { email: user.email, scopeRoleMapping }, headers)
      await expectRpcError(res, 400, lastAdmin(scope))
    }
    expect(await membershipOf(workspace.id, user.id)).toEqual(before)
    // Still an ADMIN who acts: another admin-only action goes through.
    expect((await post('/api/applyAccessType', {}, headers)).status).toBe(200)
    expect(await deniedEvents('setMemberScopeRoles', { actorId: user.publicId })).toHaveLength(5)
  })

  it('lets one of two ADMINs demote the other, then refuses the remaining one demoting themselves', async () => {
    const { workspace, user: first, headers } = await seedSignedIn('ADMIN')
    const second = await seedUser(workspace.id, 'ADMIN')
    expect(
      (await post('/api/updateUserScopeRoleMapping', { email: second.email, scopeRoleMapping: ALL_MEMBER }, headers))
        .status,
    ).toBe(200)
    await expectRpcError(
      await post('/api/updateUserScopeRoleMapping', { email: first.email, scopeRoleMapping: ALL_MEMBER }, headers),
      400,
      lastAdmin('API'),
    )
    expect((await membershipOf(workspace.id, first.id))?.scopeRoles).toEqual(ALL_ADMIN)
    await expectAnAdminEverywhere(workspace.id)
  })

  it('refuses even root removing or demoting the last ADMIN of a scope', async () => {
    const { workspace, user: creator } = await seedSignedIn('ADMIN', {
      scopeRoles: { API: 'ADMIN', AGENTIC: 'ADMIN', ENDPOINT: 'ADMIN', DAST: 'MEMBER' },
    })
    const dastAdmin = await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'GUEST', DAST: 'ADMIN' } })
    const dastHeaders = await signIn(dastAdmin, workspace.id)
    const root = rootIn(workspace.id)

    await expectRpcError(await post('/api/removeUser', { email: dastAdmin.email }, root), 400, lastAdmin('DAST'))
    await expectRpcError(
      await post(
        '/api/makeAdmin',
        { email: dastAdmin.email, userRole: 'MEMBER' },
        { ...root, 'x-context-source': 'DAST' },
      ),
      400,
      lastAdmin('DAST'),
    )
    await expectRpcError(await post('/api/removeUser', { email: creator.email }, root), 400, lastAdmin('API'))
    await expectRpcError(
      await post(
        '/api/updateUserScopeRoleMapping',
        { email: creator.email, scopeRoleMapping: { API: 'MEMBER' } },
        root,
      ),
      400,
      lastAdmin('API'),
    )

    expect(await membershipOf(workspace.id, dastAdmin.id)).toMatchObject({
      scopeRoles: { API: 'GUEST', DAST: 'ADMIN' },
    })
    expect(await sessionActs({ ...dastHeaders, 'x-context-source': 'DAST' })).toBe(200)
    expect(await adminsPerScope(workspace.id)).toEqual({ API: 1, AGENTIC: 1, ENDPOINT: 1, DAST: 1 })
    expect(await deniedEvents('removeMember', { actorId: 'root', workspaceId: workspace.id })).toHaveLength(2)
  })

  it('counts an ADMIN by custom role, and refuses that one demoting themselves once alone', async () => {
    const { workspace, user: builtIn, headers: builtInHeaders } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'BOSS', 'ADMIN')
    const boss = await seedUser(workspace.id, 'BOSS')
    const bossHeaders = await signIn(boss, workspace.id)

    expect(
      (
        await post(
          '/api/updateUserScopeRoleMapping',
          { email: builtIn.email, scopeRoleMapping: ALL_MEMBER },
          bossHeaders,
        )
      ).status,
    ).toBe(200)
    await expectRpcError(
      await post('/api/updateUserScopeRoleMapping', { email: boss.email, scopeRoleMapping: ALL_MEMBER }, bossHeaders),
      400,
      lastAdmin('API'),
    )
    expect(await sessionActs(builtInHeaders)).toBe(200)
    expect(await adminsPerScope(workspace.id)).toEqual({ API: 1, AGENTIC: 1, ENDPOINT: 1, DAST: 1 })
  })

  // Defect: updateCustomRole has no last-ADMIN check, so lowering the base of the role that makes
  // the only ADMIN an ADMIN answers 200 and leaves every scope without one.
  it('refuses lowering the base of the custom role that makes the only ADMIN an ADMIN', async () => {
    const { workspace } = await seedOrganization()
    await seedCustomRole(workspace.id, 'BOSS', 'ADMIN')
    const boss = await seedUser(workspace.id, 'BOSS')
    await seedUser(workspace.id, 'MEMBER')
    const headers = await signIn(boss, workspace.id)

    const res = await post('/api/updateCustomRole', { roleName: 'BOSS', baseRole: 'GUEST' }, headers)
    await expectRpcError(res, 400, lastAdmin('API'))
    await expectAnAdminEverywhere(workspace.id)
  })

  for (const [how, attack] of [
    ['makeAdmin', (email: string, headers: Headers) => post('/api/makeAdmin', { email, userRole: 'MEMBER' }, headers)],
    [
      'updateUserScopeRoleMapping',
      (email: string, headers: Headers) =>
        post('/api/updateUserScopeRoleMapping', { email, scopeRoleMapping: ALL_MEMBER }, headers),
    ],
    ['removeUser', (email: string, headers: Headers) => post('/api/removeUser', { email }, headers)],
  ] as const) {
    it(`leaves an ADMIN in every scope when two ADMINs ${how} each other at the same time`, async () => {
      for (let round = 0; round < 4; round++) {
        const { workspace, user: a, headers: aHeaders } = await seedSignedIn('ADMIN')
        const b = await seedUser(workspace.id, 'ADMIN')
        const bHeaders = await signIn(b, workspace.id)

        const results = await Promise.all([attack(b.email, aHeaders), attack(a.email, bHeaders)])
        const statuses = results.map((r) => r.status)
        expect(statuses.filter((s) => s === 200).length, String(statuses)).toBeLessThanOrEqual(1)
        // The loser's own standing changed under it: refused as stale (or ended) before the
        // last-ADMIN check is even reached.
        for (const res of results.filter((r) => r.status !== 200)) {
          const { error } = await res.json<{ error: string }>()
          expect([
            { status: 400, error: ACCESS_CHANGED },
            { status: 400, error: lastAdmin('API') },
            { status: 401, error: SESSION_ENDED },
          ]).toContainEqual({ status: res.status, error })
        }
        await expectAnAdminEverywhere(workspace.id)
      }
    })
  }

  it('lets only one of two ADMINs demoting themselves at the same time succeed', async () => {
    for (let round = 0; round < 4; round++) {
      const { workspace, user: a, headers: aHeaders } = await seedSignedIn('ADMIN')
      const b = await seedUser(workspace.id, 'ADMIN')
      const bHeaders = await signIn(b, workspace.id)
      const demoteSelf = (email: string, headers: Headers) =>
        post('/api/updateUserScopeRoleMapping', { email, scopeRoleMapping: ALL_MEMBER }, headers)

      const results = await Promise.all([demoteSelf(a.email, aHeaders), demoteSelf(b.email, bHeaders)])
      expect(results.map((r) => r.status).sort()).toEqual([200, 400])
      await expectRpcError(results.find((r) => r.status === 400)!, 400, lastAdmin('API'))
      await expectAnAdminEverywhere(workspace.id)
    }
  })

  it('lets root remove only one of the last two ADMINs when it removes both at the same time', async () => {
    for (let round = 0; round < 4; round++) {
      const { workspace, user: a } = await seedSignedIn('ADMIN')
      const b = await seedUser(workspace.id, 'ADMIN')
      await seedUser(workspace.id, 'MEMBER')
      const root = rootIn(workspace.id)

      const results = await Promise.all([a, b].map((u) => post('/api/removeUser', { email: u.email }, root)))
      expect(results.map((r) => r.status).sort()).toEqual([200, 400])
      await expectRpcError(results.find((r) => r.status === 400)!, 400, lastAdmin('API'))
      await expectAnAdminEverywhere(workspace.id)
    }
  })
})

describe('resetUserPassword judges the caller in every workspace of the user', () => {
  it('refuses a one-scope ADMIN a reset link for an all-scope ADMIN, storing nothing', async () => {
    const { workspace, user: creator } = await seedSignedIn('ADMIN')
    const lead = await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'ADMIN' } })

    const res = await post('/api/resetUserPassword', { userEmail: creator.email }, await signIn(lead, workspace.id))
    await expectRpcError(res, 403, PASSWORD_IS_GLOBAL)
    expect(await resetsOf(creator.id)).toEqual([])
    expect(await deniedEvents('issuePasswordReset', { actorId: lead.publicId })).toHaveLength(1)
  })

  it('refuses an admin of A for a user who is also in B, until the caller administers B as well', async () => {
    const a = await seedSignedIn('ADMIN', { password: STRONG_PASSWORD })
    const b = await seedSignedIn('ADMIN')
    const target = await seedUser(a.workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    await accept(await inviteLink(b.headers, target.email, { inviteeRole: 'GUEST' }))
    const reset = () => post('/api/resetUserPassword', { userEmail: target.email }, a.headers)

    // Not a member of B.
    await expectRpcError(await reset(), 403, PASSWORD_IS_GLOBAL)
    // A MEMBER of B.
    await accept(await inviteLink(b.headers, a.user.email, { inviteeRole: 'MEMBER' }))
    expect(await membershipOf(b.workspace.id, a.user.id)).toMatchObject({ scopeRoles: { API: 'MEMBER' } })
    await expectRpcError(await reset(), 403, PASSWORD_IS_GLOBAL)
    expect(await resetsOf(target.id)).toEqual([])
    expect(await deniedEvents('issuePasswordReset', { actorId: a.user.publicId })).toHaveLength(2)

    // An ADMIN of every scope of B too.
    const promote = { email: a.user.email, scopeRoleMapping: ALL_ADMIN }
    expect((await post('/api/updateUserScopeRoleMapping', promote, b.headers)).status).toBe(200)
    const res = await reset()
    expect(res.status).toBe(200)
    expect(await resetsOf(target.id)).toHaveLength(1)
  })
})

describe('refusals leave an audit event', () => {
  it('records makeAdmin and updateUserScopeRoleMapping above the caller’s standing', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const lead = await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'ADMIN' } })
    const headers = await signIn(lead, workspace.id)
    // A membership without a scope map: its role applies in every scope.
    const legacy = await seedUser(workspace.id, 'MEMBER', { scopeRoles: {} })
    const mapped = await seedUser(workspace.id, 'MEMBER')

    await expectRpcError(
      await post('/api/makeAdmin', { email: legacy.email, userRole: 'DEVELOPER' }, headers),
      403,
      MAY_NOT_MODIFY,
    )
    await expectRpcError(
      await post(
        '/api/updateUserScopeRoleMapping',
        { email: mapped.email, scopeRoleMapping: { API: 'MEMBER', DAST: 'ADMIN' } },
        headers,
      ),
      403,
      MAY_NOT_MODIFY,
    )
    expect(await membershipOf(workspace.id, legacy.id)).toMatchObject({ role: 'MEMBER', scopeRoles: {} })
    expect((await membershipOf(workspace.id, mapped.id))?.scopeRoles).toEqual({
      API: 'MEMBER',
      AGENTIC: 'MEMBER',
      ENDPOINT: 'MEMBER',
      DAST: 'MEMBER',
    })
    for (const action of ['changeMemberRole', 'setMemberScopeRoles'])
      expect(await deniedEvents(action, { actorId: lead.publicId, workspaceId: workspace.id })).toEqual([
        expect.objectContaining({ actorType: 'user', detail: { reason: expect.stringMatching(MAY_NOT_MODIFY) } }),
      ])
  })

  it('records a cookie-authenticated write from a foreign Origin (CSRF), which changes nothing', async () => {
    const { user, headers } = await seedSignedIn('ADMIN', { name: 'Kept Name' })
    const token = headers.Authorization!.replace('Bearer ', '')
    const ip = nextIp()
    const res = await post(
      '/api/updateUsernameAndOrganization',
      { username: 'Hijacked', organization: 'Hijacked' },
      { Cookie: `__Host-session=${token}`, Origin: 'https://evil.example', 'CF-Connecting-IP': ip },
    )
    await expectRpcError(res, 403, /^Cross-site request refused/)
    expect((await db.select().from(users).where(eq(users.id, user.id)))[0]?.displayName).toBe('Kept Name')
    await vi.waitFor(async () =>
      expect(await deniedEvents('authenticate', { ip })).toEqual([
        expect.objectContaining({ actorType: 'anonymous', detail: { reason: expect.stringMatching(/^Cross-site/) } }),
      ]),
    )
    expect(await sessionActs(headers)).toBe(200)
  })

  it('records a 40-character bearer that is neither the root token nor a key, and lets it change nothing', async () => {
    const { workspace, user } = await seedSignedIn('ADMIN')
    const victim = await seedUser(workspace.id, 'MEMBER')
    const ip = nextIp()
    const bearer = `${ROOT_TOKEN}xyz`
    expect(bearer).toHaveLength(40)
    const res = await post(
      '/api/removeUser',
      { email: victim.email },
      { Authorization: `Bearer ${bearer}`, account: String(workspace.id), 'CF-Connecting-IP': ip },
    )
    expect(res.status).toBe(401)
    expect(await membershipOf(workspace.id, victim.id)).toBeDefined()
    expect(await membershipOf(workspace.id, user.id)).toBeDefined()
    await vi.waitFor(
      async () =>
        expect(await deniedEvents('authenticate', { ip })).toEqual([
          expect.objectContaining({
            actorType: 'anonymous',
            detail: expect.objectContaining({ prefix: 'test', path: '/api/removeUser' }),
          }),
        ]),
      { timeout: 5000, interval: 50 },
    )
  })

  it('records login throttling, which also refuses the right password from that address', async () => {
    const { workspace } = await seedOrganization()
    const target = await seedUser(workspace.id, 'ADMIN', { password: STRONG_PASSWORD })
    const ip = nextIp()
    const login = (password: string) =>
      post('/auth/login', { email: target.email, password }, { 'CF-Connecting-IP': ip })
    for (let i = 0; i < 10; i++) expect((await login('Wrong-Password-1')).status).toBe(401)
    expect((await login('Wrong-Password-1')).status).toBe(429)
    expect((await login(STRONG_PASSWORD)).status).toBe(429)
    expect(await db.select().from(logins).where(eq(logins.userId, target.id))).toEqual([])
    await vi.waitFor(async () => {
      const events = await deniedEvents('signIn', { ip })
      expect(events.length).toBeGreaterThanOrEqual(2)
      expect(events[0]).toMatchObject({
        actorType: 'anonymous',
        detail: { reason: expect.stringMatching(/^Too many/) },
      })
    })
  })
})

describe('the workspace limit per user holds under parallel createNewAccount', () => {
  const LIMIT = 'You can belong to at most 11 accounts'

  const membershipCount = async (userId: number) =>
    (await db.select({ n: count() }).from(memberships).where(eq(memberships.userId, userId)))[0]?.n ?? 0

  /** Workspaces of the organization that nobody belongs to (a creation that half happened). */
  const orphanWorkspaces = (organizationId: number) =>
    db
      .select({ id: workspaces.id })
      .from(workspaces)
      .leftJoin(memberships, eq(memberships.workspaceId, workspaces.id))
      .where(and(eq(workspaces.organizationId, organizationId), isNull(memberships.id)))

  const fire = (headers: Headers, n = 15) =>
    Promise.all(
      Array.from({ length: n }, (_, i) => post('/api/createNewAccount', { newAccountName: `Burst ${i}` }, headers)),
    )

  it('keeps one session at 11 memberships: refusals are 400, and no workspace is left without a member', async () => {
    const { org, user, headers } = await seedSignedIn('ADMIN')
    for (let i = 0; i < 9; i++)
      expect((await post('/api/createNewAccount', { newAccountName: `Step ${i}` }, headers)).status).toBe(200)
    expect(await membershipCount(user.id)).toBe(10)

    const results = await fire(headers)
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1)
    for (const res of results.filter((r) => r.status !== 200)) {
      expect(res.status).toBe(400)
      // The session moves to each workspace it creates, so requests that were on their way when
      // it moved are refused as stale before the limit is even counted.
      expect([LIMIT, ACCESS_CHANGED]).toContain((await res.json<{ error: string }>()).error)
    }
    expect(await membershipCount(user.id)).toBeLessThanOrEqual(11)
    expect(await orphanWorkspaces(org.id)).toEqual([])
    await expectRpcError(await post('/api/createNewAccount', { newAccountName: 'One more' }, headers), 400, LIMIT)
  })

  it('stops at exactly 11 when 15 calls with one API key all reach the limit check', async () => {
    const { org, user, headers } = await seedSignedIn('ADMIN')
    const created = await post('/api/addApiToken', { tokenUtility: 'EXTERNAL_API' }, headers)
    const [token] = (await created.json<{ apiTokenList: { key: string }[] }>()).apiTokenList

    const results = await fire({ 'X-API-KEY': token!.key })
    expect(results.filter((r) => r.status === 200)).toHaveLength(10)
    for (const res of results.filter((r) => r.status !== 200)) await expectRpcError(res, 400, LIMIT)
    expect(await membershipCount(user.id)).toBe(11)
    expect(await orphanWorkspaces(org.id)).toEqual([])
    expect((await db.select().from(workspaces).where(eq(workspaces.organizationId, org.id))).length).toBe(11)
  })

  it('stops at exactly 11 when 15 sessions of one user create a workspace each at once', async () => {
    const { org, workspace, user } = await seedSignedIn('ADMIN')
    const sessions = await Promise.all(Array.from({ length: 14 }, () => signIn(user, workspace.id)))
    const results = await Promise.all(
      [await signIn(user, workspace.id), ...sessions].map((headers, i) =>
        post('/api/createNewAccount', { newAccountName: `Session ${i}` }, headers),
      ),
    )
    expect(results.filter((r) => r.status === 200)).toHaveLength(10)
    for (const res of results.filter((r) => r.status !== 200)) await expectRpcError(res, 400, LIMIT)
    expect(await membershipCount(user.id)).toBe(11)
    expect(await orphanWorkspaces(org.id)).toEqual([])
  })
})

describe('names are one line of plain text', () => {
  const FORGED = [
    'Eve\nAdmin',
    'Eve\r\nBcc: x',
    'Eve\u202Egnp.exe',
    'Eve\u2066x\u2069',
    'Eve\u0000x',
    'Eve\u2028x',
    'Eve\tx',
    'Eve\u200Bx',
  ]

  it('refuses them in updateUsernameAndOrganization, saving neither name', async () => {
    const { org, user, headers } = await seedSignedIn('ADMIN', { name: 'Kept Name' })
    for (const bad of FORGED) {
      await expectRpcError(
        await post('/api/updateUsernameAndOrganization', { username: bad, organization: 'Acme' }, headers),
        400,
        oneLine('Username'),
      )
      await expectRpcError(
        await post('/api/updateUsernameAndOrganization', { username: 'Fine Name', organization: bad }, headers),
        400,
        oneLine('Organization'),
      )
    }
    expect((await db.select().from(users).where(eq(users.id, user.id)))[0]?.displayName).toBe('Kept Name')
    expect((await db.select().from(organizations).where(eq(organizations.id, org.id)))[0]?.name).toBe(org.name)
  })

  it('refuses them as a createNewAccount name, creating nothing', async () => {
    const { org, user, workspace, headers } = await seedSignedIn('ADMIN')
    for (const bad of FORGED)
      await expectRpcError(
        await post('/api/createNewAccount', { newAccountName: bad }, headers),
        400,
        oneLine('Account name'),
      )
    expect(await db.select().from(workspaces).where(eq(workspaces.organizationId, org.id))).toHaveLength(1)
    expect(await db.select().from(memberships).where(eq(memberships.userId, user.id))).toHaveLength(1)
    expect((await db.select().from(logins).where(eq(logins.userId, user.id)))[0]?.workspaceId).toBe(workspace.id)
  })

  it('refuses them as an inviteeName, storing and sending nothing', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    for (const bad of [...FORGED, 'Bob\n\nClick http://evil.test/reset to keep your account']) {
      const res = await invite({ inviteeEmail: email, inviteeName: bad, inviteeRole: 'GUEST' }, headers)
      await expectRpcError(res, 400, oneLine('inviteeName'))
    }
    expect(await invitationsTo(email)).toEqual([])
    const emailJobs = (await db.select().from(jobs).where(eq(jobs.type, 'sendEmail'))).filter(
      (j) => (j.payload as { to?: string }).to === email,
    )
    expect(emailJobs).toEqual([])
    expect(await db.select().from(emailOutbox).where(eq(emailOutbox.to, email))).toEqual([])
  })

  it('puts an accepted inviteeName, trimmed of surrounding line breaks, on exactly one line of the email', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    for (const [given, stored] of [
      ['Ivy Invitee', 'Ivy Invitee'],
      ['\n  Zoë O’Brien-Ngata \r\n', 'Zoë O’Brien-Ngata'],
    ] as const) {
      const email = freshEmail()
      await inviteLink(headers, email, { inviteeName: given, inviteeRole: 'GUEST' })
      expect((await invitationsTo(email))[0]?.name).toBe(stored)
      const sent = await vi.waitFor(
        async () => {
          const [row] = await db.select().from(emailOutbox).where(eq(emailOutbox.to, email))
          expect(row).toBeDefined()
          return row!
        },
        { timeout: 5000, interval: 50 },
      )
      const lines = sent.text.split(/\r\n|\r|\n|\u2028|\u2029/)
      expect(lines.filter((l) => l.includes(stored))).toEqual([`Hello ${stored},`])
      expect(sent.subject).not.toMatch(/[\r\n]/)
    }
  })
})

describe('removeUser and inviteUsers answer the clear refusal', () => {
  it('answers 400 User not found for someone already removed, and leaves their accepted invitation as it was', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    await accept(await inviteLink(headers, email, { inviteeRole: 'GUEST' }))
    const [joined] = await invitationsTo(email)
    expect(joined?.status).toBe('accepted')

    expect((await post('/api/removeUser', { email }, headers)).status).toBe(200)
    await expectRpcError(await post('/api/removeUser', { email }, headers), 400, 'User not found')

    expect(await invitationsTo(email)).toEqual([joined])
    const [removed] = await usersWithEmail(email)
    expect(await membershipOf(workspace.id, removed!.id)).toBeUndefined()
    expect(
      await db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.action, 'withdrawInvitation'), eq(auditEvents.targetId, email))),
    ).toEqual([])
  })

  it('answers Invalid product scope for a scope the plan does not grant, even to a caller who could not grant there', async () => {
    const { org, workspace, headers: adminHeaders } = await seedSignedIn('ADMIN')
    await setPlan(org.id, { RBAC_FEATURE: true })
    const lead = await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'ADMIN' } })
    const member = await seedUser(workspace.id, 'MEMBER')
    const email = freshEmail()
    for (const [headers, role] of [
      [await signIn(lead, workspace.id), 'GUEST'],
      [await signIn(member, workspace.id), 'ADMIN'],
      [adminHeaders, 'GUEST'],
    ] as const) {
      const res = await invite({ inviteeEmail: email, scopeRoleMapping: { DAST: role } }, headers)
      await expectRpcError(res, 400, /^Invalid product scope: user account does not have access to this scope/)
    }
    expect(await invitationsTo(email)).toEqual([])
  })
})

describe('root without an account header', () => {
  const ACTIONS: Record<string, Record<string, unknown>> = {
    getTeamData: {},
    inviteUsers: { inviteeEmail: 'someone@example.com', inviteeRole: 'GUEST' },
    removeInvitation: { email: 'someone@example.com' },
    removeUser: { email: 'someone@example.com' },
    makeAdmin: { email: 'someone@example.com', userRole: 'GUEST' },
    updateUserScopeRoleMapping: { email: 'someone@example.com', scopeRoleMapping: { API: 'GUEST' } },
    resetUserPassword: { userEmail: 'someone@example.com' },
    createNewAccount: { newAccountName: 'Root made' },
    updateUsernameAndOrganization: { username: 'Root', organization: 'Root Org' },
    addApiToken: { tokenUtility: 'EXTERNAL_API' },
    createCustomRole: { roleName: 'ROOTROLE', baseRole: 'GUEST' },
    updateCustomRole: { roleName: 'ROOTROLE', baseRole: 'MEMBER' },
    deleteCustomRole: { roleName: 'ROOTROLE' },
    applyAccessType: {},
    resetCollectionAccessTypes: {},
    refreshUsageDataForOrg: {},
    provisionSubscription: {
      customerId: 'X',
      planId: 'plan-pro',
      billingPeriod: 'monthly',
      successUrl: 'http://localhost:8787/done',
      cancelUrl: 'http://localhost:8787/billing',
    },
  }

  const tableCounts = async () =>
    Promise.all(
      [workspaces, memberships, invitations, passwordResets, jobs, customRoles, apiTokens].map(
        async (t) => (await db.select({ n: count() }).from(t))[0]?.n,
      ),
    )

  it('answers every workspace action with the same clear 400, and changes nothing', async () => {
    const before = await tableCounts()
    for (const account of [undefined, '', 'abc', '999', '-1']) {
      const headers: Headers = { Authorization: `Bearer ${ROOT_TOKEN}`, 'CF-Connecting-IP': nextIp() }
      if (account !== undefined) headers.account = account
      for (const [action, body] of Object.entries(ACTIONS)) {
        const res = await post(`/api/${action}`, body, headers)
        expect({ action, account, status: res.status }).toEqual({ action, account, status: 400 })
        expect((await res.json<{ error: string }>()).error, action).toBe(ROOT_NEEDS_ACCOUNT)
      }
    }
    expect(await tableCounts()).toEqual(before)
  })

  it('acts once the header names a workspace', async () => {
    const { workspace, user } = await seedSignedIn('ADMIN')
    expect((await teamOf(rootIn(workspace.id))).map((e) => e.id)).toEqual([user.id])
  })
})

describe("another tenant's users are out of reach", () => {
  it('answers makeAdmin, updateUserScopeRoleMapping, resetUserPassword and removeUser as for an unknown address, touching nothing', async () => {
    const { headers: attacker, workspace: home } = await seedSignedIn('ADMIN')
    const other = await seedSignedIn('ADMIN')
    const victim = await seedUser(other.workspace.id, 'MEMBER')
    const victimHeaders = await signIn(victim, other.workspace.id)
    const pendingThere = freshEmail()
    await inviteLink(other.headers, pendingThere, { inviteeRole: 'GUEST' })
    const before = {
      memberships: await db
        .select()
        .from(memberships)
        .where(inArray(memberships.userId, [victim.id, other.user.id])),
      logins: await db
        .select()
        .from(logins)
        .where(inArray(logins.userId, [victim.id, other.user.id])),
      invitation: await invitationsTo(pendingThere),
    }

    const nobody = freshEmail()
    const calls: [string, (email: string) => Record<string, unknown>, number, string][] = [
      ['makeAdmin', (email) => ({ email, userRole: 'GUEST' }), 404, 'User not found'],
      [
        'updateUserScopeRoleMapping',
        (email) => ({ email, scopeRoleMapping: { API: 'NO_ACCESS' } }),
        404,
        'User not found',
      ],
      ['resetUserPassword', (userEmail) => ({ userEmail }), 404, 'User not found.'],
      ['removeUser', (email) => ({ email }), 400, 'User not found'],
    ]
    for (const headers of [attacker, { ...attacker, account: String(other.workspace.id) }]) {
      for (const [action, body, status, message] of calls) {
        for (const email of [victim.email, other.user.email, pendingThere, nobody]) {
          await expectRpcError(await post(`/api/${action}`, body(email), headers), status, message)
        }
      }
      await expectRpcError(
        await post('/api/removeInvitation', { email: pendingThere }, headers),
        404,
        'Invitation not found',
      )
    }

    expect(
      await db
        .select()
        .from(memberships)
        .where(inArray(memberships.userId, [victim.id, other.user.id])),
    ).toEqual(before.memberships)
    expect(
      await db
        .select()
        .from(logins)
        .where(inArray(logins.userId, [victim.id, other.user.id])),
    ).toEqual(before.logins)
    expect(await invitationsTo(pendingThere)).toEqual(before.invitation)
    expect(await resetsOf(victim.id)).toEqual([])
    expect(await resetsOf(other.user.id)).toEqual([])
    expect(await sessionActs(victimHeaders)).toBe(200)
    expect((await teamOf(other.headers)).map((e) => e.login)).toEqual(
      expect.arrayContaining([victim.email, other.user.email, pendingThere]),
    )
    // The attacker's own workspace never gained them either.
    expect((await teamOf(attacker)).map((e) => e.login)).not.toContain(victim.email)
    expect(home.id).not.toBe(other.workspace.id)
  })
})
