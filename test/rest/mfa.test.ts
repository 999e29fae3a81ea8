import { env } from 'cloudflare:workers'
import { and, eq } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { signMfaChallenge, signSession } from '../../src/auth/tokens'
import { base32Decode, stepOf, totpAt } from '../../src/auth/totp'
import { auditEvents, logins, memberships, mfaRecoveryCodes, mfaSecrets, trustedDevices } from '../../src/db/schema'
import {
  api,
  db,
  type Headers,
  nextIp,
  post,
  ROOT,
  type SeededUser,
  STRONG_PASSWORD,
  seedApiToken,
  seedOrganization,
  seedSignedIn,
  seedUser,
  signIn,
} from '../support'
import { expectFieldNamed, type Problem, problemOf, send } from '../support/rest'

/**
 * TOTP enrolment, sign-in with a second factor (codes, recovery codes, trusted devices), turning it
 * off, and an admin's MFA reset: as a user, and as someone holding only a password.
 */

type SignedIn = {
  token: string
  expiresAt: string
  user: { id: string; email: string }
  passwordChangeRequired?: true
  deviceToken?: string
}
type Challenge = { mfaRequired: true; mfaToken: string }

const STEP_MS = 30_000

const bearer = (token: string): Headers => ({ Authorization: `Bearer ${token}` })
const rootIn = (workspaceId: number): Headers => ({ ...ROOT, account: String(workspaceId) })

const expectProblem = async (res: Response, status: number, code: string, field?: string) => {
  const problem = await problemOf(res, status, code)
  if (field) expectFieldNamed(problem, field)
  return problem
}

afterEach(() => {
  vi.useRealTimers()
})

/**
 * The code of the next unused time step of a secret. A code is good once, and only the current
 * step and the next are accepted, so a test that needs more codes moves the clock (Date only).
 */
const lastStep = new Map<string, number>()
const nextCode = async (secret: string) => {
  const now = stepOf(new Date())
  const step = Math.max(now, (lastStep.get(secret) ?? Number.NEGATIVE_INFINITY) + 1)
  if (step > now + 1) {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime((step - 1) * STEP_MS + 1000)
  }
  lastStep.set(secret, step)
  return totpAt(base32Decode(secret), step)
}
/** A code already accepted (the last one), to replay. */
const usedCode = (secret: string) => totpAt(base32Decode(secret), lastStep.get(secret)!)

const login = (user: SeededUser, extra: Record<string, unknown> = {}, ip = nextIp(), headers: Headers = {}) =>
  post('/auth/login', { email: user.email, password: user.password, ...extra }, { 'CF-Connecting-IP': ip, ...headers })

const challenge = async (user: SeededUser, extra: Record<string, unknown> = {}, ip = nextIp()) => {
  const res = await login(user, extra, ip)
  expect(res.status, await res.clone().text()).toBe(200)
  const body = await res.json<Challenge>()
  expect(body).toEqual({ mfaRequired: true, mfaToken: expect.any(String) })
  expect(res.headers.get('set-cookie')).toBeNull()
  return body.mfaToken
}

const secondFactor = (body: Record<string, unknown>, ip = nextIp()) =>
  post('/auth/login/mfa', body, { 'CF-Connecting-IP': ip })

const startTotp = async (headers: Headers) => {
  const res = await post('/me/mfa/totp', {}, headers)
  expect(res.status, await res.clone().text()).toBe(200)
  return res.json<{ secret: string; otpauthUrl: string }>()
}

const enrol = async (headers: Headers) => {
  const { secret } = await startTotp(headers)
  const res = await post('/me/mfa/totp/verify', { code: await nextCode(secret) }, headers)
  expect(res.status, await res.clone().text()).toBe(200)
  const { recoveryCodes } = await res.json<{ recoveryCodes: string[] }>()
  return { secret, recoveryCodes }
}

/** A signed-in user (of a fresh organization unless a workspace is given) with TOTP on. */
const seedWithTotp = async (role = 'MEMBER', workspaceId?: number) => {
  const { workspace } = workspaceId === undefined ? await seedOrganization() : { workspace: { id: workspaceId } }
  const user = await seedUser(workspace.id, role, { password: STRONG_PASSWORD })
  const headers = await signIn(user, workspace.id)
  return { user, workspace, headers, ...(await enrol(headers)) }
}

