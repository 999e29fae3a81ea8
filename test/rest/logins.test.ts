import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { base32Decode, stepOf, totpAt } from '../../src/auth/totp'
import { auditEvents, logins, trustedDevices } from '../../src/db/schema'
import { newTrustedDevice } from '../../src/domain/mfa'
import { startSession } from '../../src/domain/sign-in'
import {
  api,
  db,
  deps,
  type Headers,
  nextIp,
  post,
  ROOT,
  type SeededUser,
  STRONG_PASSWORD,
  seedApiToken,
  seedSignedIn,
  signIn,
} from '../support'
import { problemOf } from '../support/rest'

/** /me/logins and /me/trusted-devices: the caller's sessions and the devices that skip the second factor. */

type Login = {
  id: string
  deviceId: string
  authTime: string
  lastUsedAt: string
  expiresAt: string
  remoteIp?: string
  userAgent?: string
  isCurrent: boolean
}
type Device = {
  id: string
  deviceId: string
  expiresAt: string
  createdAt: string
  remoteIp?: string
  userAgent?: string
}
type Page<T> = { items: T[]; marker?: string }
type SignedIn = { token: string; deviceToken?: string; mfaRequired?: true; mfaToken?: string }

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const DAY = 24 * 60 * 60 * 1000
const BAD_IDS = [
  'abc',
  'abcdefghij',
  'ABCDEFGHI',
  'ABCDEFGHIJK',
  'ABCDEFGHI!',
  'ABCDE-GHIJ',
  'ÄBCDEFGHIJ',
  'ABCDEFGHI%20',
]

const bearer = (token: string): Headers => ({ Authorization: `Bearer ${token}` })
const del = (path: string, headers: Headers) => api(path, { method: 'DELETE', headers })

const expectProblem = async (res: Response, status: number, code: string, parameter?: string) => {
  const problem = await problemOf(res, status, code)
  if (parameter) expect(problem.errors).toContainEqual(expect.objectContaining({ parameter }))
  return problem
}

/** Signs in through POST /auth/login, from a known address and browser. */
const passwordLogin = (user: SeededUser, extra: Record<string, unknown> = {}, ip = nextIp(), headers: Headers = {}) =>
  post(
    '/auth/login',
    { email: user.email, password: STRONG_PASSWORD, ...extra },
    { 'CF-Connecting-IP': ip, 'User-Agent': 'TestBrowser/1.0', ...headers },
  )

const sessionOf = async (user: SeededUser) => {
  const res = await passwordLogin(user)
  expect(res.status, await res.clone().text()).toBe(200)
  const body = await res.json<SignedIn>()
  expect(body.token).toBeDefined()
  return { headers: bearer(body.token), loginId: await loginIdOf(bearer(body.token)) }
}

/** The id of the login a session's token names, as the list marks it. */
const loginIdOf = async (headers: Headers) => {
  const { items } = await (await api('/me/logins', { headers })).json<Page<Login>>()
  const current = items.filter((l) => l.isCurrent)
  expect(current).toHaveLength(1)
  return current[0]!.id
}

const listLogins = async (headers: Headers, query = '') => {
  const res = await api(`/me/logins${query}`, { headers })
  expect(res.status, await res.clone().text()).toBe(200)
  return res.json<Page<Login>>()
}
const listDevices = async (headers: Headers, query = '') => {
  const res = await api(`/me/trusted-devices${query}`, { headers })
  expect(res.status, await res.clone().text()).toBe(200)
  return res.json<Page<Device>>()
}

/** Every page of a list, with `between` run after each page that has a marker. */
const walk = async <T extends { id: string }>(
  path: string,
  headers: Headers,
  limit: number,
  between: (page: number) => Promise<void> = async () => {},
) => {
  const seen: string[] = []
  let marker: string | undefined
  for (let page = 0; page < 50; page++) {
    const res = await api(`${path}?limit=${limit}${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`, { headers })
    expect(res.status).toBe(200)
    const body = await res.json<Page<T>>()
    expect(body.items.length).toBeLessThanOrEqual(limit)
    seen.push(...body.items.map((i) => i.id))
    if (!('marker' in body)) return seen
    marker = body.marker
    await between(page)
  }
  throw new Error('paging did not end')
}

