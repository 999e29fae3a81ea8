import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { and, eq } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import worker from '../../src'
import { sha256 } from '../../src/auth/crypto'
import { apiTokens, auditEvents, jobs, logins, passwordResets, pushSubscriptions } from '../../src/db/schema'
import { api, BASE, db, expectRpcError, post, seedSignedIn, seedUser, signIn } from '../support'
import { jobRow } from '../support/queue'

type ApiTokenOut = {
  id: number
  accountId: number
  name: string
  key: string
  timestamp: number
  userId: number
  username: string | null
  utility: string
}

afterEach(() => {
  vi.restoreAllMocks()
})

/** Creates an API token through the action and returns its key and id. */
const createToken = async (headers: Record<string, string>, tokenUtility: 'BURP' | 'CICD' | 'EXTERNAL_API') => {
  const res = await post('/api/addApiToken', { tokenUtility }, headers)
  expect(res.status).toBe(200)
  const [token] = (await res.json<{ apiTokenList: ApiTokenOut[] }>()).apiTokenList
  return { id: token!.id, key: token!.key, headers: { 'X-API-KEY': token!.key } }
}

const readMe = (headers: Record<string, string>) => api('/me', { headers })

describe('POST /api/resetUserPassword', () => {
  it('gives an ADMIN a reset link on APP_ORIGIN with a 43-character base64url token', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const target = await seedUser(workspace.id, 'MEMBER')
    const res = await post('/api/resetUserPassword', { userEmail: target.email }, headers)
    expect(res.status).toBe(200)
    const body = await res.json<{ passwordResetToken: string }>()
    expect(Object.keys(body)).toEqual(['passwordResetToken'])
    expect(body.passwordResetToken).toMatch(/^http:\/\/localhost:8787\/login\?token=[A-Za-z0-9_-]{43}$/)
  })

  it('stores only the SHA-256 of the token, expiring in 2 hours', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    const target = await seedUser(workspace.id, 'DEVELOPER')
    const res = await post('/api/resetUserPassword', { userEmail: target.email.toUpperCase() }, headers)
    expect(res.status).toBe(200)
    const link = (await res.json<{ passwordResetToken: string }>()).passwordResetToken
    const token = new URL(link).searchParams.get('token')!
    const rows = await db.select().from(passwordResets).where(eq(passwordResets.userId, target.id))
    expect(rows).toHaveLength(1)
    const [row] = rows
    expect(row!.tokenHash).toBe(await sha256(token))
    expect(Object.values(row!).map(String)).not.toContain(token)
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBe(2 * 60 * 60 * 1000)
    expect(row!.usedAt).toBeNull()
    expect(row!.createdBy).toBe(user.publicId)
    const events = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'issuePasswordReset'), eq(auditEvents.targetId, target.publicId)))
    expect(events).toEqual([expect.objectContaining({ outcome: 'success', actorId: user.publicId })])
  })

  it('answers a second request for the same user with 429, the minutes left and Retry-After', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const target = await seedUser(workspace.id, 'MEMBER')
    expect((await post('/api/resetUserPassword', { userEmail: target.email }, headers)).status).toBe(200)
    const [first] = await db.select().from(passwordResets).where(eq(passwordResets.userId, target.id))

    const again = await post('/api/resetUserPassword', { userEmail: target.email }, headers)
    await expectRpcError(again, 429, /^Please wait 1(19|20) minutes for another password reset\.$/)
    const retryAfter = Number(again.headers.get('Retry-After'))
    expect(Number.isInteger(retryAfter)).toBe(true)
    expect(retryAfter).toBeGreaterThan(7000)
    expect(retryAfter).toBeLessThanOrEqual(7200)

    const rows = await db.select().from(passwordResets).where(eq(passwordResets.userId, target.id))
    expect(rows).toEqual([first])
  })

  it('keeps the 2-hour window per user, not per admin', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const first = await seedUser(workspace.id, 'MEMBER')
    const second = await seedUser(workspace.id, 'MEMBER')
    expect((await post('/api/resetUserPassword', { userEmail: first.email }, headers)).status).toBe(200)
    expect((await post('/api/resetUserPassword', { userEmail: second.email }, headers)).status).toBe(200)
  })

  it('answers 404 for a user of another organization and stores nothing', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const foreign = await seedSignedIn('MEMBER')
    await expectRpcError(
      await post('/api/resetUserPassword', { userEmail: foreign.user.email }, headers),
      404,
      'User not found.',
    )
    await expectRpcError(
      await post('/api/resetUserPassword', { userEmail: 'nobody@example.com' }, headers),
      404,
      'User not found.',
    )
    expect(await db.select().from(passwordResets).where(eq(passwordResets.userId, foreign.user.id))).toEqual([])
    // The refused attempt did not start the 2-hour window: the user's own admin still can.
    const foreignAdmin = await signIn(await seedUser(foreign.workspace.id, 'ADMIN'), foreign.workspace.id)
    expect((await post('/api/resetUserPassword', { userEmail: foreign.user.email }, foreignAdmin)).status).toBe(200)
  })

  it('rejects an empty email with 400 `Email cannot be null or empty`', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    for (const userEmail of ['', '   ']) {
      await expectRpcError(
        await post('/api/resetUserPassword', { userEmail }, headers),
        400,
        'Email cannot be null or empty',
      )
    }
    await expectRpcError(await post('/api/resetUserPassword', {}, headers), 400, /userEmail/)
  })

  it('refuses a MEMBER with 403 and stores nothing', async () => {
    const { workspace, headers } = await seedSignedIn('MEMBER')
    const target = await seedUser(workspace.id, 'GUEST')
    await expectRpcError(
      await post('/api/resetUserPassword', { userEmail: target.email }, headers),
      403,
      "The role 'SECURITY ENGINEER' does not have access.",
    )
    expect(await db.select().from(passwordResets).where(eq(passwordResets.userId, target.id))).toEqual([])
  })
})

