import { env } from 'cloudflare:workers'
import { and, eq, inArray } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { newPublicId } from '../../src/auth/crypto'
import { passwordProblem } from '../../src/auth/passwords'
import {
  apiTokens,
  auditEvents,
  emailOutbox,
  invitations,
  jobs,
  logins,
  memberships,
  teamMembers,
  teams,
  userEmails,
  users,
  workspaces,
} from '../../src/db/schema'
import {
  api,
  db,
  type Headers,
  nextIp,
  post,
  type SeededUser,
  STRONG_PASSWORD,
  seedApiToken,
  seedCustomRole,
  seedOrganization,
  seedSignedIn,
  seedUser,
  signIn,
} from '../support'
import { mailsTo } from '../support/outbox'
import { expectFieldNamed, type Problem, problemOf, send } from '../support/rest'

/** /org/users: the organization's people, their passwords (changed or reset), as admins, members and outsiders. */

type User = {
  id: string
  email: string
  givenName?: string
  familyName?: string
  displayName?: string
  createdAt: string
  createdBy?: string
  updatedAt: string
  updatedBy?: string
}
type Page<T> = { items: T[]; marker?: string }
type SignedIn = { token: string; passwordChangeRequired?: true; user: { id: string; email: string } }

const ROOT_TOKEN = env.ROOT_TOKEN
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const ALL_ADMIN = { API: 'ADMIN', AGENTIC: 'ADMIN', ENDPOINT: 'ADMIN', DAST: 'ADMIN' }
const BAD_IDS = [
  'abc',
  'abcdefghij',
  'ABCDEFGHI',
  'ABCDEFGHIJK',
  'ABCDEFGHI!',
  'ABCDE_GHIJ',
  'ABCDEFGHI%2F',
  'ÄBCDEFGHIJ',
]

const rootIn = (workspaceId: number): Headers => ({
  Authorization: `Bearer ${ROOT_TOKEN}`,
  account: String(workspaceId),
})
const bearer = (token: string): Headers => ({ Authorization: `Bearer ${token}` })
const del = (path: string, headers: Headers) => api(path, { method: 'DELETE', headers })
const patch = (id: string, body: unknown, headers: Headers) => send('PATCH', `/org/users/${id}`, headers, body)
const changePassword = (id: string, body: unknown, headers: Headers, ip = nextIp()) =>
  send('POST', `/org/users/${id}/password`, { ...headers, 'CF-Connecting-IP': ip }, body)
const resetPassword = (id: string, headers: Headers) => post(`/org/users/${id}/password/reset`, {}, headers)
const login = (email: string, password = STRONG_PASSWORD) =>
  post('/auth/login', { email, password }, { 'CF-Connecting-IP': nextIp() })

/** A never-used address at example.com, the domain of every seeded user. */
const freshEmail = (label = 'person') => `${label}-${newPublicId().toLowerCase()}@example.com`

const expectProblem = async (res: Response, status: number, code: string, field?: string) => {
  const problem = await problemOf(res, status, code)
  expect(problem.detail).toBe(problem.message)
  if (field) expectFieldNamed(problem, field)
  return problem
}

const sessionFor = async (email: string, password = STRONG_PASSWORD) => {
  const res = await login(email, password)
  expect(res.status, await res.clone().text()).toBe(200)
  const body = await res.json<SignedIn>()
  return { headers: bearer(body.token), body }
}

const userRow = async (id: number) => (await db.select().from(users).where(eq(users.id, id)))[0]
const membershipsOf = (userId: number) => db.select().from(memberships).where(eq(memberships.userId, userId))
const lastEvent = async (action: string, targetId: string) =>
  (
    await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, action), eq(auditEvents.targetId, targetId)))
  ).at(-1)

const listUsers = async (headers: Headers, query = '') => {
  const res = await api(`/org/users${query}`, { headers })
  expect(res.status, await res.clone().text()).toBe(200)
  return res.json<Page<User>>()
}

const createUser = async (headers: Headers, body: Record<string, unknown> = {}) => {
  const res = await post('/org/users', { email: freshEmail(), ...body }, headers)
  expect(res.status, await res.clone().text()).toBe(201)
  return res.json<User>()
}

/** Gives a seeded user a second membership, in another organization, before they ever sign in. */
const alsoIn = (user: SeededUser, workspaceId: number, role = 'ADMIN') =>
  db.insert(memberships).values({
    workspaceId,
    userId: user.id,
    role,
    scopeRoles: role === 'ADMIN' ? ALL_ADMIN : { API: role, AGENTIC: role, ENDPOINT: role, DAST: role },
  })

afterEach(() => {
  vi.restoreAllMocks()
})

