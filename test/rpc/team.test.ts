import { and, eq } from 'drizzle-orm'
import { describe, expect, it, vi } from 'vitest'
import { newPublicId, sha256 } from '../../src/auth/crypto'
import { apiTokens, auditEvents, emailOutbox, invitations, jobs, logins, memberships, users } from '../../src/db/schema'
import {
  api,
  db,
  type Headers,
  nextIp,
  post,
  STRONG_PASSWORD,
  seedApiToken,
  seedOrganization,
  seedSignedIn,
  seedUser,
  signIn,
} from '../support'

type Invited = { finalInviteCode: string; inviteeRole?: string; scopeRoleMapping: Record<string, string> }
type SignedIn = { token: string; expiresAt: string; user: { id: string; email: string } }
type TeamEntry = {
  id: number
  login: string
  name: string
  role: string
  scopeRoleMapping?: Record<string, string>
  isInvitation?: boolean
}

const LINK_PREFIX = 'http://localhost:8787/addUserToAccount?signupInvitationCode='
const ADMIN_HIERARCHY = ['ADMIN', 'MEMBER', 'DEVELOPER', 'GUEST', 'THREAT_ENGINEER', 'THREAT_VIEWER']

/** A never-used address (every seeded workspace's first member is at example.com). */
const freshEmail = (domain = 'example.com') => `invitee-${newPublicId().toLowerCase()}@${domain}`

const rpcError = (message: string) => ({ error: message, actionErrors: [message] })
/** A dashboard error whose message starts with `prefix` (the rest lists what is allowed). */
const rpcErrorStarting = (prefix: string) => {
  const message = expect.stringMatching(new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
  return { error: message, actionErrors: [message] }
}

/** POST /api/inviteUsers from a client IP of its own, so the hourly throttle never carries over. */
const invite = (body: Record<string, unknown>, headers: Headers, ip = nextIp()) =>
  post('/api/inviteUsers', body, { ...headers, 'CF-Connecting-IP': ip })

const codeOf = (link: string) => new URL(link).searchParams.get('signupInvitationCode') ?? ''

/** Invites and returns the link and its code; fails the test when the invitation is refused. */
const inviteOk = async (
  headers: Headers,
  email: string,
  role: Record<string, unknown> = { inviteeRole: 'DEVELOPER' },
) => {
  const res = await invite({ inviteeEmail: email, ...role }, headers)
  expect(res.status).toBe(200)
  const body = await res.json<Invited>()
  return { body, link: body.finalInviteCode, code: codeOf(body.finalInviteCode) }
}

const invitationsTo = (email: string) => db.select().from(invitations).where(eq(invitations.email, email))

const emailJobsTo = async (email: string) =>
  (await db.select().from(jobs).where(eq(jobs.type, 'sendEmail'))).filter(
    (j) => (j.payload as { to?: string }).to === email,
  )

const signup = (body: Record<string, unknown>, headers: Headers = {}) =>
  post('/auth/signup', body, { 'CF-Connecting-IP': nextIp(), ...headers })

const apiKeyFor = async (
  workspaceId: number,
  userId: number,
  utility: 'BURP' | 'CICD' | 'EXTERNAL_API' = 'EXTERNAL_API',
) => (await seedApiToken(workspaceId, { userId }, utility)).headers

const membershipOf = async (userId: number, workspaceId: number) =>
  (
    await db
      .select()
      .from(memberships)
      .where(and(eq(memberships.userId, userId), eq(memberships.workspaceId, workspaceId)))
  )[0]

const teamOf = async (headers: Headers) => {
  const res = await post('/api/getTeamData', {}, headers)
  expect(res.status).toBe(200)
  return res.json<TeamEntry[]>()
}

const removeUser = (email: string, headers: Headers) => post('/api/removeUser', { email }, headers)
const removeInvitation = (email: string, headers: Headers) => post('/api/removeInvitation', { email }, headers)

const auditsOf = (action: string, workspaceId: number) =>
  db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.action, action), eq(auditEvents.workspaceId, workspaceId)))

// The main workspace: its first member (the admin) is at example.com.
const { workspace, user: admin, headers: adminHeaders } = await seedSignedIn('ADMIN', { name: 'Ada Admin' })
const member = await seedUser(workspace.id, 'MEMBER', { name: 'Mel Member' })
const memberHeaders = await signIn(member, workspace.id)
const developer = await seedUser(workspace.id, 'DEVELOPER')
const guest = await seedUser(workspace.id, 'GUEST')