/** Turns TOTP on through the API; answers the secret and the recovery codes. */
const enrolTotp = async (headers: Headers) => {
  const started = await post('/me/mfa/totp', {}, headers)
  expect(started.status, await started.clone().text()).toBe(200)
  const { secret } = await started.json<{ secret: string }>()
  const code = await totpAt(base32Decode(secret), stepOf(new Date()))
  const confirmed = await post('/me/mfa/totp/verify', { code }, headers)
  expect(confirmed.status, await confirmed.clone().text()).toBe(200)
  const { recoveryCodes } = await confirmed.json<{ recoveryCodes: string[] }>()
  return { secret, recoveryCodes }
}

/** A user with a second factor, signed in; `recovery` hands out its unused recovery codes. */
const seedWithMfa = async (role = 'MEMBER') => {
  const seeded = await seedSignedIn(role, { password: STRONG_PASSWORD })
  const { recoveryCodes } = await enrolTotp(seeded.headers)
  const codes = [...recoveryCodes]
  return { ...seeded, recovery: () => codes.shift()! }
}

/** A sign-in with the second factor (a recovery code) that trusts the device; answers the session and device token. */
const trustedSignIn = async (user: SeededUser, recoveryCode: string, ip = nextIp()) => {
  const first = await passwordLogin(user, {}, ip)
  const { mfaRequired, mfaToken } = await first.json<SignedIn>()
  expect(mfaRequired).toBe(true)
  const res = await post(
    '/auth/login/mfa',
    { mfaToken, recoveryCode, trustDevice: true },
    { 'CF-Connecting-IP': ip, 'User-Agent': 'TrustedBrowser/2.0' },
  )
  expect(res.status, await res.clone().text()).toBe(200)
  const body = await res.json<SignedIn>()
  expect(body.deviceToken).toEqual(expect.any(String))
  return { headers: bearer(body.token), deviceToken: body.deviceToken! }
}

const loginRow = async (id: string) => (await db.select().from(logins).where(eq(logins.id, id)))[0]
const event = async (action: string, targetId: string) =>
  (
    await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, action), eq(auditEvents.targetId, targetId)))
  )[0]