/** Completes a sign-in with a recovery code and trusts the device; answers the device token. */
const trustDevice = async (user: SeededUser, recoveryCode: string) => {
  const res = await secondFactor({ mfaToken: await challenge(user), recoveryCode, trustDevice: true })
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json<SignedIn>()).deviceToken!
}

const rowsOf = async (userId: number) => ({
  secrets: await db.select().from(mfaSecrets).where(eq(mfaSecrets.userId, userId)),
  codes: await db.select().from(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId)),
  devices: await db.select().from(trustedDevices).where(eq(trustedDevices.userId, userId)),
  logins: await db.select().from(logins).where(eq(logins.userId, userId)),
})
const eventsOf = (action: string, where: { targetId?: string; ip?: string } = {}) =>
  db
    .select()
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.action, action),
        where.targetId === undefined ? undefined : eq(auditEvents.targetId, where.targetId),
        where.ip === undefined ? undefined : eq(auditEvents.ip, where.ip),
      ),
    )

describe('TOTP enrolment', () => {
  it('answers a base32 secret and its otpauth URL, stores it sealed, and counts it only once confirmed', async () => {
    const { user, headers } = await seedSignedIn('MEMBER', { password: STRONG_PASSWORD })
    const { secret, otpauthUrl } = await startTotp(headers)
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    expect(base32Decode(secret)).toHaveLength(20)
    expect(otpauthUrl).toBe(
      `otpauth://totp/${encodeURIComponent(`edge-iam:${user.email}`)}?secret=${secret}&issuer=edge-iam&algorithm=SHA1&digits=6&period=30`,
    )
    const [row] = (await rowsOf(user.id)).secrets
    expect(row!.confirmedAt).toBeNull()
    expect(row!.secretEncrypted).not.toContain(secret)
    // Not on until confirmed: a password still signs in.
    expect(await (await login(user)).json()).toHaveProperty('token')
    expect((await eventsOf('startTotp', { targetId: user.publicId }))[0]).toMatchObject({ actorId: user.publicId })
  })

  it('turns on with a current code and answers ten distinct recovery codes, stored only as hashes', async () => {
    const { user, headers } = await seedSignedIn('MEMBER', { password: STRONG_PASSWORD })
    const { secret } = await startTotp(headers)
    const res = await post('/me/mfa/totp/verify', { code: await nextCode(secret) }, headers)
    expect(res.status).toBe(200)
    const body = await res.json<{ recoveryCodes: string[] }>()
    expect(Object.keys(body)).toEqual(['recoveryCodes'])
    expect(body.recoveryCodes).toHaveLength(10)
    expect(new Set(body.recoveryCodes).size).toBe(10)
    for (const code of body.recoveryCodes) expect(code).toMatch(/^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$/)
    const rows = await rowsOf(user.id)
    expect(rows.secrets[0]!.confirmedAt).not.toBeNull()
    expect(rows.codes).toHaveLength(10)
    const stored = JSON.stringify(rows.codes)
    for (const code of body.recoveryCodes) {
      expect(stored).not.toContain(code)
      expect(stored).not.toContain(code.replace('-', ''))
    }
    expect((await eventsOf('confirmTotp', { targetId: user.publicId }))[0]).toMatchObject({
      actorType: 'user',
      actorId: user.publicId,
      outcome: 'success',
    })
    await challenge(user)
  })

  it('refuses a wrong code (400, audited) and confirmation before a start, and stays off', async () => {
    const { user, headers } = await seedSignedIn('MEMBER', { password: STRONG_PASSWORD })
    await expectProblem(await post('/me/mfa/totp/verify', { code: '123456' }, headers), 400, 'VALIDATION_FAILED')
    const { secret } = await startTotp(headers)
    const right = await totpAt(base32Decode(secret), stepOf(new Date()))
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    for (const code of [wrong, '', 'abcdef', '1234567', ' '])
      await expectProblem(await post('/me/mfa/totp/verify', { code }, headers), 400, 'VALIDATION_FAILED')
    await expectProblem(await post('/me/mfa/totp/verify', { code: 123456 }, headers), 400, 'VALIDATION_FAILED', 'code')
    await expectProblem(await post('/me/mfa/totp/verify', {}, headers), 400, 'VALIDATION_FAILED', 'code')
    await expectProblem(
      await post('/me/mfa/totp/verify', { code: right, extra: 1 }, headers),
      400,
      'VALIDATION_FAILED',
      'extra',
    )
    expect((await rowsOf(user.id)).secrets[0]!.confirmedAt).toBeNull()
    expect(await eventsOf('confirmTotp', { targetId: undefined })).toEqual(
      expect.arrayContaining([expect.objectContaining({ actorId: user.publicId, outcome: 'denied' })]),
    )
    expect(await (await login(user)).json()).toHaveProperty('token')
  })

  it('replaces an unconfirmed secret when started again: only the newest one confirms', async () => {
    const { headers } = await seedSignedIn('MEMBER')
    const first = await startTotp(headers)
    const second = await startTotp(headers)
    expect(second.secret).not.toBe(first.secret)
    const stale = await totpAt(base32Decode(first.secret), stepOf(new Date()))
    const fresh = await totpAt(base32Decode(second.secret), stepOf(new Date()))
    if (stale !== fresh)
      await expectProblem(await post('/me/mfa/totp/verify', { code: stale }, headers), 400, 'VALIDATION_FAILED')
    expect((await post('/me/mfa/totp/verify', { code: fresh }, headers)).status).toBe(200)
  })

  it('answers 409 to enrolling twice, and keeps the first secret', async () => {
    const { user, headers, secret } = await seedWithTotp()
    const before = (await rowsOf(user.id)).secrets
    await expectProblem(await post('/me/mfa/totp', {}, headers), 409, 'CONFLICT')
    await expectProblem(await post('/me/mfa/totp/verify', { code: await nextCode(secret) }, headers), 409, 'CONFLICT')
    expect((await rowsOf(user.id)).secrets).toEqual(before)
  })

  it('answers 401 without credentials, 403 for root, service accounts and API keys', async () => {
    await expectProblem(await post('/me/mfa/totp', {}), 401, 'UNAUTHENTICATED')
    await expectProblem(await post('/me/mfa/totp/verify', { code: '123456' }), 401, 'UNAUTHENTICATED')
    await expectProblem(await send('DELETE', '/me/mfa/totp', {}, { code: '123456' }), 401, 'UNAUTHENTICATED')
    await expectProblem(await post('/me/mfa/totp', {}, ROOT), 403, 'FORBIDDEN')
    const { workspace, user } = await seedSignedIn('ADMIN')
    const { headers: key } = await seedApiToken(workspace.id, { userId: user.id })
    await expectProblem(await post('/me/mfa/totp', {}, key), 403, 'FORBIDDEN')
    expect((await rowsOf(user.id)).secrets).toEqual([])
  })
})