describe('POST /api/inviteUsers', () => {
  it('answers with an APP_ORIGIN link, stores only the code hash, and emails the link through the queue', async () => {
    const email = freshEmail()
    const res = await invite(
      { inviteeEmail: email, inviteeName: 'Ivy Invitee', inviteeRole: 'MEMBER', websiteHostName: 'https://evil.test' },
      adminHeaders,
    )
    expect(res.status).toBe(200)
    const body = await res.json<Invited>()
    expect(body).toEqual({
      finalInviteCode: expect.any(String),
      inviteeRole: 'MEMBER',
      scopeRoleMapping: { API: 'MEMBER' },
    })
    const link = body.finalInviteCode
    expect(link.startsWith(LINK_PREFIX)).toBe(true)
    expect(link).not.toContain('evil.test')
    const code = codeOf(link)
    expect(code.length).toBeGreaterThan(20)

    const rows = await invitationsTo(email)
    expect(rows).toHaveLength(1)
    const row = rows[0]!
    expect(row).toMatchObject({
      workspaceId: workspace.id,
      scopeRoles: { API: 'MEMBER' },
      issuerUserId: admin.id,
      status: 'pending',
      codeHash: await sha256(code),
    })
    expect(JSON.stringify(row)).not.toContain(code)
    expect(row.expiresAt.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000)
    expect(row.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 7 * 86_400_000)

    const emailJobs = await emailJobsTo(email)
    expect(emailJobs).toHaveLength(1)
    const job = emailJobs[0]!
    expect(job.workspaceId).toBe(workspace.id)
    expect(JSON.stringify(job)).not.toContain(code)

    await vi.waitUntil(
      async () => {
        const sent = await db.select().from(emailOutbox).where(eq(emailOutbox.to, email))
        return sent.some((m) => m.text.includes(link))
      },
      { timeout: 5000, interval: 50 },
    )
    const [sent] = await db.select().from(emailOutbox).where(eq(emailOutbox.to, email))
    expect(sent?.jobId).toBe(job.id)
    await vi.waitUntil(
      async () => (await db.select().from(jobs).where(eq(jobs.id, job.id)))[0]?.status === 'succeeded',
      { timeout: 5000, interval: 50 },
    )
  })

  it('accepts a scopeRoleMapping instead of inviteeRole', async () => {
    const email = freshEmail()
    const { body } = await inviteOk(adminHeaders, email, { scopeRoleMapping: { API: 'DEVELOPER', AGENTIC: 'GUEST' } })
    expect(body.scopeRoleMapping).toEqual({ API: 'DEVELOPER', AGENTIC: 'GUEST' })
    expect(body).not.toHaveProperty('inviteeRole')
    const [row] = await invitationsTo(email)
    expect(row?.scopeRoles).toEqual({ API: 'DEVELOPER', AGENTIC: 'GUEST' })
  })

  it('stores the VIEWER role as GUEST', async () => {
    const email = freshEmail()
    const { body } = await inviteOk(adminHeaders, email, { inviteeRole: 'VIEWER' })
    expect(body.scopeRoleMapping).toEqual({ API: 'GUEST' })
    const [row] = await invitationsTo(email)
    expect(row?.scopeRoles).toEqual({ API: 'GUEST' })
  })

  it('rejects a malformed email with 400 Invalid email', async () => {
    for (const inviteeEmail of [
      'ankita',
      'not an email',
      'a@b@example.com',
      'https://example.com/x',
      'x@example',
      '',
    ]) {
      const res = await invite({ inviteeEmail, inviteeRole: 'GUEST' }, adminHeaders)
      expect(res.status, inviteeEmail).toBe(400)
      expect(await res.json()).toEqual(rpcError('Invalid email'))
    }
  })

  it("checks the domain against the workspace's first member, accepting consulting-for.<domain>", async () => {
    const { workspace: ws } = await seedOrganization()
    const domain = `acme-${newPublicId().toLowerCase()}.test`
    await seedUser(ws.id, 'ADMIN', { email: `boss@${domain}` })
    // The inviter is at example.com, but the first member decides.
    const inviter = await seedUser(ws.id, 'ADMIN')
    const headers = await signIn(inviter, ws.id)
    for (const inviteeEmail of [
      freshEmail('example.com'),
      freshEmail('other.test'),
      freshEmail(`sub.${domain}`),
      freshEmail(`${domain}.evil.test`),
      freshEmail(`consulting-for.example.com`),
    ]) {
      const res = await invite({ inviteeEmail, inviteeRole: 'GUEST' }, headers)
      expect(res.status, inviteeEmail).toBe(400)
      expect(await res.json()).toEqual(rpcError('Email must belong to same organisation'))
    }
    await inviteOk(headers, freshEmail(domain), { inviteeRole: 'GUEST' })
    await inviteOk(headers, freshEmail(`consulting-for.${domain}`), { inviteeRole: 'GUEST' })
    await inviteOk(headers, freshEmail(domain.toUpperCase()), { inviteeRole: 'GUEST' })
  })

  it('rejects inviting someone who is already a member', async () => {
    for (const inviteeEmail of [developer.email, developer.email.toUpperCase()]) {
      const res = await invite({ inviteeEmail, inviteeRole: 'GUEST' }, adminHeaders)
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual(rpcError('User already exists'))
    }
  })

  it('rejects an unknown role', async () => {
    for (const role of [{ inviteeRole: 'WIZARD' }, { scopeRoleMapping: { API: 'GUEST', AGENTIC: 'WIZARD' } }]) {
      const res = await invite({ inviteeEmail: freshEmail(), ...role }, adminHeaders)
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual(rpcErrorStarting('Invalid role: WIZARD. Valid roles: ADMIN, MEMBER, DEVELOPER'))
    }
  })

  it('lets a MEMBER invite a DEVELOPER but not an ADMIN or a custom role based on ADMIN', async () => {
    const { workspace: ws, headers: ownerHeaders } = await seedSignedIn('ADMIN')
    const inviter = await seedUser(ws.id, 'MEMBER')
    const headers = await signIn(inviter, ws.id)
    const superuser = (baseRole: string) => ({ roleName: 'SUPERUSER', baseRole })
    expect((await post('/api/createCustomRole', superuser('ADMIN'), ownerHeaders)).status).toBe(200)

    await inviteOk(headers, freshEmail(), { inviteeRole: 'DEVELOPER' })
    for (const role of [
      { inviteeRole: 'ADMIN' },
      { inviteeRole: 'SUPERUSER' },
      { scopeRoleMapping: { API: 'DEVELOPER', AGENTIC: 'ADMIN' } },
    ]) {
      const res = await invite({ inviteeEmail: freshEmail(), ...role }, headers)
      expect(res.status, JSON.stringify(role)).toBe(400)
      expect(await res.json()).toEqual(rpcErrorStarting('User not allowed to invite for this role: '))
    }
    // The ADMIN may; and once the custom role's base is MEMBER, the MEMBER may too.
    await inviteOk(ownerHeaders, freshEmail(), { inviteeRole: 'SUPERUSER' })
    expect((await post('/api/updateCustomRole', superuser('MEMBER'), ownerHeaders)).status).toBe(200)
    const email = freshEmail()
    await inviteOk(headers, email, { inviteeRole: 'SUPERUSER' })
    expect((await invitationsTo(email))[0]?.scopeRoles).toEqual({ API: 'SUPERUSER' })
  })

  it('refuses NO_ACCESS as an invited role, even from an ADMIN', async () => {
    const res = await invite({ inviteeEmail: freshEmail(), inviteeRole: 'NO_ACCESS' }, adminHeaders)
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual(rpcErrorStarting('User not allowed to invite for this role: NO_ACCESS'))
  })

  it('requires either scopeRoleMapping or inviteeRole', async () => {
    for (const extra of [{}, { scopeRoleMapping: {} }]) {
      const res = await invite({ inviteeEmail: freshEmail(), ...extra }, adminHeaders)
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual(rpcError('Either scopeRoleMapping or inviteeRole must be provided'))
    }
  })

  it('changes nothing when it rejects a request', async () => {
    const countIn = async (table: typeof invitations | typeof jobs) =>
      (await db.select().from(table).where(eq(table.workspaceId, workspace.id))).length
    const before = { invitations: await countIn(invitations), jobs: await countIn(jobs) }
    const rejected = [
      { inviteeEmail: 'ankita', inviteeRole: 'GUEST' },
      { inviteeEmail: freshEmail('other.test'), inviteeRole: 'GUEST' },
      { inviteeEmail: developer.email, inviteeRole: 'GUEST' },
      { inviteeEmail: freshEmail(), inviteeRole: 'WIZARD' },
      { inviteeEmail: freshEmail(), inviteeRole: 'NO_ACCESS' },
      { inviteeEmail: freshEmail() },
    ]
    for (const body of rejected) {
      expect((await invite(body, adminHeaders)).status).toBe(400)
      expect(await invitationsTo(body.inviteeEmail)).toEqual([])
      expect(await emailJobsTo(body.inviteeEmail)).toEqual([])
    }
    const forbidden = { inviteeEmail: freshEmail(), inviteeRole: 'ADMIN' }
    expect((await invite(forbidden, memberHeaders)).status).toBe(400)
    expect(await invitationsTo(forbidden.inviteeEmail)).toEqual([])
    expect({ invitations: await countIn(invitations), jobs: await countIn(jobs) }).toEqual(before)
  })

  it('re-inviting the same email replaces the code: only the newest link signs up', async () => {
    const email = freshEmail()
    const first = await inviteOk(adminHeaders, email, { inviteeRole: 'GUEST' })
    const second = await inviteOk(adminHeaders, email, { inviteeRole: 'DEVELOPER' })
    expect(second.code).not.toBe(first.code)
    const rows = await invitationsTo(email)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ codeHash: await sha256(second.code), scopeRoles: { API: 'DEVELOPER' } })

    const stale = await signup({ invitationCode: first.code, password: STRONG_PASSWORD })
    expect(stale.status).toBe(400)
    expect(await db.select().from(users).where(eq(users.email, email))).toEqual([])
    const fresh = await signup({ invitationCode: second.code, password: STRONG_PASSWORD })
    expect(fresh.status).toBe(201)
  })

  it('allows 10 invitations per hour per IP, then answers 429 with Retry-After', async () => {
    const ip = nextIp()
    for (let i = 0; i < 10; i++) {
      const res = await invite({ inviteeEmail: freshEmail(), inviteeRole: 'GUEST' }, adminHeaders, ip)
      expect(res.status, `invitation ${i + 1}`).toBe(200)
    }
    const email = freshEmail()
    const throttled = await invite({ inviteeEmail: email, inviteeRole: 'GUEST' }, adminHeaders, ip)
    expect(throttled.status).toBe(429)
    const retryAfter = Number(throttled.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(3600)
    expect(await invitationsTo(email)).toEqual([])
    expect(await emailJobsTo(email)).toEqual([])
    expect((await throttled.json<{ error: string }>()).error).toMatch(/try again in \d+ seconds/)
    // Another client is not held back.
    expect((await invite({ inviteeEmail: email, inviteeRole: 'GUEST' }, adminHeaders)).status).toBe(200)
  })

  it('counts only invitations sent: refused attempts do not use up the hour', async () => {
    const ip = nextIp()
    for (let i = 0; i < 12; i++) {
      const refused = await invite({ inviteeEmail: 'not-an-email', inviteeRole: 'GUEST' }, adminHeaders, ip)
      expect(refused.status).toBe(400)
    }
    for (let i = 0; i < 10; i++)
      expect((await invite({ inviteeEmail: freshEmail(), inviteeRole: 'GUEST' }, adminHeaders, ip)).status).toBe(200)
    expect((await invite({ inviteeEmail: freshEmail(), inviteeRole: 'GUEST' }, adminHeaders, ip)).status).toBe(429)
  })

  it('refuses DEVELOPER and GUEST with 403', async () => {
    for (const [user, display] of [
      [developer, 'DEVELOPER'],
      [guest, 'GUEST'],
    ] as const) {
      const email = freshEmail()
      const res = await invite({ inviteeEmail: email, inviteeRole: 'GUEST' }, await signIn(user, workspace.id))
      expect(res.status).toBe(403)
      expect(await res.json()).toEqual(rpcError(`The role '${display}' does not have access.`))
      expect(await invitationsTo(email)).toEqual([])
    }
  })

  it('refuses API tokens with 403, even an ADMIN’s EXTERNAL_API token', async () => {
    const email = freshEmail()
    const res = await invite({ inviteeEmail: email, inviteeRole: 'GUEST' }, await apiKeyFor(workspace.id, admin.id))
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual(rpcError('API tokens cannot invite member'))
    expect(await invitationsTo(email)).toEqual([])
  })

  it('answers 401 without credentials', async () => {
    const res = await invite({ inviteeEmail: freshEmail(), inviteeRole: 'GUEST' }, {})
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual(rpcError('Authentication required'))
  })
})