describe('POST /api/addApiToken', () => {
  it('returns one token with a 40-character alphanumeric key, its utility, owner and id', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    const res = await post('/api/addApiToken', { tokenUtility: 'EXTERNAL_API' }, headers)
    expect(res.status).toBe(200)
    const { apiTokenList } = await res.json<{ apiTokenList: ApiTokenOut[] }>()
    expect(apiTokenList).toHaveLength(1)
    const [token] = apiTokenList
    expect(token).toMatchObject({
      id: expect.any(Number),
      accountId: workspace.id,
      name: 'external_api',
      utility: 'EXTERNAL_API',
      userId: user.id,
      username: user.email,
    })
    expect(token!.key).toMatch(/^[A-Za-z0-9]{40}$/)
  })

  it('stores only the SHA-256 of the key', async () => {
    const { headers } = await seedSignedIn('DEVELOPER')
    const { id, key } = await createToken(headers, 'CICD')
    const rows = await db.select().from(apiTokens).where(eq(apiTokens.id, id))
    expect(rows).toHaveLength(1)
    expect(rows[0]!.keyHash).toBe(await sha256(key))
    expect(Object.values(rows[0]!).map(String)).not.toContain(key)
  })

  it('gives a key that authenticates as its owner in X-API-KEY', async () => {
    const { user, headers } = await seedSignedIn('MEMBER')
    const token = await createToken(headers, 'EXTERNAL_API')
    const me = await readMe(token.headers)
    expect(me.status).toBe(200)
    expect(await me.json()).toEqual({ user: expect.objectContaining({ id: user.publicId, email: user.email }) })
  })

  it('lets EXTERNAL_API keys call getTeamData and refuses BURP and CICD keys with 403', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const external = await createToken(headers, 'EXTERNAL_API')
    expect((await post('/api/getTeamData', {}, external.headers)).status).toBe(200)
    for (const utility of ['BURP', 'CICD'] as const) {
      const token = await createToken(headers, utility)
      await expectRpcError(await post('/api/getTeamData', {}, token.headers), 403, `${utility} tokens cannot list team`)
    }
  })

  it('refuses addApiToken, deleteApiToken and logout to every kind of token with 403', async () => {
    const { user, headers } = await seedSignedIn('ADMIN')
    for (const utility of ['BURP', 'CICD', 'EXTERNAL_API'] as const) {
      const token = await createToken(headers, utility)
      await expectRpcError(
        await post('/api/addApiToken', { tokenUtility: 'EXTERNAL_API' }, token.headers),
        403,
        'API tokens cannot create api token',
      )
      await expectRpcError(
        await post('/api/deleteApiToken', { apiTokenId: token.id }, token.headers),
        403,
        'API tokens cannot delete api token',
      )
      await expectRpcError(await post('/api/logout', {}, token.headers), 403, 'API tokens cannot end session')
      expect((await readMe(token.headers)).status).toBe(200)
    }
    expect(await db.select().from(apiTokens).where(eq(apiTokens.userId, user.id))).toHaveLength(3)
  })

  it('rejects an unknown utility such as SLACK with 400', async () => {
    const { user, headers } = await seedSignedIn('ADMIN')
    for (const tokenUtility of ['SLACK', 'burp', '']) {
      await expectRpcError(await post('/api/addApiToken', { tokenUtility }, headers), 400, /tokenUtility/)
    }
    await expectRpcError(await post('/api/addApiToken', {}, headers), 400, /tokenUtility/)
    expect(await db.select().from(apiTokens).where(eq(apiTokens.userId, user.id))).toEqual([])
  })

  it('refuses a GUEST with 403 and creates nothing', async () => {
    const { user, headers } = await seedSignedIn('GUEST')
    await expectRpcError(
      await post('/api/addApiToken', { tokenUtility: 'BURP' }, headers),
      403,
      "The role 'GUEST' does not have access.",
    )
    expect(await db.select().from(apiTokens).where(eq(apiTokens.userId, user.id))).toEqual([])
  })
})

