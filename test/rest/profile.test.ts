import { and, eq } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { newPublicId } from '../../src/auth/crypto'
import { auditEvents, jobs, memberships, serviceAccounts, userEmails, users } from '../../src/db/schema'
import {
  api,
  db,
  type Headers,
  nextIp,
  post,
  ROOT,
  STRONG_PASSWORD,
  seedApiToken,
  seedOrganization,
  seedSignedIn,
  seedUser,
  signIn,
} from '../support'
import { mailsTo } from '../support/outbox'
import { problemOf, send } from '../support/rest'

/** GET/PATCH /me, /me/emails and the verification link of GET /auth/verify-email, as a user and as an attacker. */

type UserBody = Record<string, string>
type Address = { userId: string; email: string; verifiedAt?: string; createdAt: string; updatedAt: string }
type Page<T> = { items: T[]; marker?: string }

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

const patchMe = (body: unknown, headers: Headers) => send('PATCH', '/me', headers, body)
const addEmail = (email: unknown, headers: Headers) => send('POST', '/me/emails', headers, { email })
const login = (email: string, password = STRONG_PASSWORD) =>
  post('/auth/login', { email, password }, { 'CF-Connecting-IP': nextIp() })

/** A never-used address. */
const fresh = (label = 'addr') => `${label}-${newPublicId().toLowerCase()}@example.net`

/** Asserts an RFC 9457 problem with LakeSail's `message`; `field`, when given, must be named. */
const expectProblem = async (res: Response, status: number, code: string, field?: string) => {
  const problem = await problemOf(res, status, code)
  expect(problem).toMatchObject({ detail: problem.message, type: expect.stringMatching(/^urn:/) })
  expect(problem.instance).toMatch(/^\//)
  expect(problem.message.length).toBeGreaterThan(0)
  if (field) {
    const located = (problem.errors ?? []).some((e) => e.pointer === `#/${field}` || e.parameter === field)
    expect(located || problem.message.includes(field), `${field} named in ${JSON.stringify(problem)}`).toBe(true)
  }
  return problem
}

const userRow = async (id: number) => (await db.select().from(users).where(eq(users.id, id)))[0]!
const addressRows = (userId: number) => db.select().from(userEmails).where(eq(userEmails.userId, userId))
const events = (action: string, targetId: string) =>
  db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.action, action), eq(auditEvents.targetId, targetId)))

