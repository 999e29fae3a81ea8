import { env } from 'cloudflare:workers'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { auditEvents, logins } from '../../src/db/schema'
import { api, BASE, db, nextIp, post, STRONG_PASSWORD, seedOrganization, seedUser } from '../support'

const { workspace } = await seedOrganization()
const alice = await seedUser(workspace.id, 'ADMIN', { password: STRONG_PASSWORD })

const login = (email: string, password: string, ip = nextIp()) =>
  post('/auth/login', { email, password }, { 'CF-Connecting-IP': ip })

type SignedIn = { token: string; expiresAt: string; user: { id: string; email: string } }

describe('POST /auth/login', () => {
  it('returns a token and sets the same session as a secure cookie', async () => {
    const res = await login(alice.email.toUpperCase(), STRONG_PASSWORD)
    expect(res.status).toBe(200)
    const body = await res.json<SignedIn>()
    expect(body.user).toEqual({ id: alice.publicId, email: alice.email })
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now())
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toContain(`__Host-session=${body.token}`)
    expect(cookie).toMatch(/HttpOnly/i)
    expect(cookie).toMatch(/Secure/i)
    expect(cookie).toMatch(/SameSite=Lax/i)
    expect(cookie).toMatch(/Path=\//)
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it('answers a wrong password and an unknown email with the same 401', async () => {
    const wrong = await login(alice.email, 'Wrong-Password-1')
    const unknown = await login('nobody@example.com', STRONG_PASSWORD)
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined })
    expect(strip(await wrong.json())).toEqual(strip(await unknown.json()))
    const failures = await db.select().from(auditEvents).where(eq(auditEvents.outcome, 'failed'))
    expect(failures.length).toBeGreaterThanOrEqual(2)
  })

  it('rejects malformed input with 400 and no session', async () => {
    const before = (await db.select().from(logins)).length
    for (const body of [{ email: alice.email }, { email: 1, password: 'x' }, 'not json']) {
      const res = await post('/auth/login', body, { 'CF-Connecting-IP': nextIp() })
      expect(res.status).toBe(400)
    }
    expect(await db.select().from(logins)).toHaveLength(before)
  })

  it('throttles an account from one address after 10 attempts with 429, Retry-After and an audit event', async () => {
    const target = await seedUser(workspace.id, 'GUEST')
    const ip = nextIp()
    let last: Response | undefined
    for (let i = 0; i < 11; i++) last = await login(target.email, 'Wrong-Password-1', ip)
    expect(last?.status).toBe(429)
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await last?.json<{ message: string }>())?.message).toMatch(/try again in 60 seconds/)
    const denied = await db.select().from(auditEvents).where(eq(auditEvents.action, 'signIn'))
    expect(denied.filter((e) => e.outcome === 'denied').length).toBeGreaterThan(0)
  })

  it("does not let a stranger's guesses lock the owner out of their own address", async () => {
    const target = await seedUser(workspace.id, 'GUEST', { password: STRONG_PASSWORD })
    const stranger = nextIp()
    for (let i = 0; i < 10; i++) await login(target.email, 'Wrong-Password-1', stranger)
    expect((await login(target.email, 'Wrong-Password-1', stranger)).status).toBe(429)
    expect((await login(target.email, STRONG_PASSWORD)).status).toBe(200)
  })

  it('caps one account at 50 attempts a minute from all addresses together', async () => {
    const target = await seedUser(workspace.id, 'GUEST', { password: STRONG_PASSWORD })
    for (let i = 0; i < 50; i++) expect((await login(target.email, 'Wrong-Password-1')).status).toBe(401)
    expect((await login(target.email, STRONG_PASSWORD)).status).toBe(429)
  })
})