describe('POST /api/deleteApiToken', () => {
  it('lets the owner delete a token, which stops working at once', async () => {
    const { headers } = await seedSignedIn('MEMBER')
    const token = await createToken(headers, 'EXTERNAL_API')
    expect((await readMe(token.headers)).status).toBe(200)
    const res = await post('/api/deleteApiToken', { apiTokenId: token.id }, headers)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ apiTokenDeleted: true })
    expect(await db.select().from(apiTokens).where(eq(apiTokens.id, token.id))).toEqual([])
    expect((await readMe(token.headers)).status).toBe(401)
    await expectRpcError(await post('/api/getTeamData', {}, token.headers), 401, 'Invalid API key')
  })

  it("does not let another user delete someone else's token", async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const token = await createToken(headers, 'EXTERNAL_API')
    const colleague = await seedSignedIn('ADMIN')
    const teammate = await seedUser(workspace.id, 'ADMIN')
    for (const other of [colleague.headers, await signIn(teammate, workspace.id)]) {
      const res = await post('/api/deleteApiToken', { apiTokenId: token.id }, other)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ apiTokenDeleted: false })
    }
    expect(await db.select().from(apiTokens).where(eq(apiTokens.id, token.id))).toHaveLength(1)
    expect((await readMe(token.headers)).status).toBe(200)
  })

  it('answers apiTokenDeleted false for an id that does not exist', async () => {
    const { headers } = await seedSignedIn('DEVELOPER')
    const res = await post('/api/deleteApiToken', { apiTokenId: 987_654_321 }, headers)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ apiTokenDeleted: false })
  })

  it('rejects a non-integer id with 400', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    await expectRpcError(await post('/api/deleteApiToken', { apiTokenId: 'x' }, headers), 400, /apiTokenId/)
  })
})