describe('GET /me/logins', () => {
  it("lists the caller's active logins with device, address and agent, and marks only the current one", async () => {
    const { user, workspace, headers: fixture } = await seedSignedIn('MEMBER', { password: STRONG_PASSWORD })
    const ip = nextIp()
    const res = await passwordLogin(user, {}, ip)
    const mine = bearer((await res.json<SignedIn>()).token)
    const other = await signIn(user, workspace.id)
    const { items } = await listLogins(mine)
    expect(items).toHaveLength(3)
    const current = items.filter((l) => l.isCurrent)
    expect(current).toHaveLength(1)
    expect(current[0]).toMatchObject({ remoteIp: ip, userAgent: 'TestBrowser/1.0' })
    for (const login of items) {
      expect(login.id).toMatch(/^[A-Z0-9]{10}$/)
      expect(login.deviceId).toEqual(expect.any(String))
      for (const t of [login.authTime, login.lastUsedAt, login.expiresAt]) expect(t).toMatch(ISO)
      expect(new Date(login.expiresAt).getTime()).toBeGreaterThan(Date.now())
      expect(
        Object.keys(login).every((k) =>
          ['id', 'deviceId', 'authTime', 'lastUsedAt', 'expiresAt', 'remoteIp', 'userAgent', 'isCurrent'].includes(k),
        ),
      ).toBe(true)
    }
    // Each session sees itself as the current one.
    const ids = new Set(items.map((l) => l.id))
    for (const h of [fixture, other]) {
      const id = await loginIdOf(h)
      expect(ids.has(id)).toBe(true)
      expect(id).not.toBe(current[0]!.id)
    }
  })

  it("leaves out expired logins and other users' logins", async () => {
    const { user, workspace, headers } = await seedSignedIn('ADMIN')
    const { headers: strangerHeaders } = await seedSignedIn('ADMIN')
    const strangerLogin = await loginIdOf(strangerHeaders)
    // A session opened two days ago, the way sign-in opens one, has expired by now.
    const past = { ...deps(), now: () => new Date(Date.now() - 2 * DAY) }
    await startSession(past, user, workspace.id)
    const expired = (await db.select().from(logins).where(eq(logins.userId, user.id))).filter(
      (l) => l.expiresAt.getTime() < Date.now(),
    )
    expect(expired).toHaveLength(1)
    const { items } = await listLogins(headers)
    expect(items.map((l) => l.id)).toEqual([await loginIdOf(headers)])
    expect(items.map((l) => l.id)).not.toContain(expired[0]!.id)
    expect(items.map((l) => l.id)).not.toContain(strangerLogin)
  })

  it('answers 401 without credentials or with a forged token', async () => {
    await expectProblem(await api('/me/logins'), 401, 'UNAUTHENTICATED')
    await expectProblem(await api('/me/logins', { headers: bearer('a.b.c') }), 401, 'UNAUTHENTICATED')
  })

  it('is refused (4xx, never a list) to root and to limited API keys', async () => {
    const root = await api('/me/logins', { headers: ROOT })
    expect(root.status).toBeGreaterThanOrEqual(400)
    expect(root.status).toBeLessThan(500)
    const { workspace, user } = await seedSignedIn('ADMIN')
    const { headers: burp } = await seedApiToken(workspace.id, { userId: user.id }, 'BURP')
    await expectProblem(await api('/me/logins', { headers: burp }), 403, 'FORBIDDEN')
  })

  describe('paging', () => {
    it('walks every login once, leaves the marker out on the last page, and answers limit=0 with a marker', async () => {
      const { user, workspace, headers } = await seedSignedIn('MEMBER')
      for (let i = 0; i < 4; i++) await signIn(user, workspace.id)
      const all = (await listLogins(headers)).items.map((l) => l.id)
      expect(all).toHaveLength(5)
      expect([...all].sort()).toEqual(all)
      for (const limit of [1, 2, 4, 5]) expect(await walk<Login>('/me/logins', headers, limit)).toEqual(all)
      expect(Object.keys(await listLogins(headers, '?limit=5'))).toEqual(['items'])
      expect(Object.keys(await listLogins(headers, '?limit=4')).sort()).toEqual(['items', 'marker'])
      const zero = await listLogins(headers, '?limit=0')
      expect(zero.items).toEqual([])
      expect(zero.marker).toEqual(expect.any(String))
      expect((await listLogins(headers, `?marker=${encodeURIComponent(zero.marker!)}`)).items.map((l) => l.id)).toEqual(
        all,
      )
    })

    it('neither skips nor repeats a login when logins start between pages', async () => {
      const { user, workspace, headers } = await seedSignedIn('MEMBER')
      for (let i = 0; i < 4; i++) await signIn(user, workspace.id)
      const before = (await listLogins(headers)).items.map((l) => l.id)
      // The seeded sign-in and four more: an empty list would make the checks below vacuous.
      expect(before).toHaveLength(5)
      const seen = await walk<Login>('/me/logins', headers, 2, async () => {
        await signIn(user, workspace.id)
        await signIn(user, workspace.id)
      })
      expect(seen.length).toBeGreaterThanOrEqual(before.length)
      expect(new Set(seen).size).toBe(seen.length)
      for (const id of before) expect(seen).toContain(id)
      // Keys only grow past the marker: whatever was seen comes in order.
      expect([...seen].sort()).toEqual(seen)
    })

    it('refuses bad limits and foreign or forged markers with 400', async () => {
      const { headers } = await seedSignedIn('MEMBER')
      for (const limit of ['-1', '101', '1.5', 'abc'])
        await expectProblem(await api(`/me/logins?limit=${limit}`, { headers }), 400, 'VALIDATION_FAILED', 'limit')
      const emailsMarker = (await (await api('/me/emails?limit=0', { headers })).json<Page<unknown>>()).marker!
      for (const marker of [emailsMarker, 'garbage', `${emailsMarker.split('.')[0]}.AAAA`])
        await expectProblem(
          await api(`/me/logins?marker=${encodeURIComponent(marker)}`, { headers }),
          400,
          'VALIDATION_FAILED',
          'marker',
        )
    })
  })
})