describe('GET /org/users', () => {
  it('lists the people of every workspace of the organization, and nobody else', async () => {
    const { org, workspace, user: admin, headers } = await seedSignedIn('ADMIN')
    const [sibling] = await db
      .insert(workspaces)
      .values({ id: workspace.id + 500_000, organizationId: org.id, name: 'Sibling' })
      .returning()
    const member = await seedUser(workspace.id, 'MEMBER', { name: 'Mia Member' })
    const colleague = await seedUser(sibling!.id, 'GUEST')
    const outsider = await seedUser((await seedOrganization()).workspace.id, 'ADMIN')
    const body = await listUsers(headers)
    expect(Object.keys(body)).toEqual(['items'])
    expect(body.items.map((u) => u.id)).toEqual([admin.publicId, member.publicId, colleague.publicId])
    expect(JSON.stringify(body)).not.toContain(outsider.publicId)
    const mia = body.items[1]!
    expect(mia).toMatchObject({ id: member.publicId, email: member.email, displayName: 'Mia Member' })
    expect(mia.createdAt).toMatch(ISO)
    expect(JSON.stringify(body)).not.toMatch(/password|hash/i)
  })

  it('answers 401 without credentials, 403 to a MEMBER and to an API key of a MEMBER, 200 to root in a workspace', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    await expectProblem(await api('/org/users'), 401, 'UNAUTHENTICATED')
    await expectProblem(await api('/org/users', { headers: await signIn(member, workspace.id) }), 403, 'FORBIDDEN')
    const { headers: key } = await seedApiToken(workspace.id, { userId: member.id })
    await expectProblem(await api('/org/users', { headers: key }), 403, 'FORBIDDEN')
    expect((await listUsers(rootIn(workspace.id))).items).toHaveLength(2)
    await expectProblem(
      await api('/org/users', { headers: { Authorization: `Bearer ${ROOT_TOKEN}` } }),
      400,
      'VALIDATION_FAILED',
    )
  })

  describe('paging', () => {
    it('defaults to 100 items with a marker, and walks every person once in a stable order', async () => {
      const { workspace, headers } = await seedSignedIn('ADMIN')
      for (let i = 0; i < 104; i++) await seedUser(workspace.id, 'GUEST')
      const first = await listUsers(headers)
      expect(first.items).toHaveLength(100)
      expect(first.marker).toEqual(expect.any(String))
      const second = await listUsers(headers, `?marker=${encodeURIComponent(first.marker!)}`)
      expect(second.items).toHaveLength(5)
      expect(Object.keys(second)).toEqual(['items'])
      const all = [...first.items, ...second.items].map((u) => u.id)
      expect(new Set(all).size).toBe(105)
      const hundred = await listUsers(headers, '?limit=100')
      expect(hundred.items.map((u) => u.id)).toEqual(all.slice(0, 100))
      const walked: string[] = []
      let marker: string | undefined
      do {
        const page = await listUsers(headers, `?limit=17${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`)
        walked.push(...page.items.map((u) => u.id))
        marker = page.marker
      } while (marker)
      expect(walked).toEqual(all)
    })

    it('neither skips nor repeats anyone when people are created between pages, and shows the new ones', async () => {
      const { workspace, user: admin, headers } = await seedSignedIn('ADMIN')
      const initial = [admin.publicId]
      for (let i = 0; i < 5; i++) initial.push((await seedUser(workspace.id, 'GUEST')).publicId)
      const created: string[] = []
      const walked: string[] = []
      let marker: string | undefined
      for (let page = 0; page < 20; page++) {
        const body = await listUsers(headers, `?limit=2${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`)
        walked.push(...body.items.map((u) => u.id))
        if (!('marker' in body)) break
        marker = body.marker
        if (page < 3) created.push((await createUser(headers)).id)
      }
      expect(walked).toEqual([...initial, ...created])
    })

    it('answers limit=0 with {items: []} and a marker, and refuses bad limits and markers with 400', async () => {
      const { workspace, headers } = await seedSignedIn('ADMIN')
      await seedUser(workspace.id, 'GUEST')
      const zero = await listUsers(headers, '?limit=0')
      expect(zero).toEqual({ items: [], marker: expect.any(String) })
      expect((await listUsers(headers, `?marker=${encodeURIComponent(zero.marker!)}`)).items).toHaveLength(2)
      for (const limit of ['-1', '101', '1.5', 'abc', '1,2'])
        await expectProblem(await api(`/org/users?limit=${limit}`, { headers }), 400, 'VALIDATION_FAILED', 'limit')
      const emails = (await (await api('/me/emails?limit=0', { headers })).json<Page<unknown>>()).marker!
      const [payload] = (await listUsers(headers, '?limit=1')).marker!.split('.')
      for (const marker of [emails, 'garbage', `${payload}.`, `${payload}.${'A'.repeat(43)}`])
        await expectProblem(
          await api(`/org/users?marker=${encodeURIComponent(marker)}`, { headers }),
          400,
          'VALIDATION_FAILED',
          'marker',
        )
    })
  })
})