describe('POST /api/logout', () => {
  const expectCookieCleared = (res: Response) => {
    const cookie = res.headers.get('Set-Cookie') ?? ''
    expect(cookie).toMatch(/(^|,\s*)__Host-session=/)
    const maxAge = /Max-Age=(\d+)/i.exec(cookie)?.[1]
    const expires = /Expires=([^;]+)/i.exec(cookie)?.[1]
    expect(maxAge === '0' || (expires !== undefined && Date.parse(expires) < Date.now())).toBe(true)
  }

  it('answers the login page of APP_ORIGIN by default and clears the session cookie', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const res = await post('/api/logout', {}, headers)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ logoutUrl: 'http://localhost:8787/login', redirectUrl: null })
    expectCookieCleared(res)
  })

  it('accepts a call without a body', async () => {
    const { headers } = await seedSignedIn('GUEST')
    const res = await api('/api/logout', { method: 'POST', headers })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ logoutUrl: 'http://localhost:8787/login', redirectUrl: null })
  })

  it('sends the browser to a path of the dashboard when asked', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const res = await post('/api/logout', { redirectUrl: '/bye' }, headers)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ logoutUrl: 'http://localhost:8787/bye', redirectUrl: '/bye' })
  })

  it('ends the session at once: the same token is 401 on a read and on a write', async () => {
    const { user, headers } = await seedSignedIn('ADMIN')
    const [login] = await db.select().from(logins).where(eq(logins.userId, user.id))
    expect(await env.SESSIONS.get(`principal:login:${login!.id}`)).not.toBeNull()
    expect((await post('/api/getTeamData', {}, headers)).status).toBe(200)

    expect((await post('/api/logout', {}, headers)).status).toBe(200)

    expect(await db.select().from(logins).where(eq(logins.userId, user.id))).toEqual([])
    expect(await env.SESSIONS.get(`principal:login:${login!.id}`)).toBeNull()
    await expectRpcError(await post('/api/getTeamData', {}, headers), 401, /Session is invalid or has expired/)
    expect((await readMe(headers)).status).toBe(401)
    await expectRpcError(
      await post('/api/updateUsernameAndOrganization', { username: 'Ghost', organization: 'Ghost' }, headers),
      401,
      /Session is invalid or has expired/,
    )
    await expectRpcError(await post('/api/logout', {}, headers), 401, /Session is invalid or has expired/)
  })

  it('records an audit event for the logout', async () => {
    const { user, headers } = await seedSignedIn('MEMBER')
    await post('/api/logout', {}, headers)
    const events = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'endSession'), eq(auditEvents.actorId, user.publicId)))
    expect(events).toEqual([expect.objectContaining({ outcome: 'success', targetType: 'login' })])
  })

  it('rejects redirects to another site with 400 and keeps the session', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    for (const redirectUrl of [
      'https://evil.example/x',
      '//evil.example',
      '//evil.example/x',
      'javascript:alert(1)',
      'http://localhost:8787.evil.example/x',
      '/\\evil.example/x',
      '/\t/evil.example/x',
    ]) {
      await expectRpcError(await post('/api/logout', { redirectUrl }, headers), 400, /redirectUrl/)
    }
    expect((await readMe(headers)).status).toBe(200)
    expect((await post('/api/getTeamData', {}, headers)).status).toBe(200)
  })

  it('accepts an absolute address on APP_ORIGIN', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const res = await post('/api/logout', { redirectUrl: 'http://localhost:8787/see-you' }, headers)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      logoutUrl: 'http://localhost:8787/see-you',
      redirectUrl: 'http://localhost:8787/see-you',
    })
  })

  it('works for a NO_ACCESS user', async () => {
    const { user, headers } = await seedSignedIn('MEMBER', { scopeRoles: { AGENTIC: 'ADMIN' } })
    expect((await post('/api/getTeamData', {}, headers)).status).toBe(403)
    const res = await post('/api/logout', {}, headers)
    expect(res.status).toBe(200)
    expect(await db.select().from(logins).where(eq(logins.userId, user.id))).toEqual([])
  })

  it('answers 401 without credentials', async () => {
    await expectRpcError(await post('/api/logout', {}), 401, 'Authentication required')
  })
})