describe('DELETE /me/logins/{loginId}', () => {
  it('ends the login (204, no body), which leaves the list, and audits who did it', async () => {
    const { user, headers } = await seedSignedIn('MEMBER', { password: STRONG_PASSWORD })
    const { loginId } = await sessionOf(user)
    const res = await del(`/me/logins/${loginId}`, headers)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect((await listLogins(headers)).items.map((l) => l.id)).not.toContain(loginId)
    expect(await loginRow(loginId)).toBeUndefined()
    expect(await event('revokeOwnLogin', loginId)).toMatchObject({
      actorType: 'user',
      actorId: user.publicId,
      outcome: 'success',
    })
  })

  for (const [surface, request] of [
    ['GET /me', (h: Headers) => api('/me', { headers: h })],
    ['POST /api/getTeamData', (h: Headers) => post('/api/getTeamData', {}, h)],
    ['GET /accounts', (h: Headers) => api('/accounts', { headers: h })],
    [
      'PATCH /me',
      (h: Headers) =>
        api('/me', {
          method: 'PATCH',
          headers: { ...h, 'Content-Type': 'application/json' },
          body: '{"displayName":"x"}',
        }),
    ],
    ['GET /me/logins', (h: Headers) => api('/me/logins', { headers: h })],
  ] as const) {
    it(`refuses the revoked token on its very next request: ${surface}`, async () => {
      const { user, headers } = await seedSignedIn('ADMIN', { password: STRONG_PASSWORD })
      const victim = await sessionOf(user)
      // The revoked session had been used (its principal is cached) before it was revoked.
      expect((await request(victim.headers)).status).toBe(200)
      expect((await del(`/me/logins/${victim.loginId}`, headers)).status).toBe(204)
      expect((await request(victim.headers)).status).toBe(401)
      expect((await api('/me', { headers })).status).toBe(200)
    })
  }

  it('lets a session revoke itself; its next request is a 401', async () => {
    const { user } = await seedSignedIn('MEMBER', { password: STRONG_PASSWORD })
    const { headers, loginId } = await sessionOf(user)
    expect((await del(`/me/logins/${loginId}`, headers)).status).toBe(204)
    await expectProblem(await api('/me', { headers }), 401, 'UNAUTHENTICATED')
    await expectProblem(await del(`/me/logins/${loginId}`, headers), 401, 'UNAUTHENTICATED')
  })

  it("answers 404 for another user's login, which keeps working, and for unknown, revoked and expired ones", async () => {
    const { user, workspace, headers } = await seedSignedIn('ADMIN', { password: STRONG_PASSWORD })
    const { headers: victimHeaders } = await seedSignedIn('MEMBER')
    const victimLogin = await loginIdOf(victimHeaders)
    await expectProblem(await del(`/me/logins/${victimLogin}`, headers), 404, 'NOT_FOUND')
    expect((await api('/me', { headers: victimHeaders })).status).toBe(200)
    expect(await loginRow(victimLogin)).toBeDefined()

    const revoked = await sessionOf(user)
    expect((await del(`/me/logins/${revoked.loginId}`, headers)).status).toBe(204)
    await expectProblem(await del(`/me/logins/${revoked.loginId}`, headers), 404, 'NOT_FOUND')
    await expectProblem(await del('/me/logins/ZZZZZZZZZZ', headers), 404, 'NOT_FOUND')

    await startSession({ ...deps(), now: () => new Date(Date.now() - 2 * DAY) }, user, workspace.id)
    const [expired] = (await db.select().from(logins).where(eq(logins.userId, user.id))).filter(
      (l) => l.expiresAt.getTime() < Date.now(),
    )
    await expectProblem(await del(`/me/logins/${expired!.id}`, headers), 404, 'NOT_FOUND')
  })

  it('refuses malformed ids with 400 on loginId, before looking anything up', async () => {
    const { headers } = await seedSignedIn('MEMBER')
    const own = await loginIdOf(headers)
    for (const id of [...BAD_IDS, own.toLowerCase()])
      await expectProblem(await del(`/me/logins/${id}`, headers), 400, 'VALIDATION_FAILED', 'loginId')
    expect((await api('/me', { headers })).status).toBe(200)
  })

  it('answers 401 without credentials', async () => {
    const { headers } = await seedSignedIn('MEMBER')
    await expectProblem(await del(`/me/logins/${await loginIdOf(headers)}`, {}), 401, 'UNAUTHENTICATED')
  })

  it('refuses a cookie-authenticated revocation from another site (403), and takes one from this origin', async () => {
    const { user, headers } = await seedSignedIn('MEMBER', { password: STRONG_PASSWORD })
    const res = await passwordLogin(user)
    const token = (await res.json<SignedIn>()).token
    const target = await sessionOf(user)
    const cookie = { Cookie: `__Host-session=${token}` }
    await expectProblem(
      await del(`/me/logins/${target.loginId}`, { ...cookie, Origin: 'https://evil.example' }),
      403,
      'FORBIDDEN',
    )
    await expectProblem(
      await del(`/me/logins/${target.loginId}`, { ...cookie, 'Sec-Fetch-Site': 'cross-site' }),
      403,
      'FORBIDDEN',
    )
    expect((await api('/me', { headers: target.headers })).status).toBe(200)
    expect((await del(`/me/logins/${target.loginId}`, { ...cookie, Origin: 'https://iam.test' })).status).toBe(204)
    expect((await api('/me', { headers: target.headers })).status).toBe(401)
    expect((await api('/me', { headers })).status).toBe(200)
  })
})