describe('POST /api/removeInvitation', () => {
  it('lets the MEMBER who sent an invitation remove it, and its link stops working', async () => {
    const email = freshEmail()
    const { code } = await inviteOk(memberHeaders, email, { inviteeRole: 'DEVELOPER' })
    const res = await removeInvitation(email, memberHeaders)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({})
    expect(await invitationsTo(email)).toEqual([])
    expect((await signup({ invitationCode: code, password: STRONG_PASSWORD })).status).toBe(400)
  })

  it('lets an ADMIN remove an invitation someone else sent', async () => {
    const email = freshEmail()
    await inviteOk(memberHeaders, email, { inviteeRole: 'DEVELOPER' })
    const res = await removeInvitation(email.toUpperCase(), adminHeaders)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({})
    expect(await invitationsTo(email)).toEqual([])
  })

  it('refuses a MEMBER who did not send the invitation with 403', async () => {
    const email = freshEmail()
    await inviteOk(adminHeaders, email, { inviteeRole: 'GUEST' })
    const res = await removeInvitation(email, memberHeaders)
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual(rpcError('User is not allowed to remove this invitation.'))
    expect(await invitationsTo(email)).toHaveLength(1)
  })

  it("answers 404 when the caller's workspace has no pending invitation for the email", async () => {
    const res = await removeInvitation(freshEmail(), adminHeaders)
    expect(res.status).toBe(404)
    expect(await res.json<{ error: string }>()).toMatchObject({ error: expect.any(String) })

    // An invitation of another workspace, sent by someone else, does not count.
    const other = await seedSignedIn('ADMIN')
    const email = freshEmail()
    await inviteOk(other.headers, email, { inviteeRole: 'GUEST' })
    expect((await removeInvitation(email, memberHeaders)).status).toBe(404)
    expect(await invitationsTo(email)).toHaveLength(1)
  })

  it("leaves another workspace's invitation to the same email untouched", async () => {
    const other = await seedSignedIn('ADMIN')
    const email = freshEmail()
    await inviteOk(adminHeaders, email, { inviteeRole: 'GUEST' })
    const { code: otherCode } = await inviteOk(other.headers, email, { inviteeRole: 'DEVELOPER' })
    expect((await removeInvitation(email, adminHeaders)).status).toBe(200)
    const left = await invitationsTo(email)
    expect(left).toHaveLength(1)
    expect(left[0]).toMatchObject({
      workspaceId: other.workspace.id,
      status: 'pending',
      scopeRoles: { API: 'DEVELOPER' },
    })
    expect((await signup({ invitationCode: otherCode, password: STRONG_PASSWORD })).status).toBe(201)
  })
})