describe('POST /api/saveSubscription', () => {
  const subscription = (n: number) => ({
    endpoint: `https://push.example.com/send/${n}`,
    keys: { p256dh: `p256dh-${n}`, auth: `auth-${n}` },
  })

  it('stores the endpoint and keys and answers complete', async () => {
    const { user, headers } = await seedSignedIn('GUEST')
    const res = await post('/api/saveSubscription', { subscription: subscription(1) }, headers)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ subscription: { complete: true } })
    const rows = await db.select().from(pushSubscriptions).where(eq(pushSubscriptions.userId, user.id))
    expect(rows).toEqual([
      expect.objectContaining({ endpoint: 'https://push.example.com/send/1', p256dh: 'p256dh-1', auth: 'auth-1' }),
    ])
  })

  it('keeps one subscription per user: saving again replaces it', async () => {
    const { workspace, user, headers } = await seedSignedIn('MEMBER')
    await post('/api/saveSubscription', { subscription: subscription(1) }, headers)
    const res = await post('/api/saveSubscription', { subscription: subscription(2) }, headers)
    expect(res.status).toBe(200)
    const rows = await db.select().from(pushSubscriptions).where(eq(pushSubscriptions.userId, user.id))
    expect(rows).toEqual([
      expect.objectContaining({ endpoint: 'https://push.example.com/send/2', p256dh: 'p256dh-2', auth: 'auth-2' }),
    ])
    // Another user's subscription is their own.
    const other = await seedUser(workspace.id, 'GUEST')
    await post('/api/saveSubscription', { subscription: subscription(3) }, await signIn(other, workspace.id))
    const mine = await db.select().from(pushSubscriptions).where(eq(pushSubscriptions.userId, user.id))
    expect(mine[0]?.endpoint).toBe('https://push.example.com/send/2')
  })

  it('works for a NO_ACCESS user', async () => {
    const { headers } = await seedSignedIn('MEMBER', { scopeRoles: { AGENTIC: 'ADMIN' } })
    expect((await post('/api/saveSubscription', { subscription: subscription(4) }, headers)).status).toBe(200)
  })

  it('rejects a non-https endpoint or missing keys with 400 and stores nothing', async () => {
    const { user, headers } = await seedSignedIn('GUEST')
    const bad: unknown[] = [
      { endpoint: 'http://push.example.com/send/1', keys: { p256dh: 'p', auth: 'a' } },
      { endpoint: 'not a url', keys: { p256dh: 'p', auth: 'a' } },
      { endpoint: 'https://push.example.com/send/1' },
      { endpoint: 'https://push.example.com/send/1', keys: { p256dh: 'p' } },
      { endpoint: 'https://push.example.com/send/1', keys: { p256dh: '', auth: 'a' } },
    ]
    for (const s of bad) {
      await expectRpcError(await post('/api/saveSubscription', { subscription: s }, headers), 400, /subscription/)
    }
    await expectRpcError(await post('/api/saveSubscription', {}, headers), 400, /subscription/)
    expect(await db.select().from(pushSubscriptions).where(eq(pushSubscriptions.userId, user.id))).toEqual([])
  })
})