describe('POST /org/users', () => {
  it('creates a person (201) in the workspace with GUEST, a verified sign-in address and no password, and audits it', async () => {
    const { workspace, user: admin, headers } = await seedSignedIn('ADMIN')
    const email = freshEmail('Bob')
    const res = await post(
      '/org/users',
      { email: email.toUpperCase(), givenName: 'Bob', familyName: 'Builder', displayName: 'Bob B.' },
      headers,
    )
    expect(res.status).toBe(201)
    const body = await res.json<User>()
    expect(body).toMatchObject({
      email: email.toLowerCase(),
      givenName: 'Bob',
      familyName: 'Builder',
      displayName: 'Bob B.',
      createdBy: admin.publicId,
      updatedBy: admin.publicId,
    })
    expect(body.id).toMatch(/^[A-Z0-9]{10}$/)
    expect(body.createdAt).toMatch(ISO)
    const [row] = await db.select().from(users).where(eq(users.publicId, body.id))
    expect(row!.passwordHash).toBeNull()
    expect(await membershipsOf(row!.id)).toEqual([
      expect.objectContaining({ workspaceId: workspace.id, role: 'GUEST' }),
    ])
    const [address] = await db.select().from(userEmails).where(eq(userEmails.userId, row!.id))
    expect(address).toMatchObject({ email: email.toLowerCase() })
    expect(address!.verifiedAt).not.toBeNull()
    expect((await login(email)).status).toBe(401)
    expect(await lastEvent('createOrgUser', body.id)).toMatchObject({
      actorType: 'user',
      actorId: admin.publicId,
      workspaceId: workspace.id,
      detail: { role: 'GUEST' },
    })
    expect((await api(`/org/users/${body.id}`, { headers })).status).toBe(200)
  })

  it("gives the workspace's default invite role when there is one, and works for root (no createdBy)", async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'AUDITOR', 'MEMBER', true)
    const res = await post('/org/users', { email: freshEmail() }, rootIn(workspace.id))
    expect(res.status).toBe(201)
    const body = await res.json<User>()
    expect(body).not.toHaveProperty('createdBy')
    const [row] = await db.select().from(users).where(eq(users.publicId, body.id))
    expect((await membershipsOf(row!.id))[0]).toMatchObject({ role: 'AUDITOR' })
  })

  it('answers 409 for an address any user has, as sign-in address or verified one, in any case; nothing is created', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const { user: stranger } = await seedSignedIn('GUEST')
    const before = (await db.select().from(users)).length
    for (const email of [stranger.email, stranger.email.toUpperCase()])
      await expectProblem(await post('/org/users', { email }, headers), 409, 'CONFLICT')
    expect(await db.select().from(users)).toHaveLength(before)
  })

  it("does not let someone's unverified claim on an address keep its owner from being created", async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const { headers: claimant } = await seedSignedIn('GUEST')
    const claimed = freshEmail('claimed')
    expect((await post('/me/emails', { email: claimed }, claimant)).status).toBe(201)
    expect((await post('/org/users', { email: claimed }, headers)).status).toBe(201)
    const rows = await db.select().from(userEmails).where(eq(userEmails.email, claimed))
    expect(rows).toEqual([expect.objectContaining({ verifiedAt: expect.any(Date) })])
  })

  it('refuses missing, malformed and unknown fields with 400 naming them', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const before = (await db.select().from(users)).length
    const cases: [unknown, string][] = [
      [{}, 'email'],
      [{ email: 'not-an-address' }, 'email'],
      [{ email: 5 }, 'email'],
      [{ email: freshEmail(), password: STRONG_PASSWORD }, 'password'],
      [{ email: freshEmail(), role: 'ADMIN' }, 'role'],
      [{ email: freshEmail(), id: 'A1B2C3D4E5' }, 'id'],
      [{ email: freshEmail(), givenName: 'x'.repeat(101) }, 'givenName'],
      [{ email: freshEmail(), displayName: 'two\nlines' }, 'displayName'],
    ]
    for (const [body, field] of cases)
      await expectProblem(await post('/org/users', body, headers), 400, 'VALIDATION_FAILED', field)
    await expectProblem(await post('/org/users', '{"email":', headers), 400, 'VALIDATION_FAILED')
    expect(await db.select().from(users)).toHaveLength(before)
  })

  it('answers 401 without credentials and 403 to a MEMBER', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const email = freshEmail()
    await expectProblem(await post('/org/users', { email }), 401, 'UNAUTHENTICATED')
    await expectProblem(await post('/org/users', { email }, await signIn(member, workspace.id)), 403, 'FORBIDDEN')
    expect(await db.select().from(users).where(eq(users.email, email))).toEqual([])
  })
})