describe('sign-in with a second factor', () => {
  it('asks for it after the password, with no session yet; the code then opens a session like /auth/login', async () => {
    const { user, secret } = await seedWithTotp()
    const loginsBefore = (await rowsOf(user.id)).logins.length
    const mfaToken = await challenge(user)
    expect((await rowsOf(user.id)).logins).toHaveLength(loginsBefore)
    await expectProblem(await api('/me', { headers: bearer(mfaToken) }), 401, 'UNAUTHENTICATED')

    const res = await secondFactor({ mfaToken, code: await nextCode(secret) })
    expect(res.status, await res.clone().text()).toBe(200)
    const body = await res.json<SignedIn>()
    expect(Object.keys(body).sort()).toEqual(['expiresAt', 'token', 'user'])
    expect(body.user).toEqual({ id: user.publicId, email: user.email })
    expect(res.headers.get('set-cookie')).toContain(`__Host-session=${body.token}`)
    expect(res.headers.get('set-cookie')).not.toContain('__Host-device')
    const me = await (await api('/me', { headers: bearer(body.token) })).json<{ user: { id: string } }>()
    expect(me.user.id).toBe(user.publicId)
    expect((await rowsOf(user.id)).logins).toHaveLength(loginsBefore + 1)
  })

  it('accepts each TOTP code once: the enrolment code and a used sign-in code are refused', async () => {
    const { user, secret } = await seedWithTotp()
    const enrolmentCode = await usedCode(secret)
    const replayed = await secondFactor({ mfaToken: await challenge(user), code: enrolmentCode })
    expect([400, 401]).toContain(replayed.status)
    const code = await nextCode(secret)
    expect((await secondFactor({ mfaToken: await challenge(user), code })).status).toBe(200)
    const again = await secondFactor({ mfaToken: await challenge(user), code })
    expect([400, 401]).toContain(again.status)
    expect(await again.json<Problem>()).toMatchObject({
      code: expect.stringMatching(/VALIDATION_FAILED|UNAUTHENTICATED/),
    })
  })

  it('lets only one of two simultaneous sign-ins use the same code', async () => {
    const { user, secret } = await seedWithTotp()
    const [a, b] = [await challenge(user), await challenge(user)]
    const code = await nextCode(secret)
    const results = await Promise.all([secondFactor({ mfaToken: a, code }), secondFactor({ mfaToken: b, code })])
    expect(results.map((r) => r.status).filter((s) => s === 200)).toHaveLength(1)
  })

  it('accepts a recovery code once, typed in any case and without its dash; never another user’s', async () => {
    const { user, recoveryCodes } = await seedWithTotp()
    const other = await seedWithTotp()
    const [first, second] = recoveryCodes as [string, string]
    expect((await secondFactor({ mfaToken: await challenge(user), recoveryCode: first })).status).toBe(200)
    await expectProblem(
      await secondFactor({ mfaToken: await challenge(user), recoveryCode: first }),
      401,
      'UNAUTHENTICATED',
    )
    const typed = second.toLowerCase().replace('-', '')
    expect((await secondFactor({ mfaToken: await challenge(user), recoveryCode: typed })).status).toBe(200)
    await expectProblem(
      await secondFactor({ mfaToken: await challenge(user), recoveryCode: other.recoveryCodes[0] }),
      401,
      'UNAUTHENTICATED',
    )
    const used = (await rowsOf(user.id)).codes.filter((c) => c.usedAt !== null)
    expect(used).toHaveLength(2)
    // The other user's codes are all still there, and none was used up by the attempt.
    const theirs = (await rowsOf(other.user.id)).codes
    expect(theirs).toHaveLength(other.recoveryCodes.length)
    expect(theirs.every((c) => c.usedAt === null)).toBe(true)
  })

  it('answers a wrong code with 401 and audits the attempt', async () => {
    const { user, secret } = await seedWithTotp()
    const ip = nextIp()
    const mfaToken = await challenge(user)
    const right = await totpAt(base32Decode(secret), stepOf(new Date()) + 1)
    const wrong = String((Number(right) + 500_000) % 1_000_000).padStart(6, '0')
    await expectProblem(await secondFactor({ mfaToken, code: wrong }, ip), 401, 'UNAUTHENTICATED')
    await expectProblem(await secondFactor({ mfaToken, recoveryCode: 'AAAAA-AAAAA' }, ip), 401, 'UNAUTHENTICATED')
    const denied = await eventsOf('signInSecondFactor', { ip })
    expect(denied).toHaveLength(2)
    expect(denied.every((e) => e.outcome === 'denied')).toBe(true)
    expect(JSON.stringify(denied)).not.toContain(wrong)
  })

  it('refuses a request with neither factor, or with malformed ones, with 400', async () => {
    const { user } = await seedWithTotp()
    const mfaToken = await challenge(user)
    await expectProblem(await secondFactor({ mfaToken }), 400, 'VALIDATION_FAILED')
    await expectProblem(await secondFactor({ mfaToken, code: 123456 }), 400, 'VALIDATION_FAILED', 'code')
    await expectProblem(await secondFactor({ mfaToken, code: '1'.repeat(17) }), 400, 'VALIDATION_FAILED', 'code')
    await expectProblem(await secondFactor({ mfaToken, trustDevice: 'yes' }), 400, 'VALIDATION_FAILED', 'trustDevice')
    await expectProblem(await secondFactor({ code: '123456' }), 400, 'VALIDATION_FAILED', 'mfaToken')
  })

  it('answers 401 to forged, expired and substituted challenge tokens', async () => {
    const { user, workspace, secret } = await seedWithTotp()
    const real = await challenge(user)
    const [h, p, s] = real.split('.') as [string, string, string]
    const claims = JSON.parse(atob(p.replaceAll('-', '+').replaceAll('_', '/'))) as Record<string, unknown>
    const b64 = (o: unknown) => btoa(JSON.stringify(o)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
    const other = await seedUser(workspace.id, 'ADMIN', { password: STRONG_PASSWORD })
    const expired = await signMfaChallenge(env.AUTH_SECRET, user.publicId, new Date(Date.now() - 1000))
    const session = (await signIn(user, workspace.id)).Authorization.slice('Bearer '.length)
    const wrongKey = await signMfaChallenge(
      'another-secret-that-is-long-enough-0123456789',
      user.publicId,
      new Date(Date.now() + 60_000),
    )
    const asSession = await signSession(
      env.AUTH_SECRET,
      { loginId: 'ZZZZZZZZZZ', userPublicId: user.publicId },
      new Date(Date.now() + 60_000),
    )
    const forged = [
      'garbage',
      `${h}.${b64({ ...claims, sub: other.publicId })}.${s}`,
      `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`,
      `${h}.${p}.${s.slice(0, -3)}AAA`,
      expired,
      session,
      wrongKey,
      asSession,
    ]
    const code = await totpAt(base32Decode(secret), stepOf(new Date()) + 1)
    for (const mfaToken of forged) await expectProblem(await secondFactor({ mfaToken, code }), 401, 'UNAUTHENTICATED')
    // The untouched challenge still works with that same (unused) code.
    lastStep.set(secret, stepOf(new Date()) + 1)
    expect((await secondFactor({ mfaToken: real, code })).status).toBe(200)
  })

  it('throttles the challenge like sign-in: 10 attempts a minute per account and address, then 429', async () => {
    const { user, secret } = await seedWithTotp()
    const mfaToken = await challenge(user)
    const attacker = nextIp()
    for (let i = 0; i < 10; i++)
      await expectProblem(await secondFactor({ mfaToken, code: String(100000 + i) }, attacker), 401, 'UNAUTHENTICATED')
    // Even the right code is refused from there now...
    const code = await nextCode(secret)
    const blocked = await secondFactor({ mfaToken, code }, attacker)
    await expectProblem(blocked, 429, 'RATE_LIMITED')
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0)
    // ...while the owner, elsewhere, is not locked out (and the code was not used up).
    expect((await secondFactor({ mfaToken, code })).status).toBe(200)
    expect(await eventsOf('signIn', { ip: attacker })).toEqual(
      expect.arrayContaining([expect.objectContaining({ outcome: 'denied' })]),
    )
  })

  it('does not let a second factor stand in for the password', async () => {
    const { user, secret } = await seedWithTotp()
    const res = await login({ ...user, password: 'Wrong-Password-1' })
    expect(await res.clone().text()).not.toContain('mfaToken')
    await expectProblem(res, 401, 'UNAUTHENTICATED')
    await expectProblem(
      await secondFactor({ mfaToken: 'x', code: await totpAt(base32Decode(secret), stepOf(new Date())) }),
      401,
      'UNAUTHENTICATED',
    )
  })
})