describe('POST /api/provisionSubscription', () => {
  const STIGG_ENV = { ...env, STIGG_API_KEY: 'k' }

  /** The Worker with billing configured: a real request through the app, only the network stubbed. */
  const provision = async (body: unknown, headers: Record<string, string>) => {
    const ctx = createExecutionContext()
    const res = await worker.fetch(
      new Request(`${BASE}/api/provisionSubscription`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }),
      STIGG_ENV,
      ctx,
    )
    await waitOnExecutionContext(ctx)
    return res
  }

  const stubStigg = (
    answer: unknown = {
      data: { provisionSubscription: { status: 'PAYMENT_REQUIRED', checkoutUrl: 'https://checkout.stigg.io/x' } },
    },
  ) => vi.spyOn(globalThis, 'fetch').mockImplementation(async () => Response.json(answer))

  const checkout = (customerId: string, overrides: Record<string, string> = {}) => ({
    customerId,
    planId: 'plan-growth',
    billingPeriod: 'monthly',
    successUrl: 'http://localhost:8787/settings/billing?success=1',
    cancelUrl: 'http://localhost:8787/settings/billing?cancelled=1',
    ...overrides,
  })

  it("asks Stigg for a checkout of the organization's customer and answers its result", async () => {
    const { org, headers } = await seedSignedIn('ADMIN')
    const spy = stubStigg()
    const res = await provision(checkout(org.publicId), headers)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      checkoutResult: { status: 'PAYMENT_REQUIRED', checkoutUrl: 'https://checkout.stigg.io/x' },
    })

    expect(spy).toHaveBeenCalledTimes(1)
    const [url, init] = spy.mock.calls[0]!
    expect(String(url instanceof Request ? url.url : url)).toBe('https://api.stigg.io/graphql')
    expect(init?.method).toBe('POST')
    expect(new Headers(init?.headers).get('X-API-KEY')).toBe('k')
    const sent = JSON.parse(String(init?.body)) as { query: string; variables: { input: Record<string, unknown> } }
    expect(sent.query).toMatch(/provisionSubscription/)
    expect(sent.variables.input).toMatchObject({
      customerId: org.publicId,
      planId: 'plan-growth',
      billingPeriod: 'MONTHLY',
      successUrl: 'http://localhost:8787/settings/billing?success=1',
      cancelUrl: 'http://localhost:8787/settings/billing?cancelled=1',
      checkoutOptions: {
        successUrl: 'http://localhost:8787/settings/billing?success=1',
        cancelUrl: 'http://localhost:8787/settings/billing?cancelled=1',
      },
    })
  })

  it('maps annual to ANNUALLY and rejects an unknown billing period with 400', async () => {
    const { org, headers } = await seedSignedIn('ADMIN')
    const spy = stubStigg()
    expect((await provision(checkout(org.publicId, { billingPeriod: 'annual' }), headers)).status).toBe(200)
    const sent = JSON.parse(String(spy.mock.calls[0]![1]?.body)) as { variables: { input: { billingPeriod: string } } }
    expect(sent.variables.input.billingPeriod).toBe('ANNUALLY')
    await expectRpcError(
      await provision(checkout(org.publicId, { billingPeriod: 'weekly' }), headers),
      400,
      /billingPeriod/,
    )
    expect(spy).toHaveBeenCalledTimes(1)
  })

  it('answers 503 when Stigg answers a GraphQL error', async () => {
    const { org, user, headers } = await seedSignedIn('ADMIN')
    stubStigg({ errors: [{ message: 'Plan not found' }], data: null })
    await expectRpcError(await provision(checkout(org.publicId), headers), 503, /Plan not found/)
    const events = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'startCheckout'), eq(auditEvents.actorId, user.publicId)))
    // The attempt is recorded before the call to Stigg, and its failure after.
    expect(events.map((e) => e.outcome)).toEqual(['success', 'failed'])
  })

  it('answers 503 when Stigg cannot be reached', async () => {
    const { org, headers } = await seedSignedIn('ADMIN')
    vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('network down'))
    await expectRpcError(await provision(checkout(org.publicId), headers), 503, /billing service/)
  })

  it('answers 503 `billing is not configured` without STIGG_API_KEY', async () => {
    const { org, headers } = await seedSignedIn('ADMIN')
    const spy = stubStigg()
    await expectRpcError(
      await post('/api/provisionSubscription', checkout(org.publicId), headers),
      503,
      'billing is not configured',
    )
    expect(spy).not.toHaveBeenCalled()
  })

  it("answers 404 for another organization's customer id", async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const foreign = await seedSignedIn('ADMIN')
    const spy = stubStigg()
    await expectRpcError(await provision(checkout(foreign.org.publicId), headers), 404, 'Customer not found')
    await expectRpcError(await provision(checkout('not-a-customer'), headers), 404, 'Customer not found')
    expect(spy).not.toHaveBeenCalled()
  })

  it('rejects return addresses on another origin with 400', async () => {
    const { org, headers } = await seedSignedIn('ADMIN')
    const spy = stubStigg()
    await expectRpcError(
      await provision(checkout(org.publicId, { successUrl: 'https://evil.example/ok' }), headers),
      400,
      /successUrl/,
    )
    await expectRpcError(
      await provision(checkout(org.publicId, { cancelUrl: 'https://evil.example/back' }), headers),
      400,
      /cancelUrl/,
    )
    expect(spy).not.toHaveBeenCalled()
  })

  it('refuses a GUEST and a MEMBER with 403', async () => {
    const spy = stubStigg()
    for (const [role, display] of [
      ['GUEST', 'GUEST'],
      ['MEMBER', 'SECURITY ENGINEER'],
    ] as const) {
      const { org, headers } = await seedSignedIn(role)
      await expectRpcError(
        await provision(checkout(org.publicId), headers),
        403,
        `The role '${display}' does not have access.`,
      )
    }
    expect(spy).not.toHaveBeenCalled()
  })

  it('lets a DEVELOPER through the role check', async () => {
    const { org, headers } = await seedSignedIn('DEVELOPER')
    stubStigg()
    expect((await provision(checkout(org.publicId), headers)).status).toBe(200)
  })
})