describe('GET /org/users/{user}', () => {
  it('describes a person of the organization; 404 for one of another organization or nobody', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER', { name: 'Max' })
    const res = await api(`/org/users/${member.publicId}`, { headers })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ id: member.publicId, email: member.email, displayName: 'Max' })
    const outsider = await seedUser((await seedOrganization()).workspace.id, 'MEMBER')
    await expectProblem(await api(`/org/users/${outsider.publicId}`, { headers }), 404, 'NOT_FOUND')
    await expectProblem(await api('/org/users/ZZZZZZZZZZ', { headers }), 404, 'NOT_FOUND')
    // The same answer for "elsewhere" and "nobody": ids of other organizations cannot be probed.
    const a = await (await api(`/org/users/${outsider.publicId}`, { headers })).json<Problem>()
    const b = await (await api('/org/users/ZZZZZZZZZZ', { headers })).json<Problem>()
    expect(a.message).toBe(b.message)
  })

  it('refuses malformed ids with 400 on the user parameter, 401 without credentials, 403 to a MEMBER', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    for (const id of [...BAD_IDS, member.publicId.toLowerCase()])
      await expectProblem(await api(`/org/users/${id}`, { headers }), 400, 'VALIDATION_FAILED', 'user')
    await expectProblem(await api(`/org/users/${member.publicId}`), 401, 'UNAUTHENTICATED')
    await expectProblem(
      await api(`/org/users/${member.publicId}`, { headers: await signIn(member, workspace.id) }),
      403,
      'FORBIDDEN',
    )
  })
})

describe('PATCH /org/users/{user}', () => {
  it('changes only the fields sent (200 User), shows in the person’s own sessions at once, and audits the fields', async () => {
    const { workspace, user: admin, headers } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'MEMBER', { name: 'Old Name' })
    const theirs = await signIn(person, workspace.id)
    const res = await patch(person.publicId, { givenName: 'Pat', familyName: 'Doe' }, headers)
    expect(res.status).toBe(200)
    const body = await res.json<User>()
    expect(body).toMatchObject({
      id: person.publicId,
      givenName: 'Pat',
      familyName: 'Doe',
      displayName: 'Old Name',
      updatedBy: admin.publicId,
    })
    const me = await (await api('/me', { headers: theirs })).json<{ user: User }>()
    expect(me.user).toMatchObject({ givenName: 'Pat', familyName: 'Doe' })
    expect(await lastEvent('updateOrgUser', person.publicId)).toMatchObject({
      actorId: admin.publicId,
      detail: { fields: ['givenName', 'familyName'] },
    })
    const cleared = await (await patch(person.publicId, { displayName: '' }, headers)).json<User>()
    expect(cleared).not.toHaveProperty('displayName')
    expect(cleared.givenName).toBe('Pat')
  })

  it('replaces the sign-in address with a new one: sign-in works with it, and the old one is free again', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const next = freshEmail('next')
    const res = await patch(person.publicId, { email: next.toUpperCase() }, headers)
    expect(res.status, await res.clone().text()).toBe(200)
    expect((await res.json<User>()).email).toBe(next)
    expect((await login(person.email)).status).toBe(401)
    expect((await login(next)).status).toBe(200)
    const addresses = await db.select().from(userEmails).where(eq(userEmails.userId, person.id))
    expect(addresses.map((a) => a.email)).toEqual([next])
    expect(addresses[0]!.verifiedAt).not.toBeNull()
    expect((await post('/org/users', { email: person.email }, headers)).status).toBe(201)
  })

  it("switches the sign-in address to one of the person's own other addresses (200, and they sign in with it)", async () => {
    // PATCH /org/users/{user} {"email": <an address the person added and verified>}: the address is
    // the person's own, so it is not "taken"; their added row of it gives way to the sign-in address,
    // which would otherwise collide with it (UNIQUE user_emails.email) and answer 409.
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const own = await signIn(person, workspace.id)
    const second = freshEmail('second')
    expect((await post('/me/emails', { email: second }, own)).status).toBe(201)
    const [mail] = await mailsTo(second)
    const link = new URL(/https?:\/\/\S+verify-email\?token=[\w-]+/.exec(mail!.text)![0])
    expect((await api(`${link.pathname}${link.search}`)).status).toBe(200)
    const res = await patch(person.publicId, { email: second }, headers)
    expect(res.status, await res.clone().text()).toBe(200)
    expect((await login(second)).status).toBe(200)
  })

  it('answers 409 for an address someone else has, 400 for unknown fields, and changes nothing', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'MEMBER', { name: 'Same' })
    const other = await seedUser(null, 'MEMBER')
    const before = await userRow(person.id)
    await expectProblem(await patch(person.publicId, { email: other.email }, headers), 409, 'CONFLICT')
    for (const field of ['id', 'password', 'enabled', 'role'])
      await expectProblem(
        await patch(person.publicId, { displayName: 'Changed', [field]: 'X' }, headers),
        400,
        'VALIDATION_FAILED',
        field,
      )
    await expectProblem(await patch(person.publicId, { email: 'nope' }, headers), 400, 'VALIDATION_FAILED', 'email')
    await expectProblem(await patch(person.publicId, { givenName: 3 }, headers), 400, 'VALIDATION_FAILED', 'givenName')
    expect(await userRow(person.id)).toEqual(before)
  })

  it('answers 404 for another organization’s person, 403 to a MEMBER, 401 without credentials', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER', { name: 'Kept' })
    const outsider = await seedUser((await seedOrganization()).workspace.id, 'MEMBER', { name: 'Kept' })
    await expectProblem(await patch(outsider.publicId, { displayName: 'Owned' }, headers), 404, 'NOT_FOUND')
    await expectProblem(
      await patch(member.publicId, { displayName: 'Owned' }, await signIn(member, workspace.id)),
      403,
      'FORBIDDEN',
    )
    await expectProblem(await patch(member.publicId, { displayName: 'Owned' }, {}), 401, 'UNAUTHENTICATED')
    for (const id of BAD_IDS)
      await expectProblem(await patch(id, { displayName: 'Owned' }, headers), 400, 'VALIDATION_FAILED', 'user')
    expect((await userRow(member.id))!.displayName).toBe('Kept')
    expect((await userRow(outsider.id))!.displayName).toBe('Kept')
  })

  it('refuses (403) to take over the address of a person who also belongs to an organization the admin does not run', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const { workspace: elsewhere } = await seedOrganization()
    const person = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    await alsoIn(person, elsewhere.id, 'ADMIN')
    const attacker = freshEmail('attacker')
    await expectProblem(await patch(person.publicId, { email: attacker }, headers), 403, 'FORBIDDEN')
    await expectProblem(await resetPassword(person.publicId, headers), 403, 'FORBIDDEN')
    expect((await userRow(person.id))!.email).toBe(person.email)
    expect((await login(person.email)).status).toBe(200)
  })
})