describe('POST /api/removeUser', () => {
  it("removes a member and answers in the dashboard's shape", async () => {
    const target = await seedUser(workspace.id, 'DEVELOPER')
    const res = await removeUser(target.email, adminHeaders)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      email: target.email,
      id: target.id,
      passwordResetToken: null,
      roleHierarchy: 'SUCCESS',
      userRoleHierarchy: ADMIN_HIERARCHY,
      users: null,
    })
    expect(await membershipOf(target.id, workspace.id)).toBeUndefined()
    expect((await teamOf(adminHeaders)).map((e) => e.login)).not.toContain(target.email)
  })

  it("ends the removed user's session in that workspace at once, even for reads", async () => {
    const target = await seedUser(workspace.id, 'MEMBER')
    const headers = await signIn(target, workspace.id)
    // A read first, so the session is also served from its KV copy.
    expect((await post('/api/getTeamData', {}, headers)).status).toBe(200)
    expect((await removeUser(target.email, adminHeaders)).status).toBe(200)
    const read = await post('/api/getTeamData', {}, headers)
    expect(read.status).toBe(401)
    expect((await api('/me', { headers })).status).toBe(401)
    expect(await db.select().from(logins).where(eq(logins.userId, target.id))).toEqual([])
  })

  it("deletes the removed user's API tokens for that workspace and refuses them", async () => {
    const target = await seedUser(workspace.id, 'MEMBER')
    const key = await apiKeyFor(workspace.id, target.id)
    expect((await post('/api/getTeamData', {}, key)).status).toBe(200)
    expect((await removeUser(target.email, adminHeaders)).status).toBe(200)
    const rows = await db
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.userId, target.id), eq(apiTokens.workspaceId, workspace.id)))
    expect(rows).toEqual([])
    expect((await post('/api/getTeamData', {}, key)).status).toBe(401)
  })

  it('keeps the removed user’s session and tokens in another workspace they still belong to', async () => {
    const other = await seedSignedIn('ADMIN')
    const target = await seedUser(workspace.id, 'MEMBER')
    await db.insert(memberships).values({ workspaceId: other.workspace.id, userId: target.id, role: 'MEMBER' })
    const here = await signIn(target, workspace.id)
    const there = await signIn(target, other.workspace.id)
    const thereKey = await apiKeyFor(other.workspace.id, target.id)

    expect((await removeUser(target.email, adminHeaders)).status).toBe(200)
    expect((await post('/api/getTeamData', {}, here)).status).toBe(401)
    const team = await teamOf(there)
    expect(team.map((e) => e.login)).toContain(target.email)
    expect((await post('/api/getTeamData', {}, thereKey)).status).toBe(200)
    expect(await membershipOf(target.id, other.workspace.id)).toBeDefined()
  })

  it('refuses removing yourself with 400', async () => {
    const res = await removeUser(admin.email, adminHeaders)
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual(rpcError('You cannot perform this action on yourself'))
    expect(await membershipOf(admin.id, workspace.id)).toBeDefined()
  })

  it('deletes a pending invitation when the email is not a member, answering id 0', async () => {
    const other = await seedSignedIn('ADMIN')
    const email = freshEmail()
    const { code } = await inviteOk(adminHeaders, email, { inviteeRole: 'GUEST' })
    await inviteOk(other.headers, email, { inviteeRole: 'GUEST' })
    const res = await removeUser(email, adminHeaders)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      email,
      id: 0,
      passwordResetToken: null,
      roleHierarchy: 'SUCCESS',
      userRoleHierarchy: ADMIN_HIERARCHY,
      users: null,
    })
    const left = await invitationsTo(email)
    expect(left.map((i) => i.workspaceId)).toEqual([other.workspace.id])
    expect((await signup({ invitationCode: code, password: STRONG_PASSWORD })).status).toBe(400)
  })

  it('answers 400 User not found when there is neither a member nor an invitation', async () => {
    // A user of another workspace is not a member here.
    const outsider = await seedUser((await seedOrganization()).workspace.id, 'ADMIN')
    for (const email of [freshEmail(), outsider.email]) {
      const res = await removeUser(email, adminHeaders)
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual(rpcError('User not found'))
    }
  })

  it('refuses a MEMBER with 403 and removes nobody', async () => {
    const target = await seedUser(workspace.id, 'GUEST')
    const res = await removeUser(target.email, memberHeaders)
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual(rpcError("The role 'SECURITY ENGINEER' does not have access."))
    expect(await membershipOf(target.id, workspace.id)).toBeDefined()
  })

  it('records a removeMember audit event when it removes a member', async () => {
    const target = await seedUser(workspace.id, 'GUEST')
    expect((await removeUser(target.email, adminHeaders)).status).toBe(200)
    const events = await auditsOf('removeMember', workspace.id)
    expect(events).toContainEqual(
      expect.objectContaining({
        action: 'removeMember',
        outcome: 'success',
        actorId: admin.publicId,
        targetId: target.publicId,
      }),
    )
  })

  it('records a withdrawInvitation audit event when it deletes an invitation', async () => {
    const email = freshEmail()
    await inviteOk(adminHeaders, email, { inviteeRole: 'GUEST' })
    const before = (await auditsOf('withdrawInvitation', workspace.id)).length
    expect((await removeUser(email, adminHeaders)).status).toBe(200)
    const after = await auditsOf('withdrawInvitation', workspace.id)
    expect(after).toHaveLength(before + 1)
    expect(after.at(-1)).toMatchObject({ targetId: email, outcome: 'success', actorId: admin.publicId })
  })
})