describe('background jobs', () => {
  const finished = (jobId: string) =>
    vi.waitUntil(async () => (await jobRow(jobId))?.status === 'succeeded', { timeout: 5000, interval: 50 })
  const jobsOf = (workspaceId: number) => db.select().from(jobs).where(eq(jobs.workspaceId, workspaceId))
  const RESET_MESSAGE =
    'Reset started in the background. This may take a few minutes. Refresh the inventory page to see updated access types.'

  it('applyAccessType answers a job id at once, and the queue runs the job to the end', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    const res = await post('/api/applyAccessType', {}, headers)
    expect(res.status).toBe(200)
    const body = await res.json<{ jobId: string }>()
    expect(body).toEqual({ jobId: expect.any(String) })
    expect(await jobRow(body.jobId)).toMatchObject({
      type: 'applyAccessType',
      workspaceId: workspace.id,
      createdBy: user.publicId,
    })
    await finished(body.jobId)
  })

  it('applyAccessType is ADMIN-only: a MEMBER gets 403 and no job', async () => {
    const { workspace, headers } = await seedSignedIn('MEMBER')
    await expectRpcError(
      await post('/api/applyAccessType', {}, headers),
      403,
      "The role 'SECURITY ENGINEER' does not have access.",
    )
    expect(await jobsOf(workspace.id)).toEqual([])
  })

  it('resetCollectionAccessTypes lets a MEMBER start it and answers the started message', async () => {
    const { workspace, headers } = await seedSignedIn('MEMBER')
    const res = await post('/api/resetCollectionAccessTypes', {}, headers)
    expect(res.status).toBe(200)
    const body = await res.json<{ jobId: string }>()
    expect(body).toEqual({ response: { started: true, message: RESET_MESSAGE }, jobId: expect.any(String) })
    expect(await jobRow(body.jobId)).toMatchObject({ type: 'resetCollectionAccessTypes', workspaceId: workspace.id })
    await finished(body.jobId)
  })

  it('resetCollectionAccessTypes refuses a GUEST with 403', async () => {
    const { workspace, headers } = await seedSignedIn('GUEST')
    await expectRpcError(
      await post('/api/resetCollectionAccessTypes', {}, headers),
      403,
      "The role 'GUEST' does not have access.",
    )
    expect(await jobsOf(workspace.id)).toEqual([])
  })

  it('refreshUsageDataForOrg lets ADMIN and DEVELOPER start a refreshUsage job', async () => {
    for (const role of ['ADMIN', 'DEVELOPER']) {
      const { org, headers } = await seedSignedIn(role)
      const res = await post('/api/refreshUsageDataForOrg', {}, headers)
      expect(res.status).toBe(200)
      const body = await res.json<{ jobId: string }>()
      expect(body).toEqual({ jobId: expect.any(String) })
      expect(await jobRow(body.jobId)).toMatchObject({ type: 'refreshUsage', organizationId: org.id })
      await finished(body.jobId)
    }
  })

  it('refreshUsageDataForOrg refuses a MEMBER with 403', async () => {
    const { workspace, headers } = await seedSignedIn('MEMBER')
    await expectRpcError(
      await post('/api/refreshUsageDataForOrg', {}, headers),
      403,
      "The role 'SECURITY ENGINEER' does not have access.",
    )
    expect(await jobsOf(workspace.id)).toEqual([])
  })

  it('lets BURP tokens start access-type jobs but not the usage refresh, which CICD tokens may start', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const burp = await createToken(headers, 'BURP')
    expect((await post('/api/applyAccessType', {}, burp.headers)).status).toBe(200)
    expect((await post('/api/resetCollectionAccessTypes', {}, burp.headers)).status).toBe(200)
    await expectRpcError(
      await post('/api/refreshUsageDataForOrg', {}, burp.headers),
      403,
      'BURP tokens cannot refresh usage',
    )
    const cicd = await createToken(headers, 'CICD')
    expect((await post('/api/refreshUsageDataForOrg', {}, cicd.headers)).status).toBe(200)
  })
})