describe('DELETE /org/users/{user}', () => {
  it('ends membership, team memberships, sessions, API tokens and issued invitations at once, and the account with its last organization', async () => {
    const { org, workspace, user: admin, headers } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'ADMIN', { password: STRONG_PASSWORD })
    const [team] = await db
      .insert(teams)
      .values({ publicId: newPublicId(), organizationId: org.id, name: 'Red' })
      .returning()
    await db.insert(teamMembers).values({ teamId: team!.id, userId: person.id, role: 'MEMBER', createdAt: new Date() })
    const key = await seedApiToken(workspace.id, { userId: person.id })
    const { headers: session } = await sessionFor(person.email)
    const invitee = freshEmail('invitee')
    expect((await post('/api/inviteUsers', { inviteeEmail: invitee, inviteeRole: 'MEMBER' }, session)).status).toBe(200)
    for (const h of [session, key.headers]) expect((await api('/me', { headers: h })).status).toBe(200)

    const res = await del(`/org/users/${person.publicId}`, headers)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    for (const h of [session, key.headers]) {
      expect((await api('/me', { headers: h })).status).toBe(401)
      expect((await post('/api/getTeamData', {}, h)).status).toBe(401)
      expect((await api('/accounts', { headers: h })).status).toBe(401)
    }
    expect(await userRow(person.id)).toBeUndefined()
    expect(await membershipsOf(person.id)).toEqual([])
    expect(await db.select().from(teamMembers).where(eq(teamMembers.userId, person.id))).toEqual([])
    expect(await db.select().from(logins).where(eq(logins.userId, person.id))).toEqual([])
    expect(await db.select().from(apiTokens).where(eq(apiTokens.userId, person.id))).toEqual([])
    expect(await db.select().from(userEmails).where(eq(userEmails.userId, person.id))).toEqual([])
    expect(await db.select().from(invitations).where(eq(invitations.email, invitee))).toEqual([])
    expect((await login(person.email)).status).toBe(401)
    expect(await lastEvent('deleteOrgUser', person.publicId)).toMatchObject({
      actorType: 'user',
      actorId: admin.publicId,
    })
    await expectProblem(await api(`/org/users/${person.publicId}`, { headers }), 404, 'NOT_FOUND')
    await expectProblem(await del(`/org/users/${person.publicId}`, headers), 404, 'NOT_FOUND')
    // The address is free again.
    expect((await post('/org/users', { email: person.email }, headers)).status).toBe(201)
  })

  it('keeps the account, its other memberships, teams and keys when another organization has the person', async () => {
    const { org, workspace, headers } = await seedSignedIn('ADMIN')
    const other = await seedOrganization()
    const person = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    await alsoIn(person, other.workspace.id, 'MEMBER')
    const [here] = await db
      .insert(teams)
      .values({ publicId: newPublicId(), organizationId: org.id, name: 'Here' })
      .returning()
    const [there] = await db
      .insert(teams)
      .values({ publicId: newPublicId(), organizationId: other.org.id, name: 'There' })
      .returning()
    for (const t of [here!, there!])
      await db.insert(teamMembers).values({ teamId: t.id, userId: person.id, role: 'MEMBER', createdAt: new Date() })
    const keyHere = await seedApiToken(workspace.id, { userId: person.id })
    const keyThere = await seedApiToken(other.workspace.id, { userId: person.id })

    expect((await del(`/org/users/${person.publicId}`, headers)).status).toBe(204)
    expect(await userRow(person.id)).toBeDefined()
    expect((await membershipsOf(person.id)).map((m) => m.workspaceId)).toEqual([other.workspace.id])
    expect((await db.select().from(teamMembers).where(eq(teamMembers.userId, person.id))).map((t) => t.teamId)).toEqual(
      [there!.id],
    )
    expect((await api('/me', { headers: keyHere.headers })).status).toBe(401)
    expect((await api('/me', { headers: keyThere.headers })).status).toBe(200)
    // Signing in again lands in the organization that still has them.
    const { headers: again } = await sessionFor(person.email)
    const accounts = await (await api('/accounts', { headers: again })).json<{ data: { id: string }[] }>()
    expect(accounts.data.map((a) => a.id)).toEqual([person.publicId])
    await expectProblem(await api(`/org/users/${person.publicId}`, { headers }), 404, 'NOT_FOUND')
    const [taken] = await db
      .select()
      .from(users)
      .where(inArray(users.email, [person.email]))
    expect(taken).toBeDefined()
  })

  it('refuses to delete yourself (400), and nothing changes', async () => {
    const { user: admin, headers } = await seedSignedIn('ADMIN')
    await expectProblem(await del(`/org/users/${admin.publicId}`, headers), 400, 'VALIDATION_FAILED')
    expect((await membershipsOf(admin.id)).length).toBe(1)
    expect((await api('/me', { headers })).status).toBe(200)
  })

  it('answers 404 for another organization’s person, 403 to a MEMBER, 401 without credentials, 400 for a bad id', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const colleague = await seedUser(workspace.id, 'GUEST')
    const outsider = await seedUser((await seedOrganization()).workspace.id, 'MEMBER')
    await expectProblem(await del(`/org/users/${outsider.publicId}`, headers), 404, 'NOT_FOUND')
    await expectProblem(
      await del(`/org/users/${colleague.publicId}`, await signIn(member, workspace.id)),
      403,
      'FORBIDDEN',
    )
    await expectProblem(await del(`/org/users/${colleague.publicId}`, {}), 401, 'UNAUTHENTICATED')
    for (const id of BAD_IDS)
      await expectProblem(await del(`/org/users/${id}`, headers), 400, 'VALIDATION_FAILED', 'user')
    for (const u of [member, colleague, outsider]) expect(await membershipsOf(u.id)).toHaveLength(1)
  })
})