describe('POST /auth/signup', () => {
  it('accepts the whole invitation link as well as its code', async () => {
    const email = freshEmail()
    const { link } = await inviteOk(adminHeaders, email, { inviteeRole: 'GUEST' })
    const res = await signup({ invitationCode: link, password: STRONG_PASSWORD })
    expect(res.status).toBe(201)
    expect((await res.json<SignedIn>()).user.email).toBe(email)
  })

  it('creates the invited user with the invited roles and signs them in', async () => {
    const email = freshEmail()
    const { code } = await inviteOk(adminHeaders, email, { scopeRoleMapping: { API: 'DEVELOPER', AGENTIC: 'GUEST' } })
    const res = await signup({ invitationCode: code, password: STRONG_PASSWORD, name: 'Nia New' })
    expect(res.status).toBe(201)
    const body = await res.json<SignedIn>()
    expect(body).toEqual({
      token: expect.any(String),
      expiresAt: expect.any(String),
      user: { id: expect.any(String), email },
    })
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now())
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toContain(`__Host-session=${body.token}`)
    expect(cookie).toMatch(/HttpOnly/i)

    const headers = { Authorization: `Bearer ${body.token}` }
    const me = await api('/me', { headers })
    expect(me.status).toBe(200)
    expect((await me.json<{ user: { id: string; email: string; displayName: string } }>()).user).toMatchObject({
      id: body.user.id,
      email,
      displayName: 'Nia New',
    })
    expect((await api('/me', { headers: { Cookie: `__Host-session=${body.token}` } })).status).toBe(200)

    const [created] = await db.select().from(users).where(eq(users.email, email))
    expect(created?.publicId).toBe(body.user.id)
    const team = await teamOf(headers)
    expect(team.find((e) => e.login === email)).toEqual({
      id: created!.id,
      login: email,
      name: 'Nia New',
      role: 'DEVELOPER',
      scopeRoleMapping: { API: 'DEVELOPER', AGENTIC: 'GUEST' },
    })
    expect(team.some((e) => e.login === email && e.isInvitation)).toBe(false)
    const agentic = await (await post('/api/getTeamData', {}, { ...headers, 'x-context-source': 'AGENTIC' })).json<
      TeamEntry[]
    >()
    expect(agentic.find((e) => e.login === email)?.role).toBe('GUEST')
  })

  it('marks the invitation accepted and refuses its code a second time', async () => {
    const email = freshEmail()
    const { code } = await inviteOk(adminHeaders, email, { inviteeRole: 'GUEST' })
    expect((await signup({ invitationCode: code, password: STRONG_PASSWORD })).status).toBe(201)
    expect((await invitationsTo(email))[0]?.status).toBe('accepted')
    const again = await signup({ invitationCode: code, password: STRONG_PASSWORD })
    expect(again.status).toBe(400)
    const [user] = await db.select().from(users).where(eq(users.email, email))
    expect(await db.select().from(memberships).where(eq(memberships.userId, user!.id))).toHaveLength(1)
  })

  it('rejects a weak password with 400 and creates nothing', async () => {
    const email = freshEmail()
    const { code } = await inviteOk(adminHeaders, email, { inviteeRole: 'GUEST' })
    for (const password of ['weak', 'alllowercase1!', 'NoDigits-here', 'Sh0rt!']) {
      const res = await signup({ invitationCode: code, password })
      expect(res.status, password).toBe(400)
    }
    expect(await db.select().from(users).where(eq(users.email, email))).toEqual([])
    expect((await invitationsTo(email))[0]?.status).toBe('pending')
    // The invitation is still good for a strong password.
    expect((await signup({ invitationCode: code, password: STRONG_PASSWORD })).status).toBe(201)
  })

  it('rejects a tampered, forged or garbage code with 400', async () => {
    const email = freshEmail()
    const { code } = await inviteOk(adminHeaders, email, { inviteeRole: 'GUEST' })
    const [header, payload, signature] = code.split('.') as [string, string, string]
    const i = Math.floor(signature.length / 2)
    const flipped = `${header}.${payload}.${signature.slice(0, i)}${signature[i] === 'A' ? 'B' : 'A'}${signature.slice(i + 1)}`
    const b64 = (o: object) => btoa(JSON.stringify(o)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
    const claims = JSON.parse(atob(payload.replaceAll('-', '+').replaceAll('_', '/'))) as Record<string, unknown>
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`
    const otherWorkspace = `${header}.${b64({ ...claims, wid: 1 })}.${signature}`
    const sessionToken = adminHeaders.Authorization!.replace('Bearer ', '')
    for (const invitationCode of [flipped, unsigned, otherWorkspace, sessionToken, 'garbage', `${code}x`, '']) {
      const res = await signup({ invitationCode, password: STRONG_PASSWORD })
      expect(res.status, invitationCode).toBe(400)
    }
    expect(await db.select().from(users).where(eq(users.email, email))).toEqual([])
    expect((await invitationsTo(email))[0]?.status).toBe('pending')
  })

  it('rejects an expired invitation with 400', async () => {
    const email = freshEmail()
    const { code } = await inviteOk(adminHeaders, email, { inviteeRole: 'GUEST' })
    await db
      .update(invitations)
      .set({ expiresAt: new Date(Date.now() - 60_000) })
      .where(and(eq(invitations.workspaceId, workspace.id), eq(invitations.email, email)))
    const res = await signup({ invitationCode: code, password: STRONG_PASSWORD })
    expect(res.status).toBe(400)
    expect(await db.select().from(users).where(eq(users.email, email))).toEqual([])
  })

  it('asks an existing user for their current password: a wrong one is 401 and adds no membership', async () => {
    const home = await seedOrganization()
    const existing = await seedUser(home.workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const { code } = await inviteOk(adminHeaders, existing.email, { inviteeRole: 'DEVELOPER' })
    for (const password of ['Wrong-Password-1', 'weak']) {
      const res = await signup({ invitationCode: code, password })
      expect(res.status, password).toBe(401)
      expect(res.headers.get('set-cookie')).toBeNull()
    }
    expect(await membershipOf(existing.id, workspace.id)).toBeUndefined()
    expect((await invitationsTo(existing.email))[0]?.status).toBe('pending')
  })

  it('adds the membership with the invited roles when an existing user gives the right password', async () => {
    const home = await seedOrganization()
    const existing = await seedUser(home.workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const { code } = await inviteOk(adminHeaders, existing.email, {
      scopeRoleMapping: { API: 'GUEST', AGENTIC: 'DEVELOPER' },
    })
    const res = await signup({ invitationCode: code, password: STRONG_PASSWORD, name: 'Ignored Name' })
    expect(res.status).toBe(201)
    const body = await res.json<SignedIn>()
    expect(body.user).toEqual({ id: existing.publicId, email: existing.email })
    expect(await membershipOf(existing.id, workspace.id)).toMatchObject({
      scopeRoles: { API: 'GUEST', AGENTIC: 'DEVELOPER' },
    })
    expect(await membershipOf(existing.id, home.workspace.id)).toMatchObject({ role: 'MEMBER' })
    const team = await teamOf({ Authorization: `Bearer ${body.token}` })
    expect(team.find((e) => e.login === existing.email)).toMatchObject({
      id: existing.id,
      role: 'GUEST',
      scopeRoleMapping: { API: 'GUEST', AGENTIC: 'DEVELOPER' },
    })
    expect((await invitationsTo(existing.email))[0]?.status).toBe('accepted')
    expect(await db.select().from(users).where(eq(users.email, existing.email))).toHaveLength(1)
  })
})

describe('invitations are judged scope by scope', () => {
  it('refuses to invite above the inviter in a scope where the inviter is lower', async () => {
    const { headers } = await seedSignedIn('ADMIN', { scopeRoles: { API: 'ADMIN' }, email: 'lead@scoped.test' })
    const email = freshEmail('scoped.test')
    const res = await invite({ inviteeEmail: email, scopeRoleMapping: { API: 'GUEST', DAST: 'ADMIN' } }, headers)
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual(
      rpcErrorStarting('User not allowed to invite for this role: ADMIN. Roles you may invite for in DAST: none'),
    )
    expect(await invitationsTo(email)).toEqual([])
  })

  it('throttles password guesses through an invitation like logins', async () => {
    const existing = await seedUser(null, 'GUEST', { password: STRONG_PASSWORD })
    const { code } = await inviteOk(adminHeaders, existing.email)
    const ip = nextIp()
    let last: Response | undefined
    for (let i = 0; i < 11; i++)
      last = await signup({ invitationCode: code, password: `Wrong-Guess-${i}!` }, { 'CF-Connecting-IP': ip })
    expect(last?.status).toBe(429)
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0)
  })
})