describe('GET /me/trusted-devices', () => {
  it('lists the devices trusted at sign-in, with address and agent, and no secret', async () => {
    const { user, recovery, headers } = await seedWithMfa()
    const ip = nextIp()
    const { deviceToken } = await trustedSignIn(user, recovery(), ip)
    const { items } = await listDevices(headers)
    expect(items).toHaveLength(1)
    const [device] = items
    expect(device).toMatchObject({ remoteIp: ip, userAgent: 'TrustedBrowser/2.0' })
    expect(device!.id).toMatch(/^[A-Z0-9]{10}$/)
    expect(device!.createdAt).toMatch(ISO)
    const days = (new Date(device!.expiresAt).getTime() - new Date(device!.createdAt).getTime()) / DAY
    expect(days).toBe(30)
    expect(Object.keys(device!).sort()).toEqual(['createdAt', 'deviceId', 'expiresAt', 'id', 'remoteIp', 'userAgent'])
    expect(JSON.stringify(items)).not.toContain(deviceToken)
  })

  it("leaves out expired devices and other users' devices", async () => {
    const { user, headers } = await seedWithMfa()
    const other = await seedWithMfa()
    await trustedSignIn(other.user, other.recovery())
    const old = await newTrustedDevice({ ...deps(), now: () => new Date(Date.now() - 31 * DAY) }, user.id)
    await old.insert
    const current = await newTrustedDevice(deps(), user.id)
    await current.insert
    const { items } = await listDevices(headers)
    expect(items.map((d) => d.id)).toEqual([current.device.id])
  })

  it('answers 401 without credentials, and an empty list to a user without devices', async () => {
    await expectProblem(await api('/me/trusted-devices'), 401, 'UNAUTHENTICATED')
    const { headers } = await seedSignedIn('GUEST')
    expect(await listDevices(headers)).toEqual({ items: [] })
    expect(await listDevices(headers, '?limit=0')).toEqual({ items: [] })
  })

  it('pages with markers: every device once, also while devices are added between pages', async () => {
    const { user, recovery, headers } = await seedWithMfa()
    for (let i = 0; i < 3; i++) await trustedSignIn(user, recovery())
    const before = (await listDevices(headers)).items.map((d) => d.id)
    expect(before).toHaveLength(3)
    expect(await walk<Device>('/me/trusted-devices', headers, 1)).toEqual(before)
    const zero = await listDevices(headers, '?limit=0')
    expect(zero.items).toEqual([])
    expect(zero.marker).toEqual(expect.any(String))
    expect(Object.keys(await listDevices(headers, '?limit=3'))).toEqual(['items'])
    const seen = await walk<Device>('/me/trusted-devices', headers, 2, async () => {
      await trustedSignIn(user, recovery())
    })
    expect(new Set(seen).size).toBe(seen.length)
    for (const id of before) expect(seen).toContain(id)
    for (const limit of ['-1', '101', '1.5', 'abc'])
      await expectProblem(
        await api(`/me/trusted-devices?limit=${limit}`, { headers }),
        400,
        'VALIDATION_FAILED',
        'limit',
      )
    const loginsMarker = (await listLogins(headers, '?limit=0')).marker!
    await expectProblem(
      await api(`/me/trusted-devices?marker=${encodeURIComponent(loginsMarker)}`, { headers }),
      400,
      'VALIDATION_FAILED',
      'marker',
    )
  })
})