describe('POST /org/users/{user}/password', () => {
  it('changes the caller’s own password (204): other sessions end, this one stays, and the old password stops working', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const { headers: current } = await sessionFor(person.email)
    const { headers: other } = await sessionFor(person.email)
    const next = 'Brand-New-Pass-7'
    const res = await changePassword(person.publicId, { currentPassword: STRONG_PASSWORD, newPassword: next }, current)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect((await api('/me', { headers: current })).status).toBe(200)
    expect((await api('/me', { headers: other })).status).toBe(401)
    expect((await login(person.email)).status).toBe(401)
    expect((await login(person.email, next)).status).toBe(200)
    expect(await lastEvent('changeOwnPassword', person.publicId)).toMatchObject({
      actorId: person.publicId,
      outcome: 'success',
    })
    expect(JSON.stringify(await db.select().from(auditEvents))).not.toContain(next)
  })

  it("answers 403 for another user's id, even to an admin, and changes nothing", async () => {
    const { workspace, headers: admin } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const outsider = await seedUser((await seedOrganization()).workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const body = { currentPassword: STRONG_PASSWORD, newPassword: 'Hijacked-Pass-1' }
    await expectProblem(await changePassword(person.publicId, body, admin), 403, 'FORBIDDEN')
    await expectProblem(await changePassword(outsider.publicId, body, admin), 403, 'FORBIDDEN')
    await expectProblem(await changePassword(person.publicId, body, await signIn(outsider, null)), 403, 'FORBIDDEN')
    for (const u of [person, outsider]) expect((await login(u.email)).status).toBe(200)
  })

  it('answers a wrong current password with 400 on currentPassword (not 401), audited; the session stays', async () => {
    const person = await seedUser((await seedOrganization()).workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const { headers } = await sessionFor(person.email)
    const problem = await expectProblem(
      await changePassword(
        person.publicId,
        { currentPassword: 'Wrong-Pass-123', newPassword: 'Brand-New-Pass-7' },
        headers,
      ),
      400,
      'VALIDATION_FAILED',
      'currentPassword',
    )
    expect(problem.errors).toEqual([{ detail: 'is not right', pointer: '#/currentPassword' }])
    expect(await lastEvent('changeOwnPassword', person.publicId)).toMatchObject({
      outcome: 'failed',
      actorId: person.publicId,
    })
    expect((await api('/me', { headers })).status).toBe(200)
    expect((await login(person.email)).status).toBe(200)
  })

  it('refuses a weak new password with 400 stating the rule, and one equal to the current password', async () => {
    const person = await seedUser((await seedOrganization()).workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const { headers } = await sessionFor(person.email)
    for (const weak of [
      'Sh0rt!',
      'no-upper-case-1',
      'NO-LOWER-CASE-1',
      'No-Digits-Here',
      'NoSpecial123',
      `Aa1!${'x'.repeat(125)}`,
    ]) {
      const problem = await expectProblem(
        await changePassword(person.publicId, { currentPassword: STRONG_PASSWORD, newPassword: weak }, headers),
        400,
        'VALIDATION_FAILED',
      )
      expect(problem.message).toBe(passwordProblem(weak))
    }
    await expectProblem(
      await changePassword(
        person.publicId,
        { currentPassword: STRONG_PASSWORD, newPassword: STRONG_PASSWORD },
        headers,
      ),
      400,
      'VALIDATION_FAILED',
    )
    for (const [body, field] of [
      [{ newPassword: 'Brand-New-Pass-7' }, 'currentPassword'],
      [{ currentPassword: STRONG_PASSWORD }, 'newPassword'],
      [{ currentPassword: STRONG_PASSWORD, newPassword: 'Brand-New-Pass-7', userId: 'X' }, 'userId'],
    ] as const)
      await expectProblem(await changePassword(person.publicId, body, headers), 400, 'VALIDATION_FAILED', field)
    expect((await login(person.email)).status).toBe(200)
  })

  it('throttles guesses of the current password like sign-in (429 after 10 a minute from one address)', async () => {
    const person = await seedUser((await seedOrganization()).workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const { headers } = await sessionFor(person.email)
    const ip = nextIp()
    for (let i = 0; i < 10; i++)
      expect(
        (
          await changePassword(
            person.publicId,
            { currentPassword: `Guess-${i}-Pass!`, newPassword: 'Brand-New-Pass-7' },
            headers,
            ip,
          )
        ).status,
      ).toBe(400)
    await expectProblem(
      await changePassword(
        person.publicId,
        { currentPassword: STRONG_PASSWORD, newPassword: 'Brand-New-Pass-7' },
        headers,
        ip,
      ),
      429,
      'RATE_LIMITED',
    )
    expect((await login(person.email)).status).toBe(200)
  })

  it('answers 401 without credentials, 403 to an API key, 400 for a malformed id', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN', { password: STRONG_PASSWORD })
    const body = { currentPassword: STRONG_PASSWORD, newPassword: 'Brand-New-Pass-7' }
    for (const id of [...BAD_IDS, user.publicId.toLowerCase()])
      await expectProblem(await changePassword(id, body, headers), 400, 'VALIDATION_FAILED', 'user')
    await expectProblem(await changePassword(user.publicId, body, {}), 401, 'UNAUTHENTICATED')
    const { headers: key } = await seedApiToken(workspace.id, { userId: user.id })
    await expectProblem(await changePassword(user.publicId, body, key), 403, 'FORBIDDEN')
    expect((await login(user.email)).status).toBe(200)
  })
})

describe('POST /org/users/{user}/password/reset', () => {
  it('answers a strong temporary password of 16+ characters, different each time; the old one and every session end at once', async () => {
    const { workspace, user: admin, headers } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const { headers: session } = await sessionFor(person.email)
    const fixture = await signIn(person, workspace.id)
    const res = await resetPassword(person.publicId, headers)
    expect(res.status).toBe(200)
    const { password, ...rest } = await res.json<{ password: string }>()
    expect(rest).toEqual({})
    expect(password.length).toBeGreaterThanOrEqual(16)
    expect(passwordProblem(password)).toBeNull()
    for (const h of [session, fixture]) expect((await api('/me', { headers: h })).status).toBe(401)
    expect((await login(person.email)).status).toBe(401)
    expect(await lastEvent('resetUserPassword', person.publicId)).toMatchObject({
      actorType: 'user',
      actorId: admin.publicId,
    })

    const second = (await (await resetPassword(person.publicId, headers)).json<{ password: string }>()).password
    expect(second).not.toBe(password)
    expect((await login(person.email, password)).status).toBe(401)
    expect((await login(person.email, second)).status).toBe(200)
  })

  it('never writes the temporary password to the audit trail, jobs, outbox or logs', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m))
    const { password } = await (await resetPassword(person.publicId, headers)).json<{ password: string }>()
    expect((await login(person.email, password)).status).toBe(200)
    const rows = await db.select().from(auditEvents).where(eq(auditEvents.action, 'resetUserPassword'))
    expect(rows.length).toBeGreaterThan(0)
    for (const row of rows) expect(JSON.stringify(row)).not.toContain(password)
    expect(JSON.stringify(await db.select().from(auditEvents))).not.toContain(password)
    expect(JSON.stringify(await db.select().from(jobs))).not.toContain(password)
    expect(JSON.stringify(await db.select().from(emailOutbox))).not.toContain(password)
    expect(JSON.stringify(await db.select().from(users).where(eq(users.id, person.id)))).not.toContain(password)
    for (const spy of spies) expect(JSON.stringify(spy.mock.calls)).not.toContain(password)
  })

  it('opens a session that may only read /me and change its password; after the change the restriction is gone', async () => {
    const { workspace, headers: admin } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'ADMIN', { password: STRONG_PASSWORD })
    const { password } = await (await resetPassword(person.publicId, admin)).json<{ password: string }>()
    const { headers, body } = await sessionFor(person.email, password)
    expect(body.passwordChangeRequired).toBe(true)
    expect((await api('/me', { headers })).status).toBe(200)

    const restricted: [string, () => Promise<Response>][] = [
      ['PATCH /me', () => send('PATCH', '/me', headers, { displayName: 'x' })],
      ['POST /api/getTeamData', () => post('/api/getTeamData', {}, headers)],
      ['GET /org/users', () => api('/org/users', { headers })],
      ['GET /org/users/{self}', () => api(`/org/users/${person.publicId}`, { headers })],
      ['GET /accounts', () => api('/accounts', { headers })],
      ['GET /me/emails', () => api('/me/emails', { headers })],
      ['POST /me/emails', () => post('/me/emails', { email: freshEmail() }, headers)],
      ['GET /me/logins', () => api('/me/logins', { headers })],
      ['POST /me/mfa/totp', () => post('/me/mfa/totp', {}, headers)],
      ['POST /org/users', () => post('/org/users', { email: freshEmail() }, headers)],
      ['POST /org/users/{admin}/password/reset', () => resetPassword('ZZZZZZZZZZ', headers)],
      ['POST /api/addApiToken', () => post('/api/addApiToken', { tokenUtility: 'EXTERNAL_API' }, headers)],
      ['POST /api/goToAccount', () => post('/api/goToAccount', { newAccountId: workspace.id }, headers)],
      [
        'POST /api/inviteUsers',
        () => post('/api/inviteUsers', { inviteeEmail: freshEmail(), inviteeRole: 'MEMBER' }, headers),
      ],
    ]
    for (const [name, call] of restricted) expect((await call()).status, name).toBe(403)
    await expectProblem(await api('/org/users', { headers }), 403, 'FORBIDDEN')
    expect(await db.select().from(apiTokens).where(eq(apiTokens.userId, person.id))).toEqual([])

    const next = 'Chosen-By-Me-42'
    expect(
      (await changePassword(person.publicId, { currentPassword: password, newPassword: next }, headers)).status,
    ).toBe(204)
    expect((await userRow(person.id))!.passwordChangeRequired).toBe(false)
    for (const [name, call] of [
      ['GET /org/users', () => api('/org/users', { headers })],
      ['POST /api/getTeamData', () => post('/api/getTeamData', {}, headers)],
      ['GET /accounts', () => api('/accounts', { headers })],
      ['PATCH /me', () => send('PATCH', '/me', headers, { displayName: 'Free' })],
    ] as const)
      expect((await call()).status, name).toBe(200)
    const fresh = await sessionFor(person.email, next)
    expect(fresh.body).not.toHaveProperty('passwordChangeRequired')
    expect((await login(person.email, password)).status).toBe(401)
  })

  it('keeps a session opened before the reset ended, and a reset session restricted even on its own other routes', async () => {
    const { workspace, headers: admin } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const { password } = await (await resetPassword(person.publicId, admin)).json<{ password: string }>()
    const first = await sessionFor(person.email, password)
    const second = await sessionFor(person.email, password)
    // Changing the password from one restricted session ends the other one.
    expect(
      (
        await changePassword(
          person.publicId,
          { currentPassword: password, newPassword: 'Chosen-By-Me-42' },
          first.headers,
        )
      ).status,
    ).toBe(204)
    expect((await api('/me', { headers: second.headers })).status).toBe(401)
    expect((await api('/me/logins', { headers: first.headers })).status).toBe(200)
  })

  it('refuses your own reset (400), a MEMBER (403), another organization’s person (404), no credentials (401), a bad id (400)', async () => {
    const { workspace, user: admin, headers } = await seedSignedIn('ADMIN', { password: STRONG_PASSWORD })
    const member = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const outsider = await seedUser((await seedOrganization()).workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    await expectProblem(await resetPassword(admin.publicId, headers), 400, 'VALIDATION_FAILED')
    await expectProblem(await resetPassword(admin.publicId, await signIn(member, workspace.id)), 403, 'FORBIDDEN')
    await expectProblem(await resetPassword(outsider.publicId, headers), 404, 'NOT_FOUND')
    await expectProblem(await resetPassword(member.publicId, {}), 401, 'UNAUTHENTICATED')
    for (const id of BAD_IDS) await expectProblem(await resetPassword(id, headers), 400, 'VALIDATION_FAILED', 'user')
    for (const u of [admin, member, outsider]) expect((await login(u.email)).status).toBe(200)
  })

  it('works for root acting in the workspace, audited as root', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const person = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const res = await resetPassword(person.publicId, rootIn(workspace.id))
    expect(res.status).toBe(200)
    expect(await lastEvent('resetUserPassword', person.publicId)).toMatchObject({ actorType: 'root', actorId: 'root' })
  })
})