describe('session tokens', async () => {
  const session = await (await login(alice.email, STRONG_PASSWORD)).json<SignedIn>()

  it('work as a bearer token, as the access-token header and as the cookie', async () => {
    const variants: Record<string, string>[] = [
      { Authorization: `Bearer ${session.token}` },
      { 'access-token': session.token },
      { Cookie: `__Host-session=${session.token}` },
    ]
    for (const headers of variants) {
      const res = await api('/me', { headers })
      expect(res.status).toBe(200)
      expect((await res.json<{ user: { id: string } }>()).user.id).toBe(alice.publicId)
    }
  })

  it('refuses forged and garbage tokens', async () => {
    const [head, payload] = session.token.split('.')
    for (const token of [`${head}.${payload}.`, `${session.token.slice(0, -2)}xx`, 'garbage']) {
      const res = await api('/me', { headers: { Authorization: `Bearer ${token}` } })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toContain('Bearer')
    }
  })

  it('refuses cookie-authenticated writes from another origin (CSRF)', async () => {
    const cookie = `__Host-session=${session.token}`
    const crossSite = await post('/api/getTeamData', {}, { Cookie: cookie, Origin: 'https://evil.example' })
    expect(crossSite.status).toBe(403)
    expect((await crossSite.json<{ error: string }>()).error).toMatch(/Cross-site/)
    const noOrigin = await post('/api/getTeamData', {}, { Cookie: cookie })
    expect(noOrigin.status).toBe(403)
    const sameOrigin = await post('/api/getTeamData', {}, { Cookie: cookie, Origin: BASE })
    expect(sameOrigin.status).toBe(200)
    const bearer = await post('/api/getTeamData', {}, { Authorization: `Bearer ${session.token}` })
    expect(bearer.status).toBe(200)
  })

  it('keeps the principal in KV and stops working at once when revoked', async () => {
    const s = await (await login(alice.email, STRONG_PASSWORD)).json<SignedIn>()
    const loginId = loginIdOf(s.token)
    expect(await env.SESSIONS.get(`principal:login:${loginId}`, 'json')).toMatchObject({
      identity: { kind: 'user', user: { id: alice.id, email: alice.email } },
      workspace: { id: workspace.id, membership: { role: 'ADMIN' } },
    })

    const headers = { Authorization: `Bearer ${s.token}` }
    expect((await api('/me', { headers })).status).toBe(200)
    expect((await post('/api/logout', {}, headers)).status).toBe(200)
    expect(await env.SESSIONS.get(`principal:login:${loginId}`)).toBeNull()
    expect((await api('/me', { headers })).status).toBe(401)
    expect((await post('/api/getTeamData', {}, headers)).status).toBe(401)
  })

  it('never writes the hot copy back on a read, so a revocation cannot be undone', async () => {
    const s = await (await login(alice.email, STRONG_PASSWORD)).json<SignedIn>()
    const key = `principal:login:${loginIdOf(s.token)}`
    await env.SESSIONS.delete(key) // a location the copy has not reached
    const headers = { Authorization: `Bearer ${s.token}` }
    expect((await api('/me', { headers })).status).toBe(200)
    expect(await env.SESSIONS.get(key)).toBeNull()
    expect((await post('/api/logout', {}, headers)).status).toBe(200)
    expect((await api('/me', { headers })).status).toBe(401)
  })

  it('re-checks D1 for state-changing requests while reads may use the KV copy', async () => {
    const s = await (await login(alice.email, STRONG_PASSWORD)).json<SignedIn>()
    // Another location revoked the session: the D1 row is gone, this location's KV copy not yet.
    await db.delete(logins).where(eq(logins.id, loginIdOf(s.token)))
    const headers = { Authorization: `Bearer ${s.token}` }
    expect((await api('/me', { headers })).status).toBe(200)
    const write = await post(
      '/api/updateUsernameAndOrganization',
      { username: 'Renamed', organization: 'Org' },
      headers,
    )
    expect(write.status).toBe(401)
    // The refused write also dropped this location's stale copy.
    expect((await api('/me', { headers })).status).toBe(401)
  })
})

const loginIdOf = (token: string): string =>
  JSON.parse(atob(token.split('.')[1]!.replaceAll('-', '+').replaceAll('_', '/'))).sid