describe('trusted devices', () => {
  it('answers a device token and its __Host-device cookie with trustDevice; the token then skips the second factor', async () => {
    const { user, secret } = await seedWithTotp()
    const res = await secondFactor({ mfaToken: await challenge(user), code: await nextCode(secret), trustDevice: true })
    expect(res.status).toBe(200)
    const body = await res.json<SignedIn>()
    expect(body.deviceToken).toMatch(/^[\w-]{43}$/)
    const cookies = res.headers.get('set-cookie') ?? ''
    expect(cookies).toContain(`__Host-device=${body.deviceToken}`)
    expect(cookies).toMatch(/__Host-device=[^;]+;[^,]*Max-Age=2592000/)
    expect(cookies).toMatch(/__Host-device=[^;]+;[^,]*HttpOnly/)
    expect(cookies).toMatch(/__Host-device=[^;]+;[^,]*Secure/)
    const [device] = (await rowsOf(user.id)).devices
    expect(device!.tokenHash).not.toBe(body.deviceToken)

    const skipped = await login(user, { deviceToken: body.deviceToken })
    const session = await skipped.json<SignedIn>()
    expect(session.token).toEqual(expect.any(String))
    expect(session).not.toHaveProperty('deviceToken')
    expect(skipped.headers.get('set-cookie')).toContain('__Host-session=')
    // Without the token the same account still needs the second factor.
    await challenge(user)
  })

  it('are forgotten by a temporary password reset: the next sign-in asks again, and stays restricted', async () => {
    const { workspace, headers: admin } = await seedSignedIn('ADMIN')
    const { user, recoveryCodes } = await seedWithTotp('MEMBER', workspace.id)
    const deviceToken = await trustDevice(user, recoveryCodes[0]!)
    const reset = await post(`/org/users/${user.publicId}/password/reset`, {}, admin)
    expect(reset.status).toBe(200)
    const { password } = await reset.json<{ password: string }>()
    expect((await rowsOf(user.id)).devices).toEqual([])
    const mfaToken = await challenge({ ...user, password }, { deviceToken })
    const res = await secondFactor({ mfaToken, recoveryCode: recoveryCodes[1] })
    expect(await res.json<SignedIn>()).toMatchObject({ passwordChangeRequired: true })
  })

  it('are forgotten when the user turns TOTP off: after enrolling again the old device is asked again', async () => {
    const { user, headers, secret, recoveryCodes } = await seedWithTotp()
    const deviceToken = await trustDevice(user, recoveryCodes[0]!)
    expect((await send('DELETE', '/me/mfa/totp', headers, { code: await nextCode(secret) })).status).toBe(204)
    expect((await rowsOf(user.id)).devices).toEqual([])
    await enrol(headers)
    await challenge(user, { deviceToken })
  })
})