/** The verification link emailed to an address: path and query, ready for `api`. */
const verificationLink = async (to: string) => {
  const [mail] = await mailsTo(to)
  const url = /https?:\/\/[^\s<"]+\/auth\/verify-email\?token=[\w-]+/.exec(mail!.text)?.[0]
  expect(url, mail!.text).toBeDefined()
  const link = new URL(url!)
  return `${link.pathname}${link.search}`
}

/** Adds an address through the API and opens its link: a verified address of the caller. */
const addVerified = async (headers: Headers, email = fresh()) => {
  expect((await addEmail(email, headers)).status).toBe(201)
  const res = await api(await verificationLink(email))
  expect(res.status, await res.clone().text()).toBe(200)
  return email
}

const listEmails = async (headers: Headers, query = '') => {
  const res = await api(`/me/emails${query}`, { headers })
  expect(res.status, await res.clone().text()).toBe(200)
  return res.json<Page<Address>>()
}

/** Every page of /me/emails with `limit`, running `between` after each page. */
const walkEmails = async (
  headers: Headers,
  limit: number,
  between: (page: number) => Promise<void> = async () => {},
) => {
  const seen: string[] = []
  let marker: string | undefined
  for (let page = 0; page < 50; page++) {
    const body = await listEmails(headers, `?limit=${limit}${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`)
    expect(body.items.length).toBeLessThanOrEqual(limit)
    seen.push(...body.items.map((a) => a.email))
    if (!('marker' in body)) return seen
    expect(typeof body.marker).toBe('string')
    marker = body.marker
    await between(page)
  }
  throw new Error('paging did not end')
}

/** A service account with a CICD key in a workspace of its own. */
const seedServiceAccount = async () => {
  const { org, workspace } = await seedOrganization()
  const [bot] = await db
    .insert(serviceAccounts)
    .values({ publicId: newPublicId(), organizationId: org.id, username: `bot-${newPublicId().toLowerCase()}` })
    .returning()
  await db.insert(memberships).values({ workspaceId: workspace.id, serviceAccountId: bot!.id, role: 'ADMIN' })
  return (await seedApiToken(workspace.id, { serviceAccountId: bot!.id }, 'EXTERNAL_API')).headers
}

afterEach(() => {
  vi.useRealTimers()
})

describe('GET /me', () => {
  it('answers exactly one of user, serviceAccount and root', async () => {
    const { user, headers } = await seedSignedIn('MEMBER')
    const asUser = await (await api('/me', { headers })).json<Record<string, UserBody>>()
    expect(Object.keys(asUser)).toEqual(['user'])
    expect(asUser.user).toMatchObject({ id: user.publicId, email: user.email })
    expect(asUser.user!.createdAt).toMatch(ISO)
    expect(asUser.user!.updatedAt).toMatch(ISO)

    const asBot = await (await api('/me', { headers: await seedServiceAccount() })).json<object>()
    expect(Object.keys(asBot)).toEqual(['serviceAccount'])

    expect(await (await api('/me', { headers: ROOT })).json()).toEqual({ root: {} })
  })

  it("describes the key's owner for a user's API key, with no secrets in it", async () => {
    const { workspace, user } = await seedSignedIn('ADMIN')
    const { headers } = await seedApiToken(workspace.id, { userId: user.id })
    const body = await (await api('/me', { headers })).json<Record<string, UserBody>>()
    expect(Object.keys(body)).toEqual(['user'])
    expect(body.user!.id).toBe(user.publicId)
    expect(JSON.stringify(body)).not.toMatch(/password|hash|enabled/i)
  })

  it('answers 401 problem+json without credentials, and with a revoked or forged session', async () => {
    const { user, workspace, headers } = await seedSignedIn('MEMBER')
    const revoked = await signIn(user, workspace.id)
    const { items } = await (await api('/me/logins', { headers: revoked })).json<
      Page<{ id: string; isCurrent: boolean }>
    >()
    const loginId = items.find((l) => l.isCurrent)!.id
    expect((await api(`/me/logins/${loginId}`, { method: 'DELETE', headers })).status).toBe(204)
    const forged = `${headers.Authorization!.slice(0, -4)}AAAA`
    const variants: Headers[] = [
      {},
      revoked,
      { Authorization: forged },
      { Authorization: 'Bearer ' },
      { 'access-token': 'x.y.z' },
    ]
    for (const h of variants) await expectProblem(await api('/me', { headers: h }), 401, 'UNAUTHENTICATED')
    expect((await api('/me', { headers })).status).toBe(200)
  })
})

describe('PATCH /me', () => {
  it('changes the names given, answers {user}, and every session of the user sees the change', async () => {
    const { user, workspace, headers } = await seedSignedIn('GUEST')
    const other = await signIn(user, workspace.id)
    const res = await patchMe({ givenName: 'Ada', familyName: 'Lovelace', displayName: 'Ada L.' }, headers)
    expect(res.status).toBe(200)
    const body = await res.json<Record<string, UserBody>>()
    expect(Object.keys(body)).toEqual(['user'])
    expect(body.user).toMatchObject({
      id: user.publicId,
      email: user.email,
      givenName: 'Ada',
      familyName: 'Lovelace',
      displayName: 'Ada L.',
      updatedBy: user.publicId,
    })
    const seen = await (await api('/me', { headers: other })).json<Record<string, UserBody>>()
    expect(seen.user).toMatchObject({ givenName: 'Ada', familyName: 'Lovelace', displayName: 'Ada L.' })
    expect(await userRow(user.id)).toMatchObject({ givenName: 'Ada', familyName: 'Lovelace', displayName: 'Ada L.' })

    const [event] = await events('updateOwnProfile', user.publicId)
    expect(event).toMatchObject({ actorType: 'user', actorId: user.publicId, outcome: 'success' })
    expect(event!.detail).toEqual({ fields: ['givenName', 'familyName', 'displayName'] })
  })

  it('changes only the fields sent, trims names, and clears a name sent empty (the key then goes)', async () => {
    const { user, headers } = await seedSignedIn('MEMBER', { name: 'Keep Me' })
    await patchMe({ givenName: 'Grace', familyName: 'Hopper' }, headers)
    const res = await patchMe({ givenName: '  Amazing Grace  ', familyName: '' }, headers)
    const body = await res.json<Record<string, UserBody>>()
    expect(body.user).toMatchObject({ givenName: 'Amazing Grace', displayName: 'Keep Me' })
    expect(body.user).not.toHaveProperty('familyName')
    expect(await userRow(user.id)).toMatchObject({ givenName: 'Amazing Grace', familyName: null })
  })

  it('answers an empty body with the profile unchanged', async () => {
    const { user, headers } = await seedSignedIn('MEMBER', { name: 'Same' })
    const res = await patchMe({}, headers)
    expect(res.status).toBe(200)
    expect((await res.json<Record<string, UserBody>>()).user).toMatchObject({ id: user.publicId, displayName: 'Same' })
  })

  it('refuses any other field with 400 naming it, and changes nothing, even alongside allowed ones', async () => {
    const { user, headers } = await seedSignedIn('MEMBER', { name: 'Before' })
    const before = await userRow(user.id)
    for (const field of ['id', 'password', 'passwordHash', 'enabled', 'role', 'createdBy', 'updatedAt', 'emails']) {
      const res = await patchMe({ displayName: 'After', [field]: field === 'enabled' ? false : 'X1X1X1X1X1' }, headers)
      await expectProblem(res, 400, 'VALIDATION_FAILED', field)
    }
    expect(await userRow(user.id)).toEqual(before)
  })

  it('refuses wrong types, over-long and multi-line names with 400 naming the field', async () => {
    const { user, headers } = await seedSignedIn('MEMBER', { name: 'Before' })
    const before = await userRow(user.id)
    const cases: [Record<string, unknown>, string][] = [
      [{ givenName: 5 }, 'givenName'],
      [{ familyName: null }, 'familyName'],
      [{ displayName: ['a'] }, 'displayName'],
      [{ givenName: 'a'.repeat(101) }, 'givenName'],
      [{ familyName: 'b'.repeat(201) }, 'familyName'],
      [{ displayName: 'Line one\nline two' }, 'displayName'],
      [{ displayName: 'evil\u202Etxt.exe' }, 'displayName'],
      [{ email: 42 }, 'email'],
    ]
    for (const [body, field] of cases)
      await expectProblem(await patchMe(body, headers), 400, 'VALIDATION_FAILED', field)
    await expectProblem(await patchMe('{"givenName":', headers), 400, 'VALIDATION_FAILED')
    await expectProblem(await patchMe('[]', headers), 400, 'VALIDATION_FAILED')
    expect(await userRow(user.id)).toEqual(before)
  })

  it('answers 401 without credentials and 403 for root, a service account and an API key', async () => {
    await expectProblem(await patchMe({ givenName: 'X' }, {}), 401, 'UNAUTHENTICATED')
    await expectProblem(await patchMe({ givenName: 'X' }, ROOT), 403, 'FORBIDDEN')
    await expectProblem(await patchMe({ givenName: 'X' }, await seedServiceAccount()), 403, 'FORBIDDEN')
    const { workspace, user } = await seedSignedIn('ADMIN', { name: 'Unchanged' })
    const { headers: key } = await seedApiToken(workspace.id, { userId: user.id })
    await expectProblem(await patchMe({ displayName: 'Owned' }, key), 403, 'FORBIDDEN')
    expect((await userRow(user.id)).displayName).toBe('Unchanged')
  })

  describe('email', () => {
    it('refuses an address that is not one of the caller’s verified ones: 400 on #/email, nothing changes', async () => {
      const { user, headers } = await seedSignedIn('MEMBER')
      const someoneElse = await seedUser(null, 'MEMBER')
      const pending = fresh('pending')
      expect((await addEmail(pending, headers)).status).toBe(201)
      for (const email of [fresh('never-added'), pending, someoneElse.email]) {
        const problem = await expectProblem(await patchMe({ email }, headers), 400, 'VALIDATION_FAILED', 'email')
        expect(problem.errors).toEqual([{ detail: 'is not one of your verified addresses', pointer: '#/email' }])
      }
      expect((await userRow(user.id)).email).toBe(user.email)
      expect((await login(someoneElse.email)).status).toBe(401)
    })

    it('refuses a malformed address with 400 that names email', async () => {
      const { user, headers } = await seedSignedIn('MEMBER')
      for (const email of ['not-an-address', 'a@b', '@example.net', 'two@@example.net', ''])
        await expectProblem(await patchMe({ email }, headers), 400, 'VALIDATION_FAILED', 'email')
      expect((await userRow(user.id)).email).toBe(user.email)
    })

    it('switches the sign-in address to a verified one: sign-in works with it and no longer with the old one', async () => {
      const { user, headers } = await seedSignedIn('MEMBER', { password: STRONG_PASSWORD })
      const next = await addVerified(headers, fresh('Next').toUpperCase())
      const res = await patchMe({ email: next.toUpperCase() }, headers)
      expect(res.status, await res.clone().text()).toBe(200)
      expect((await res.json<Record<string, UserBody>>()).user!.email).toBe(next.toLowerCase())
      expect(((await (await api('/me', { headers })).json()) as Record<string, UserBody>).user!.email).toBe(
        next.toLowerCase(),
      )

      expect((await login(user.email)).status).toBe(401)
      const signedIn = await login(next)
      expect(signedIn.status).toBe(200)
      expect((await signedIn.json<{ user: { id: string; email: string } }>()).user).toEqual({
        id: user.publicId,
        email: next.toLowerCase(),
      })
      // Both addresses stay on the account, verified; the old one can be switched back to.
      const listed = (await listEmails(headers)).items
      expect(listed.map((a) => a.email).sort()).toEqual([user.email, next.toLowerCase()].sort())
      expect(listed.every((a) => ISO.test(a.verifiedAt ?? ''))).toBe(true)
      expect((await patchMe({ email: user.email }, headers)).status).toBe(200)
      expect((await login(user.email)).status).toBe(200)
    })
  })
})

describe('GET /me/emails', () => {
  it('lists the sign-in address, verified, in the UserEmail shape', async () => {
    const { user, headers } = await seedSignedIn('GUEST')
    const body = await listEmails(headers)
    expect(Object.keys(body)).toEqual(['items'])
    expect(body.items).toHaveLength(1)
    const [address] = body.items
    expect(address).toMatchObject({ userId: user.publicId, email: user.email })
    expect(address!.verifiedAt).toMatch(ISO)
    expect(address!.createdAt).toMatch(ISO)
    expect(
      Object.keys(address!).every((k) =>
        ['userId', 'email', 'verifiedAt', 'createdAt', 'createdBy', 'updatedAt', 'updatedBy'].includes(k),
      ),
    ).toBe(true)
  })

  it("shows only the caller's addresses", async () => {
    const { headers: mine } = await seedSignedIn('ADMIN')
    const { user: other, headers: theirs } = await seedSignedIn('ADMIN')
    const secret = fresh('secret')
    expect((await addEmail(secret, theirs)).status).toBe(201)
    const listed = JSON.stringify(await listEmails(mine))
    expect(listed).not.toContain(other.email)
    expect(listed).not.toContain(secret)
  })

  it('answers 401 without credentials and 403 for root and service accounts', async () => {
    await expectProblem(await api('/me/emails'), 401, 'UNAUTHENTICATED')
    await expectProblem(await api('/me/emails', { headers: ROOT }), 403, 'FORBIDDEN')
    await expectProblem(await api('/me/emails', { headers: await seedServiceAccount() }), 403, 'FORBIDDEN')
  })

  describe('paging', () => {
    it('walks every address once with a marker, and leaves the marker key out on the last page', async () => {
      const { user, headers } = await seedSignedIn('MEMBER')
      const added = [fresh('a'), fresh('b'), fresh('c'), fresh('d'), fresh('e')]
      for (const email of added) expect((await addEmail(email, headers)).status).toBe(201)
      const all = [user.email, ...added]
      expect((await listEmails(headers)).items.map((a) => a.email)).toEqual(all)
      expect(await walkEmails(headers, 2)).toEqual(all)
      expect(await walkEmails(headers, 1)).toEqual(all)
      expect(await walkEmails(headers, 5)).toEqual(all)
      const last = await listEmails(headers, '?limit=6')
      expect(Object.keys(last)).toEqual(['items'])
      const exact = await listEmails(headers, '?limit=3')
      expect(exact.items).toHaveLength(3)
      expect(exact.marker).toEqual(expect.any(String))
    })

    it('neither skips nor repeats an address when addresses are added between pages', async () => {
      const { user, headers } = await seedSignedIn('MEMBER')
      const initial = [fresh('p'), fresh('q'), fresh('r')]
      for (const email of initial) expect((await addEmail(email, headers)).status).toBe(201)
      const later: string[] = []
      // One new address after each page (the 10-an-hour send limit bounds how many).
      const seen = await walkEmails(headers, 2, async (page) => {
        if (page > 2) return
        const email = fresh(`later${page}`)
        later.push(email)
        expect((await addEmail(email, headers)).status).toBe(201)
      })
      expect(new Set(seen).size).toBe(seen.length)
      expect(seen.slice(0, 4)).toEqual([user.email, ...initial])
      expect(seen).toEqual([user.email, ...initial, ...later])
    })

    it('answers limit=0 with no items and a marker that starts where it did', async () => {
      const { user, headers } = await seedSignedIn('MEMBER')
      const extra = fresh('zero')
      expect((await addEmail(extra, headers)).status).toBe(201)
      const zero = await listEmails(headers, '?limit=0')
      expect(zero.items).toEqual([])
      expect(Object.keys(zero).sort()).toEqual(['items', 'marker'])
      const next = await listEmails(headers, `?marker=${encodeURIComponent(zero.marker!)}`)
      expect(next.items.map((a) => a.email)).toEqual([user.email, extra])
      const first = await listEmails(headers, '?limit=1')
      const zeroLater = await listEmails(headers, `?limit=0&marker=${encodeURIComponent(first.marker!)}`)
      expect(zeroLater.items).toEqual([])
      const rest = await listEmails(headers, `?marker=${encodeURIComponent(zeroLater.marker!)}`)
      expect(rest.items.map((a) => a.email)).toEqual([extra])
      // At the end, limit=0 has nothing left to point at.
      const end = await listEmails(headers, `?limit=0&marker=${encodeURIComponent(rest.marker ?? first.marker!)}`)
      expect(end.items).toEqual([])
    })

    it('refuses a limit outside 0..100 or not an integer with 400 on the limit parameter', async () => {
      const { headers } = await seedSignedIn('MEMBER')
      for (const limit of ['-1', '101', '1.5', 'abc', '', '1e2', '0x10', '+5', ' 5', '1000', '9999999999']) {
        const res = await api(`/me/emails?limit=${encodeURIComponent(limit)}`, { headers })
        const problem = await expectProblem(res, 400, 'VALIDATION_FAILED', 'limit')
        expect(problem.errors).toContainEqual(expect.objectContaining({ parameter: 'limit' }))
      }
      await expectProblem(await api('/me/emails?limit=1&limit=2', { headers }), 400, 'VALIDATION_FAILED', 'limit')
      for (const limit of ['0', '1', '100', '007'])
        expect((await api(`/me/emails?limit=${limit}`, { headers })).status).toBe(200)
    })

    it('refuses a real marker with anything appended to it (a marker the server did not issue)', async () => {
      // A marker is exactly '<payload>.<signature>': anything after the signature (a third part, even
      // an empty one or a copy of the signature) makes it one the server did not issue, so 400, not
      // the page after the issued marker.
      const { headers } = await seedSignedIn('MEMBER')
      expect((await addEmail(fresh('j1'), headers)).status).toBe(201)
      const real = (await listEmails(headers, '?limit=1')).marker!
      for (const marker of [`${real}.junk`, `${real}.`, `${real}.${real.split('.')[1]}`])
        await expectProblem(
          await api(`/me/emails?marker=${encodeURIComponent(marker)}`, { headers }),
          400,
          'VALIDATION_FAILED',
          'marker',
        )
    })

    it('refuses garbage, forged, over-long and other lists’ markers with 400 on the marker parameter', async () => {
      const { workspace, headers } = await seedSignedIn('ADMIN')
      for (const email of [fresh('m1'), fresh('m2')]) expect((await addEmail(email, headers)).status).toBe(201)
      const real = (await listEmails(headers, '?limit=1')).marker!
      const [payload, mac] = real.split('.') as [string, string]
      const decoded = JSON.parse(atob(payload.replaceAll('-', '+').replaceAll('_', '/'))) as { list: string }
      expect(decoded.list).toBe('me/emails')
      const reencode = (o: unknown) =>
        btoa(JSON.stringify(o)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
      await seedUser(workspace.id, 'MEMBER')
      await seedUser(workspace.id, 'MEMBER')
      const orgMarker = (await (await api('/org/users?limit=1', { headers })).json<Page<unknown>>()).marker!
      const loginsMarker = (await (await api('/me/logins?limit=0', { headers })).json<Page<unknown>>()).marker!
      const forged = [
        'abc',
        'e30',
        `${payload}.`,
        `.${mac}`,
        `${reencode({ ...decoded, after: 0 })}.${mac}`,
        `${payload}.${mac.slice(0, -2)}AA`,
        real.slice(0, -1),
        orgMarker,
        loginsMarker,
        'x'.repeat(513),
      ]
      for (const marker of forged) {
        const res = await api(`/me/emails?marker=${encodeURIComponent(marker)}`, { headers })
        await expectProblem(res, 400, 'VALIDATION_FAILED', 'marker')
      }
      // And this list's marker means nothing to the others.
      await expectProblem(
        await api(`/org/users?marker=${encodeURIComponent(real)}`, { headers }),
        400,
        'VALIDATION_FAILED',
        'marker',
      )
      await expectProblem(
        await api(`/me/logins?marker=${encodeURIComponent(real)}`, { headers }),
        400,
        'VALIDATION_FAILED',
        'marker',
      )
      await expectProblem(
        await api(`/me/trusted-devices?marker=${encodeURIComponent(real)}`, { headers }),
        400,
        'VALIDATION_FAILED',
        'marker',
      )
    })
  })
})

describe('POST /me/emails', () => {
  it('adds the address unverified (201, no verifiedAt key) and emails it a single-use verification link', async () => {
    const { user, headers } = await seedSignedIn('GUEST')
    const email = fresh('mixed.case')
    const res = await addEmail(`  ${email.toUpperCase()} `, headers)
    expect(res.status).toBe(201)
    const body = await res.json<Address>()
    expect(body).toMatchObject({
      userId: user.publicId,
      email: email.toLowerCase(),
      createdBy: user.publicId,
      updatedBy: user.publicId,
    })
    expect(body).not.toHaveProperty('verifiedAt')
    expect(body.createdAt).toMatch(ISO)
    expect((await listEmails(headers)).items.map((a) => [a.email, 'verifiedAt' in a])).toEqual([
      [user.email, true],
      [email, false],
    ])

    const [mail] = await mailsTo(email)
    expect(mail).toMatchObject({ to: email, subject: 'Confirm your email address' })
    const link = await verificationLink(email)
    expect(link).toMatch(/^\/auth\/verify-email\?token=[\w-]{43}$/)
    const token = new URLSearchParams(link.split('?')[1]).get('token')!
    expect(mail!.html).toMatch(new RegExp(`<a href="[^"]+/auth/verify-email\\?token=${token}"`))
    // The token is kept only as a hash, and the job row never carries the link.
    const [row] = (await addressRows(user.id)).filter((a) => a.email === email)
    expect(row!.verificationTokenHash).toBeTruthy()
    expect(row!.verificationTokenHash).not.toBe(token)
    const ttl = row!.verificationExpiresAt!.getTime() - row!.createdAt.getTime()
    expect(Math.abs(ttl - 24 * 60 * 60 * 1000)).toBeLessThan(5000)
    expect(JSON.stringify(await db.select().from(jobs))).not.toContain(token)

    const [event] = await events('addOwnEmail', user.publicId)
    expect(event).toMatchObject({ actorType: 'user', actorId: user.publicId, detail: { email } })
  })

  it('answers 409 for an address any user already has: sign-in or added, verified or not, any case', async () => {
    const { user, headers } = await seedSignedIn('MEMBER')
    const { headers: otherHeaders } = await seedSignedIn('MEMBER')
    const stranger = await seedUser(null, 'MEMBER')
    const theirPending = fresh('their-pending')
    const theirVerified = await addVerified(otherHeaders)
    expect((await addEmail(theirPending, otherHeaders)).status).toBe(201)
    const myPending = fresh('mine')
    expect((await addEmail(myPending, headers)).status).toBe(201)
    const before = await addressRows(user.id)
    for (const email of [user.email, stranger.email.toUpperCase(), theirPending, theirVerified, myPending]) {
      await expectProblem(await addEmail(email, headers), 409, 'CONFLICT')
    }
    expect(await addressRows(user.id)).toEqual(before)
  })

  it('refuses a missing, malformed or extra field with 400 naming it', async () => {
    const { user, headers } = await seedSignedIn('MEMBER')
    await expectProblem(await send('POST', '/me/emails', headers, {}), 400, 'VALIDATION_FAILED', 'email')
    await expectProblem(await addEmail(7, headers), 400, 'VALIDATION_FAILED', 'email')
    for (const email of ['not-an-address', 'a@b', 'x@example.net\r\nBcc: y@example.net'])
      await expectProblem(await addEmail(email, headers), 400, 'VALIDATION_FAILED', 'email')
    await expectProblem(await addEmail(`${'a'.repeat(320)}@example.net`, headers), 400, 'VALIDATION_FAILED', 'email')
    await expectProblem(
      await send('POST', '/me/emails', headers, { email: fresh(), verifiedAt: new Date().toISOString() }),
      400,
      'VALIDATION_FAILED',
      'verifiedAt',
    )
    expect(await addressRows(user.id)).toHaveLength(1)
  })

  it('answers 401 without credentials and 403 for root, a service account and an API key', async () => {
    await expectProblem(await addEmail(fresh(), {}), 401, 'UNAUTHENTICATED')
    await expectProblem(await addEmail(fresh(), ROOT), 403, 'FORBIDDEN')
    await expectProblem(await addEmail(fresh(), await seedServiceAccount()), 403, 'FORBIDDEN')
    const { workspace, user } = await seedSignedIn('ADMIN')
    const { headers: key } = await seedApiToken(workspace.id, { userId: user.id })
    await expectProblem(await addEmail(fresh(), key), 403, 'FORBIDDEN')
    expect(await addressRows(user.id)).toHaveLength(1)
  })

  it('sends at most 10 verification emails an hour per user (429 with Retry-After)', async () => {
    const { user, headers } = await seedSignedIn('MEMBER')
    for (let i = 0; i < 10; i++) expect((await addEmail(fresh(`t${i}`), headers)).status).toBe(201)
    const res = await addEmail(fresh('t10'), headers)
    await expectProblem(res, 429, 'RATE_LIMITED')
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await addressRows(user.id)).toHaveLength(11)
  })

  it("does not let an unverified claim lock the address's real owner out of an invitation", async () => {
    // Any signed-in user may claim an address without proving it (POST /me/emails → 201), and the
    // unverified row never expires (purgeExpired, src/jobs/handlers.ts:12, skips user_emails). The
    // real owner, invited to a workspace, then cannot sign up: acceptInvitation
    // (src/domain/invitations.ts:306) inserts the sign-in address, hits the UNIQUE index
    // user_emails_email, and answers 409 "This invitation was already accepted" (line 317), which is false.
    const { headers: squatter } = await seedSignedIn('GUEST')
    const { headers: admin } = await seedSignedIn('ADMIN')
    const victim = `victim-${newPublicId().toLowerCase()}@example.com`
    expect((await addEmail(victim, squatter)).status).toBe(201)
    const invited = await post('/api/inviteUsers', { inviteeEmail: victim, inviteeRole: 'MEMBER' }, admin)
    expect(invited.status, await invited.clone().text()).toBe(200)
    const { finalInviteCode } = await invited.json<{ finalInviteCode: string }>()
    const res = await post(
      '/auth/signup',
      { invitationCode: finalInviteCode, password: STRONG_PASSWORD },
      { 'CF-Connecting-IP': nextIp() },
    )
    expect(await res.clone().json<{ message: string }>()).not.toMatchObject({
      message: 'This invitation was already accepted',
    })
    expect(res.status).toBe(201)
  })
})

describe('GET /auth/verify-email', () => {
  it('verifies the address once: verifiedAt appears in the list, the audit names the owner, the link then dies', async () => {
    const { user, headers } = await seedSignedIn('MEMBER')
    const email = fresh('verify')
    expect((await addEmail(email, headers)).status).toBe(201)
    const link = await verificationLink(email)
    const res = await api(link)
    expect(res.status).toBe(200)
    const body = await res.json<{ email: string; verifiedAt: string }>()
    expect(body).toEqual({ email, verifiedAt: expect.stringMatching(ISO) })
    const listed = (await listEmails(headers)).items.find((a) => a.email === email)
    expect(listed!.verifiedAt).toBe(body.verifiedAt)
    const [row] = (await addressRows(user.id)).filter((a) => a.email === email)
    expect(row).toMatchObject({ verificationTokenHash: null, verificationExpiresAt: null })
    const [event] = await events('verifyEmail', user.publicId)
    expect(event).toMatchObject({ actorType: 'user', actorId: user.publicId, detail: { email } })

    const again = await expectProblem(await api(link), 400, 'VALIDATION_FAILED')
    expect(again.message).toMatch(/used already|expired/)
    expect((await listEmails(headers)).items.find((a) => a.email === email)!.verifiedAt).toBe(body.verifiedAt)
  })

  it('refuses garbage, missing and over-long tokens with 400, without credentials or with', async () => {
    const { headers } = await seedSignedIn('MEMBER')
    for (const query of ['?token=garbage', '?token=', '', `?token=${'A'.repeat(129)}`, '?token=%00']) {
      await expectProblem(await api(`/auth/verify-email${query}`), 400, 'VALIDATION_FAILED')
      await expectProblem(await api(`/auth/verify-email${query}`, { headers }), 400, 'VALIDATION_FAILED')
    }
  })

  it('expires after 24 hours', async () => {
    const { headers } = await seedSignedIn('MEMBER')
    const early = fresh('early')
    const late = fresh('late')
    for (const email of [early, late]) expect((await addEmail(email, headers)).status).toBe(201)
    const [earlyLink, lateLink] = [await verificationLink(early), await verificationLink(late)]
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 24 * 60 * 60 * 1000 - 60_000)
    expect((await api(earlyLink)).status).toBe(200)
    vi.setSystemTime(Date.now() + 2 * 60_000)
    await expectProblem(await api(lateLink), 400, 'VALIDATION_FAILED')
    vi.useRealTimers()
    const items = (await listEmails(headers)).items
    expect(items.find((a) => a.email === early)).toHaveProperty('verifiedAt')
    expect(items.find((a) => a.email === late)).not.toHaveProperty('verifiedAt')
  })

  it("verifies only the address the link was sent to, never another user's", async () => {
    const { user: a, headers: ha } = await seedSignedIn('MEMBER')
    const { user: b, headers: hb } = await seedSignedIn('MEMBER')
    const ea = fresh('a')
    const eb = fresh('b')
    expect((await addEmail(ea, ha)).status).toBe(201)
    expect((await addEmail(eb, hb)).status).toBe(201)
    expect((await api(await verificationLink(ea))).status).toBe(200)
    const rowsB = await addressRows(b.id)
    expect(rowsB.find((r) => r.email === eb)!.verifiedAt).toBeNull()
    expect((await addressRows(a.id)).find((r) => r.email === ea)!.verifiedAt).not.toBeNull()
  })
})