describe('DELETE /me/trusted-devices/{trustedDeviceId}', () => {
  it('forgets the device (204): the next sign-in from it asks for the second factor again', async () => {
    const { user, recovery, headers } = await seedWithMfa()
    const { deviceToken, headers: deviceSession } = await trustedSignIn(user, recovery())
    // While trusted, the device token (in the body, or as its cookie) skips the second factor.
    const skipped = await passwordLogin(user, { deviceToken })
    expect(skipped.status).toBe(200)
    expect(await skipped.json<SignedIn>()).toHaveProperty('token')
    const byCookie = await passwordLogin(user, {}, nextIp(), { Cookie: `__Host-device=${deviceToken}` })
    expect(await byCookie.json<SignedIn>()).toHaveProperty('token')

    const [device] = (await listDevices(headers)).items
    const res = await del(`/me/trusted-devices/${device!.id}`, headers)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(await listDevices(headers)).toEqual({ items: [] })
    expect(await db.select().from(trustedDevices).where(eq(trustedDevices.userId, user.id))).toEqual([])
    expect(await event('revokeOwnTrustedDevice', device!.id)).toMatchObject({
      actorId: user.publicId,
      outcome: 'success',
    })

    for (const again of [
      await passwordLogin(user, { deviceToken }),
      await passwordLogin(user, {}, nextIp(), { Cookie: `__Host-device=${deviceToken}` }),
    ]) {
      expect(again.status).toBe(200)
      const body = await again.json<SignedIn>()
      expect(body).toEqual({ mfaRequired: true, mfaToken: expect.any(String) })
      expect(again.headers.get('set-cookie') ?? '').not.toContain('__Host-session')
    }
    // Sessions already open on that device are not ended by forgetting it.
    expect((await api('/me', { headers: deviceSession })).status).toBe(200)
  })

  it("does not let one user's device token skip another user's second factor", async () => {
    const alice = await seedWithMfa()
    const mallory = await seedWithMfa()
    const { deviceToken } = await trustedSignIn(mallory.user, mallory.recovery())
    const res = await passwordLogin(alice.user, { deviceToken })
    expect(await res.json<SignedIn>()).toEqual({ mfaRequired: true, mfaToken: expect.any(String) })
    const forged = await passwordLogin(alice.user, { deviceToken: 'A'.repeat(43) })
    expect(await forged.json<SignedIn>()).toEqual({ mfaRequired: true, mfaToken: expect.any(String) })
  })

  it("answers 404 for another user's device (which keeps working) and for an unknown one", async () => {
    const { headers } = await seedWithMfa()
    const victim = await seedWithMfa()
    const { deviceToken } = await trustedSignIn(victim.user, victim.recovery())
    const [theirs] = (await listDevices(victim.headers)).items
    await expectProblem(await del(`/me/trusted-devices/${theirs!.id}`, headers), 404, 'NOT_FOUND')
    await expectProblem(await del('/me/trusted-devices/ZZZZZZZZZZ', headers), 404, 'NOT_FOUND')
    expect(await (await passwordLogin(victim.user, { deviceToken })).json<SignedIn>()).toHaveProperty('token')
  })

  it('refuses malformed ids with 400 on trustedDeviceId, and answers 401 without credentials', async () => {
    const { user, recovery, headers } = await seedWithMfa()
    await trustedSignIn(user, recovery())
    const [device] = (await listDevices(headers)).items
    for (const id of [...BAD_IDS, device!.id.toLowerCase()])
      await expectProblem(await del(`/me/trusted-devices/${id}`, headers), 400, 'VALIDATION_FAILED', 'trustedDeviceId')
    await expectProblem(await del(`/me/trusted-devices/${device!.id}`, {}), 401, 'UNAUTHENTICATED')
    expect((await listDevices(headers)).items).toHaveLength(1)
  })
})