describe('DELETE /me/mfa/totp', () => {
  it('turns the second factor off with a current code (204): secret, recovery codes and devices go', async () => {
    const { user, headers, secret, recoveryCodes } = await seedWithTotp()
    await trustDevice(user, recoveryCodes[0]!)
    const res = await send('DELETE', '/me/mfa/totp', headers, { code: await nextCode(secret) })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    const rows = await rowsOf(user.id)
    expect([rows.secrets, rows.codes, rows.devices]).toEqual([[], [], []])
    expect(await (await login(user)).json()).toHaveProperty('token')
    expect((await eventsOf('disableTotp', { targetId: user.publicId }))[0]).toMatchObject({ actorId: user.publicId })
    await expectProblem(await send('DELETE', '/me/mfa/totp', headers, { code: '123456' }), 400, 'VALIDATION_FAILED')
  })

  it('refuses a wrong or replayed code, a recovery code and a missing code, and stays on', async () => {
    const { user, headers, secret, recoveryCodes } = await seedWithTotp()
    const used = await usedCode(secret)
    for (const body of [{ code: used }, { code: '000000' }, { code: recoveryCodes[0] }, {}])
      expect((await send('DELETE', '/me/mfa/totp', headers, body)).status).toBe(400)
    await expectProblem(
      await send('DELETE', '/me/mfa/totp', headers, { recoveryCode: recoveryCodes[0] }),
      400,
      'VALIDATION_FAILED',
      'recoveryCode',
    )
    expect((await rowsOf(user.id)).codes).toHaveLength(10)
    await challenge(user)
  })
})

describe('DELETE /org/users/{user}/mfa (admin reset)', () => {
  it('removes the secret, recovery codes and trusted devices, and ends every session of the user (204)', async () => {
    const { workspace, user: admin, headers } = await seedSignedIn('ADMIN')
    const { user, headers: userHeaders, recoveryCodes } = await seedWithTotp('MEMBER', workspace.id)
    const deviceToken = await trustDevice(user, recoveryCodes[0]!)
    expect((await api('/me', { headers: userHeaders })).status).toBe(200)

    const res = await api(`/org/users/${user.publicId}/mfa`, { method: 'DELETE', headers })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    const rows = await rowsOf(user.id)
    expect(rows).toEqual({ secrets: [], codes: [], devices: [], logins: [] })
    await expectProblem(await api('/me', { headers: userHeaders }), 401, 'UNAUTHENTICATED')
    expect((await post('/api/getTeamData', {}, userHeaders)).status).toBe(401)
    expect((await eventsOf('resetUserMfa', { targetId: user.publicId }))[0]).toMatchObject({
      actorType: 'user',
      actorId: admin.publicId,
      outcome: 'success',
    })
    // Signed in again with the password alone, the user may enrol anew; the old device is asked again.
    const again = await (await login(user)).json<SignedIn>()
    expect(again.token).toEqual(expect.any(String))
    await enrol(bearer(again.token))
    await challenge(user, { deviceToken })
    expect((await api('/me', { headers })).status).toBe(200)
  })

  it('is refused to a MEMBER (403), 404 for a person of another organization, 401 without credentials', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const { user } = await seedWithTotp('MEMBER', workspace.id)
    const member = await seedUser(workspace.id, 'MEMBER')
    const memberHeaders = await signIn(member, workspace.id)
    await expectProblem(
      await api(`/org/users/${user.publicId}/mfa`, { method: 'DELETE', headers: memberHeaders }),
      403,
      'FORBIDDEN',
    )
    const { headers: outsider } = await seedSignedIn('ADMIN')
    await expectProblem(
      await api(`/org/users/${user.publicId}/mfa`, { method: 'DELETE', headers: outsider }),
      404,
      'NOT_FOUND',
    )
    await expectProblem(await api(`/org/users/${user.publicId}/mfa`, { method: 'DELETE' }), 401, 'UNAUTHENTICATED')
    await expectProblem(
      await api('/org/users/ZZZZZZZZZZ/mfa', { method: 'DELETE', headers: outsider }),
      404,
      'NOT_FOUND',
    )
    for (const id of ['abc', user.publicId.toLowerCase(), `${user.publicId}X`, user.publicId.slice(1), 'ABCDEFGHI!'])
      await expectProblem(
        await api(`/org/users/${id}/mfa`, { method: 'DELETE', headers: outsider }),
        400,
        'VALIDATION_FAILED',
        'user',
      )
    const rows = await rowsOf(user.id)
    expect(rows.secrets).toHaveLength(1)
    expect(rows.codes).toHaveLength(10)
    await challenge(user)
  })

  it('is refused (403) when the person is also in a workspace the admin does not administer', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const { workspace: elsewhere } = await seedOrganization()
    const user = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    await db.insert(memberships).values({
      workspaceId: elsewhere.id,
      userId: user.id,
      role: 'ADMIN',
      scopeRoles: { API: 'ADMIN', AGENTIC: 'ADMIN', ENDPOINT: 'ADMIN', DAST: 'ADMIN' },
    })
    const own = await signIn(user, workspace.id)
    await enrol(own)
    await expectProblem(await api(`/org/users/${user.publicId}/mfa`, { method: 'DELETE', headers }), 403, 'FORBIDDEN')
    expect((await rowsOf(user.id)).secrets).toHaveLength(1)
    expect((await api('/me', { headers: own })).status).toBe(200)
  })

  it('works for root acting in the workspace', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const { user } = await seedWithTotp('MEMBER', workspace.id)
    expect(
      (await api(`/org/users/${user.publicId}/mfa`, { method: 'DELETE', headers: rootIn(workspace.id) })).status,
    ).toBe(204)
    expect((await rowsOf(user.id)).secrets).toEqual([])
    expect((await eventsOf('resetUserMfa', { targetId: user.publicId }))[0]).toMatchObject({
      actorType: 'root',
      actorId: 'root',
    })
  })
})
