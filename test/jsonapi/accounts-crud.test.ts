import { env } from 'cloudflare:workers'
import { eq } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { newPublicId, sha256 } from '../../src/auth/crypto'
import { invitations, logins, memberships, users } from '../../src/db/schema'
import {
  api,
  db,
  type Headers,
  nextIp,
  post,
  ROOT,
  STRONG_PASSWORD,
  seedApiToken,
  seedCustomRole,
  seedOrganization,
  seedSignedIn,
  seedUser,
  signIn,
} from '../support'
import { expectErrors, JSON_API, send } from '../support/jsonapi'
import { mailsTo, tokenIn } from '../support/outbox'

/**
 * /accounts as a user and as an attacker: one account read, created (a pending account and its
 * emailed invitation), joined, updated, deleted or disabled, and invited again.
 */

type Account = { type: string; id: string; attributes: Record<string, unknown> }
type Doc = { data: Account; meta?: Record<string, unknown> }

const DAY = 24 * 60 * 60 * 1000
const ALL = (role: string) => ({ API: role, AGENTIC: role, ENDPOINT: role, DAST: role })

afterEach(() => {
  vi.useRealTimers()
})

const rootIn = (workspaceId: number): Headers => ({ ...ROOT, account: String(workspaceId) })
const freshEmail = () => `acct-${newPublicId().toLowerCase()}@example.com`

const doc = (attributes: Record<string, unknown>, type = 'iam:accounts') => ({ data: { type, attributes } })
const create = (headers: Headers, attributes: Record<string, unknown>) =>
  send('POST', '/accounts', headers, doc(attributes))
const patch = (headers: Headers, id: string, attributes: Record<string, unknown>) =>
  send('PATCH', `/accounts/${id}`, headers, doc(attributes))
const join = (token: string, body?: unknown) => send('PATCH', `/accounts/${token}/join`, {}, body ?? {})
const show = (headers: Headers, id: string, query = '') => api(`/accounts/${id}${query}`, { headers })

/** Creates a pending account and answers its document; fails the test when refused. */
const created = async (headers: Headers, attributes: Record<string, unknown>) => {
  const res = await create(headers, attributes)
  expect(res.status, await res.clone().text()).toBe(201)
  return (await res.json<Doc>()).data
}

const login = (email: string, password: string) =>
  post('/auth/login', { email, password }, { 'CF-Connecting-IP': nextIp() })
const loginHeaders = async (email: string, password: string): Promise<Headers> => {
  const res = await login(email, password)
  expect(res.status, await res.clone().text()).toBe(200)
  return { Authorization: `Bearer ${(await res.json<{ token: string }>()).token}` }
}

const userByEmail = async (email: string) => (await db.select().from(users).where(eq(users.email, email)))[0]
const membershipOf = async (userId: number) => db.select().from(memberships).where(eq(memberships.userId, userId))

/** Every D1 table but the development outbox, as text: where a secret must never show up. */
const tablesHolding = async (needle: string) => {
  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
  ).all<{ name: string }>()
  const hits: string[] = []
  for (const { name } of results) {
    if (name === 'email_outbox') continue
    const rows = await env.DB.prepare(`SELECT * FROM "${name}"`).all()
    if (JSON.stringify(rows.results).includes(needle)) hits.push(name)
  }
  return hits
}

describe('GET /accounts/{id}', () => {
  it('shows an account as an iam:accounts document with the public id of the REST surface', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const ann = await seedUser(workspace.id, 'DEVELOPER', { name: 'Ann', scopeRoles: { API: 'DEVELOPER' } })
    const res = await show(headers, ann.publicId)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(JSON_API)
    const { data } = await res.json<Doc>()
    expect(data).toEqual({
      type: 'iam:accounts',
      id: ann.publicId,
      attributes: {
        name: 'Ann',
        email: ann.email,
        sso_channel: null,
        enabled: true,
        role_name: 'DEVELOPER',
        role_scope: { API: 'DEVELOPER' },
        picture_url: null,
        joined_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
        invitation_expired_at: null,
        created_at: expect.stringMatching(/Z$/),
        updated_at: expect.stringMatching(/Z$/),
      },
    })
    expect(data.id).toMatch(/^[A-Z0-9]{10}$/)
    // The REST surface names the same person by the same id.
    const rest = await api(`/org/users/${data.id}`, { headers })
    expect(rest.status).toBe(200)
    expect((await rest.json<{ id: string }>()).id).toBe(data.id)
  })

  it('trims the attributes to a sparse fieldset, in the bracket and the comma form', async () => {
    const { user, headers } = await seedSignedIn('ADMIN', { name: 'Ada' })
    for (const query of [
      '?fields[iam:accounts][]=email&fields[iam:accounts][]=name',
      '?fields[iam:accounts]=email,name',
    ])
      expect((await (await show(headers, user.publicId, query)).json<Doc>()).data.attributes).toEqual({
        email: user.email,
        name: 'Ada',
      })
  })

  it('refuses what a show does not take with 400 naming the parameter', async () => {
    const { user, headers } = await seedSignedIn('ADMIN')
    for (const [query, parameter] of [
      ['?page[size]=1', 'page[size]'],
      ['?filter[email]=x', 'filter[email]'],
      ['?included[]=account', 'included'],
      ['?debug=1', 'debug'],
    ]) {
      const [e] = await expectErrors(await show(headers, user.publicId, query), 400, 'VALIDATION_FAILED')
      expect(e?.source).toEqual({ parameter })
    }
    const [e] = await expectErrors(await show(headers, 'a1b2c3d4e5'), 400)
    expect(e?.source).toEqual({ parameter: 'id' })
  })

  it('lets a member read only their own account: anyone else, existing or not, is a 404', async () => {
    const { workspace, user: admin } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const headers = await signIn(member, workspace.id)
    expect((await show(headers, member.publicId)).status).toBe(200)
    const notThere = await expectErrors(await show(headers, admin.publicId), 404, 'NOT_FOUND')
    const unknown = await expectErrors(await show(headers, newPublicId()), 404, 'NOT_FOUND')
    expect(notThere).toEqual(unknown)
  })

  it('answers 401 in a JSON:API error without credentials or with a forged token', async () => {
    const { user } = await seedSignedIn('ADMIN')
    for (const headers of [
      {},
      { Authorization: 'Bearer eyJ.eyJ.sig' },
      { Authorization: 'Bearer not-a-key' },
    ] as Headers[]) {
      const [e] = await expectErrors(await show(headers, user.publicId), 401, 'UNAUTHENTICATED')
      expect(e?.source).toEqual({ header: 'Authorization' })
    }
  })
})

describe('transport', () => {
  it('answers unknown routes, wrong methods and bodies it cannot read in JSON:API errors', async () => {
    const { user, headers } = await seedSignedIn('ADMIN')
    await expectErrors(await api(`/accounts/${user.publicId}/nothing`, { headers }), 404, 'NOT_FOUND')
    const put = await send('PUT', `/accounts/${user.publicId}`, headers, doc({ name: 'X' }))
    await expectErrors(put, 405, 'METHOD_NOT_ALLOWED')
    expect(put.headers.get('allow')).toMatch(/PATCH/)
    await expectErrors(await send('POST', '/accounts', headers, '{"data": '), 400)
    await expectErrors(await send('POST', '/accounts', headers, 'email=a@b.co', 'text/plain'), 415)
    const huge = doc({ email: freshEmail(), role_name: 'GUEST', name: 'x'.repeat(70 * 1024) })
    await expectErrors(await send('POST', '/accounts', headers, huge), 413, 'PAYLOAD_TOO_LARGE')
  })
})

describe('POST /accounts', () => {
  it('creates a pending account (201) and emails its invitation, valid 3 days', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    const before = Date.now()
    const res = await create(headers, { email, name: 'Bob', role_name: 'DEVELOPER' })
    expect(res.status, await res.clone().text()).toBe(201)
    expect(res.headers.get('content-type')).toBe(JSON_API)
    const { data } = await res.json<Doc>()
    expect(data).toMatchObject({
      type: 'iam:accounts',
      id: expect.stringMatching(/^[A-Z0-9]{10}$/),
      attributes: {
        name: 'Bob',
        email,
        enabled: true,
        role_name: 'DEVELOPER',
        role_scope: ALL('DEVELOPER'),
        joined_at: null,
      },
    })
    const expires = new Date(data.attributes.invitation_expired_at as string).getTime()
    expect(expires).toBeGreaterThanOrEqual(before + 3 * DAY - 1000)
    expect(expires).toBeLessThanOrEqual(Date.now() + 3 * DAY + 1000)
    const [mail] = await mailsTo(email)
    expect(mail!.text).toMatch(/token=[\w-]{20,}/)
    expect((await show(headers, data.id)).status).toBe(200)
  })

  it('accepts plain application/json as well, a role per scope, and enabled: false', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    const res = await send(
      'POST',
      '/accounts',
      headers,
      doc({ email, role_name: 'GUEST', role_scope: { API: 'GUEST', DAST: 'MEMBER' }, enabled: false }),
      'application/json',
    )
    expect(res.status, await res.clone().text()).toBe(201)
    expect((await res.json<Doc>()).data.attributes).toMatchObject({
      role_name: 'GUEST',
      role_scope: { API: 'GUEST', DAST: 'MEMBER' },
      enabled: false,
    })
  })

  it('refuses a MEMBER with 403 and creates nothing', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const email = freshEmail()
    await expectErrors(
      await create(await signIn(member, workspace.id), { email, role_name: 'GUEST' }),
      403,
      'FORBIDDEN',
    )
    expect(await userByEmail(email)).toBeUndefined()
  })

  it('lets nobody grant above their own role: a one-scope ADMIN cannot create ADMINs of other scopes', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const lead = await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'ADMIN' } })
    const headers = await signIn(lead, workspace.id)
    for (const attributes of [
      { role_name: 'ADMIN' },
      { role_name: 'ADMIN', role_scope: { API: 'ADMIN', DAST: 'ADMIN' } },
      { role_name: 'GUEST', role_scope: { AGENTIC: 'GUEST' } },
    ]) {
      const email = freshEmail()
      await expectErrors(await create(headers, { email, ...attributes }), 403, 'FORBIDDEN')
      expect(await userByEmail(email)).toBeUndefined()
    }
    // Within their own standing they may.
    const mine = await created(headers, { email: freshEmail(), role_name: 'ADMIN', role_scope: { API: 'ADMIN' } })
    expect(mine.attributes.role_scope).toEqual({ API: 'ADMIN' })
  })

  it('counts a custom role based on ADMIN as ADMIN, for the caller and for the role granted', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'BOSS', 'ADMIN')
    const boss = await seedUser(workspace.id, 'BOSS')
    const bossMade = await created(await signIn(boss, workspace.id), { email: freshEmail(), role_name: 'ADMIN' })
    expect(bossMade.attributes.role_scope).toEqual(ALL('ADMIN'))

    const lead = await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'ADMIN' } })
    const leadHeaders = await signIn(lead, workspace.id)
    for (const attributes of [{ role_name: 'BOSS' }, { role_name: 'GUEST', role_scope: { DAST: 'BOSS' } }]) {
      const email = freshEmail()
      await expectErrors(await create(leadHeaders, { email, ...attributes }), 403, 'FORBIDDEN')
      expect(await userByEmail(email)).toBeUndefined()
    }
  })

  it('refuses read-only attributes with 422 pointing at each, and creates nothing', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    for (const name of ['id', 'created_at', 'updated_at', 'joined_at', 'invitation_expired_at', 'sso_channel']) {
      const email = freshEmail()
      const errors = await expectErrors(
        await create(headers, { email, role_name: 'GUEST', [name]: '2020-01-01T00:00:00.000Z' }),
        422,
        'VALIDATION_FAILED',
      )
      expect(errors.map((e) => e.source)).toEqual([{ pointer: `/data/attributes/${name}` }])
      expect(await userByEmail(email)).toBeUndefined()
    }
  })

  it('refuses unknown attributes, a wrong type and a document without data with 422', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    const unknown = await expectErrors(
      await create(headers, { email, role_name: 'GUEST', password: STRONG_PASSWORD }),
      422,
    )
    expect(unknown[0]?.detail).toMatch(/password/)
    expect(unknown[0]?.source.pointer).toMatch(/^\/data\/attributes/)
    const wrongType = await expectErrors(
      await send('POST', '/accounts', headers, doc({ email, role_name: 'GUEST' }, 'iam:organizations')),
      422,
    )
    expect(wrongType[0]?.source).toEqual({ pointer: '/data/type' })
    await expectErrors(await send('POST', '/accounts', headers, { email, role_name: 'GUEST' }), 422)
    expect(await userByEmail(email)).toBeUndefined()
  })

  it('answers 409 without any account data for an address that has an account, whatever its case or organization', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const here = await seedUser(workspace.id, 'GUEST', { name: 'Here' })
    const elsewhere = await seedUser((await seedOrganization()).workspace.id, 'ADMIN', { name: 'Elsewhere' })
    for (const existing of [here, elsewhere]) {
      for (const email of [existing.email, existing.email.toUpperCase(), ` ${existing.email} `]) {
        const res = await create(headers, { email, role_name: 'GUEST' })
        const errors = await expectErrors(res, 409, 'CONFLICT')
        const text = JSON.stringify(errors)
        expect(text).not.toContain(existing.publicId)
        expect(text.toLowerCase()).not.toContain(existing.email)
        expect(text).not.toContain('"data"')
      }
    }
    // Nothing changed for the person elsewhere.
    expect(await membershipOf(elsewhere.id)).toHaveLength(1)
  })

  it('lets root invite into the workspace named by the account header, and only with one', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    await expectErrors(await create(ROOT, { email, role_name: 'ADMIN' }), 400)
    const account = await created(rootIn(workspace.id), { email, role_name: 'ADMIN' })
    expect(account.attributes).toMatchObject({ role_name: 'ADMIN', role_scope: ALL('ADMIN'), joined_at: null })
  })

  it('keeps the invitation token out of D1: only its hash is stored, never in jobs or audit events', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    await created(headers, { email, role_name: 'GUEST' })
    const token = tokenIn((await mailsTo(email))[0]!)
    const [invitation] = await db.select().from(invitations).where(eq(invitations.email, email))
    expect(invitation!.codeHash).toBe(await sha256(token))
    expect(await tablesHolding(token)).toEqual([])
  })
})

describe('PATCH /accounts/{token}/join', () => {
  const pending = async (attributes: Record<string, unknown> = {}) => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    const account = await created(headers, { email, name: 'Newcomer', role_name: 'MEMBER', ...attributes })
    const token = tokenIn((await mailsTo(email))[0]!)
    return { workspace, headers, email, account, token }
  }

  it('joins without credentials and answers a reset token that sets the password', async () => {
    const { headers, email, account, token } = await pending()
    const res = await join(token)
    expect(res.status, await res.clone().text()).toBe(200)
    expect(res.headers.get('content-type')).toBe(JSON_API)
    const body = await res.json<Doc>()
    expect(body.data).toMatchObject({
      type: 'iam:accounts',
      id: account.id,
      attributes: { email, name: 'Newcomer', role_name: 'MEMBER', invitation_expired_at: null },
    })
    expect(new Date(body.data.attributes.joined_at as string).getTime()).toBeGreaterThan(Date.now() - 60_000)
    const resetToken = body.meta?.password_reset_token as string
    expect(resetToken).toMatch(/^[\w-]{20,}$/)
    // No password yet.
    expect((await login(email, STRONG_PASSWORD)).status).toBe(401)
    expect((await post('/account/passwords/reset', { token: resetToken, password: STRONG_PASSWORD })).status).toBe(204)
    const mine = await loginHeaders(email, STRONG_PASSWORD)
    expect((await show(mine, account.id)).status).toBe(200)
    expect((await (await show(headers, account.id)).json<Doc>()).data.attributes.joined_at).not.toBeNull()
  })

  it('sets a password sent with the join at once, at the top level or in the attributes, with no reset token', async () => {
    for (const body of [
      { password: STRONG_PASSWORD },
      { data: { type: 'iam:accounts', attributes: { password: STRONG_PASSWORD } } },
    ]) {
      const { email, token } = await pending()
      const res = await join(token, body)
      expect(res.status, await res.clone().text()).toBe(200)
      expect((await res.json<Doc>()).meta?.password_reset_token).toBeUndefined()
      await loginHeaders(email, STRONG_PASSWORD)
    }
  })

  it('refuses the same token a second time with 404, and an unknown one without echoing it', async () => {
    const { token } = await pending()
    expect((await join(token, { password: STRONG_PASSWORD })).status).toBe(200)
    await expectErrors(await join(token, { password: 'Another-Pass-1' }), 404, 'NOT_FOUND')
    const guess = 'x'.repeat(43)
    const errors = await expectErrors(await join(guess), 404, 'NOT_FOUND')
    expect(JSON.stringify(errors)).not.toContain(guess)
  })

  it('refuses a weak password with 422 on /password, and the invitation stays usable', async () => {
    const { email, token } = await pending()
    const errors = await expectErrors(await join(token, { password: 'weakling' }), 422, 'VALIDATION_FAILED')
    expect(errors[0]?.source).toEqual({ pointer: '/password' })
    expect((await userByEmail(email))?.joinedAt).toBeNull()
    expect((await join(token, { password: STRONG_PASSWORD })).status).toBe(200)
  })

  it('points a weak password sent in the attributes at /data/attributes/password', async () => {
    const { token } = await pending()
    const errors = await expectErrors(
      await join(token, { data: { type: 'iam:accounts', attributes: { password: 'weakling' } } }),
      422,
    )
    expect(errors[0]?.source).toEqual({ pointer: '/data/attributes/password' })
  })

  it('joins up to the last second of the 3 days, and never after', async () => {
    const { email, account, token } = await pending()
    const expires = new Date(account.attributes.invitation_expired_at as string).getTime()
    vi.useFakeTimers({ now: expires + 1000, toFake: ['Date'] })
    const res = await join(token, { password: STRONG_PASSWORD })
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    expect((await userByEmail(email))?.joinedAt).toBeNull()
    vi.setSystemTime(expires - 1000)
    expect((await join(token, { password: STRONG_PASSWORD })).status).toBe(200)
  })

  it('answers 422 for an invitation past its 3 days', async () => {
    const { account, token } = await pending()
    vi.useFakeTimers({
      now: new Date(account.attributes.invitation_expired_at as string).getTime() + 1000,
      toFake: ['Date'],
    })
    await expectErrors(await join(token, { password: STRONG_PASSWORD }), 422, 'VALIDATION_FAILED')
  })
})

describe('POST /accounts/{id}/resend_invitation', () => {
  it('sends a new link (204): the old one dies, the new one works and lives 3 days from the resend', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    const account = await created(headers, { email, role_name: 'GUEST' })
    const oldToken = tokenIn((await mailsTo(email))[0]!)
    const firstExpiry = new Date(account.attributes.invitation_expired_at as string).getTime()

    // Two days later, root (whose credential does not expire) sends it again.
    const resentAt = Date.now() + 2 * DAY
    vi.useFakeTimers({ now: resentAt, toFake: ['Date'] })
    const res = await send('POST', `/accounts/${account.id}/resend_invitation`, rootIn(workspace.id))
    expect(res.status, await res.clone().text()).toBe(204)
    expect(await res.text()).toBe('')
    const [invitation] = await db.select().from(invitations).where(eq(invitations.email, email))
    expect(invitation!.expiresAt.getTime()).toBe(resentAt + 3 * DAY)
    vi.useRealTimers()
    const newToken = tokenIn((await mailsTo(email, 2))[0]!)
    expect(newToken).not.toBe(oldToken)

    vi.useFakeTimers({ now: firstExpiry + DAY, toFake: ['Date'] })
    await expectErrors(await join(oldToken, { password: STRONG_PASSWORD }), 404, 'NOT_FOUND')
    expect((await join(newToken, { password: STRONG_PASSWORD })).status).toBe(200)
  })

  it('refuses a one-scope ADMIN re-issuing an invitation above their standing, and keeps the link', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const lead = await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'ADMIN' } })
    const leadHeaders = await signIn(lead, workspace.id)
    const email = freshEmail()
    const account = await created(headers, { email, role_name: 'ADMIN' })
    const token = tokenIn((await mailsTo(email))[0]!)
    await expectErrors(await send('DELETE', `/accounts/${account.id}`, leadHeaders), 403)
    const resent = await send('POST', `/accounts/${account.id}/resend_invitation`, leadHeaders)
    expect((await join(token, { password: STRONG_PASSWORD })).status).toBe(200)
    await expectErrors(resent, 403, 'FORBIDDEN')
  })

  it('answers 409 for an account that joined, without its address', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const joined = await seedUser(workspace.id, 'GUEST')
    const errors = await expectErrors(
      await send('POST', `/accounts/${joined.publicId}/resend_invitation`, headers),
      409,
      'CONFLICT',
    )
    expect(JSON.stringify(errors)).not.toContain(joined.email)
  })

  it('refuses a MEMBER with 403, and an admin of another organization with 404', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    const account = await created(headers, { email, role_name: 'GUEST' })
    const member = await seedUser(workspace.id, 'MEMBER')
    const path = `/accounts/${account.id}/resend_invitation`
    await expectErrors(await send('POST', path, await signIn(member, workspace.id)), 403, 'FORBIDDEN')
    await expectErrors(await send('POST', path, (await seedSignedIn('ADMIN')).headers), 404, 'NOT_FOUND')
    await mailsTo(email, 1)
  })
})

describe('PATCH /accounts/{id}', () => {
  it('lets a user change their own name and https picture_url', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const headers = await signIn(member, workspace.id)
    const res = await patch(headers, member.publicId, {
      name: 'Renamed',
      picture_url: 'https://cdn.example.com/me.png',
    })
    expect(res.status, await res.clone().text()).toBe(200)
    expect(res.headers.get('content-type')).toBe(JSON_API)
    expect((await res.json<Doc>()).data.attributes).toMatchObject({
      name: 'Renamed',
      picture_url: 'https://cdn.example.com/me.png',
      role_name: 'MEMBER',
    })
    expect((await userByEmail(member.email))?.displayName).toBe('Renamed')
  })

  it('refuses a picture_url that is not https with 422 on the attribute', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const headers = await signIn(member, workspace.id)
    for (const url of ['http://cdn.example.com/me.png', 'javascript:alert(1)', 'not a url']) {
      const errors = await expectErrors(await patch(headers, member.publicId, { picture_url: url }), 422)
      expect(errors[0]?.source).toEqual({ pointer: '/data/attributes/picture_url' })
    }
    expect((await userByEmail(member.email))?.pictureUrl).toBeNull()
  })

  it('refuses a user changing their own role, scope roles or enabled with 403, and changes nothing', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const headers = await signIn(member, workspace.id)
    const before = await membershipOf(member.id)
    for (const attributes of [
      { role_name: 'ADMIN' },
      { role_scope: ALL('ADMIN') },
      { enabled: false },
      { enabled: true },
      { name: 'Sneaky', role_name: 'ADMIN' },
    ])
      await expectErrors(await patch(headers, member.publicId, attributes), 403, 'FORBIDDEN')
    expect(await membershipOf(member.id)).toEqual(before)
    expect((await userByEmail(member.email))?.displayName).not.toBe('Sneaky')
  })

  it('refuses read-only attributes with 422 pointing at each, never applying them', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const ann = await seedUser(workspace.id, 'GUEST')
    const before = await userByEmail(ann.email)
    for (const [name, value] of [
      ['email', 'taken-over@example.com'],
      ['id', 'AAAAAAAAAA'],
      ['created_at', '2020-01-01T00:00:00.000Z'],
      ['updated_at', '2020-01-01T00:00:00.000Z'],
      ['joined_at', null],
      ['invitation_expired_at', '2099-01-01T00:00:00.000Z'],
    ] as const) {
      for (const h of [headers, await signIn(ann, workspace.id)]) {
        const errors = await expectErrors(await patch(h, ann.publicId, { [name]: value, name: 'X' }), 422)
        expect(errors.map((e) => e.source)).toEqual([{ pointer: `/data/attributes/${name}` }])
      }
    }
    await expectErrors(await patch(headers, ann.publicId, { nickname: 'x' }), 422)
    await expectErrors(await send('PATCH', `/accounts/${ann.publicId}`, headers, doc({ name: 'X' }, 'iam:users')), 422)
    expect(await userByEmail(ann.email)).toEqual(before)
  })

  it('lets an admin change a role, which shows at once; a MEMBER may not (403)', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const ann = await seedUser(workspace.id, 'GUEST')
    const member = await seedUser(workspace.id, 'MEMBER')
    const memberHeaders = await signIn(member, workspace.id)
    for (const attributes of [{ role_name: 'MEMBER' }, { role_scope: ALL('GUEST') }, { enabled: false }, { name: 'X' }])
      await expectErrors(await patch(memberHeaders, ann.publicId, attributes), 403)
    const res = await patch(headers, ann.publicId, { role_name: 'DEVELOPER' })
    expect(res.status, await res.clone().text()).toBe(200)
    expect((await res.json<Doc>()).data.attributes.role_name).toBe('DEVELOPER')
    const scoped = await patch(headers, ann.publicId, { role_scope: { API: 'MEMBER', DAST: 'GUEST' } })
    expect((await scoped.json<Doc>()).data.attributes).toMatchObject({
      role_name: 'MEMBER',
      role_scope: { API: 'MEMBER', DAST: 'GUEST' },
    })
    const dast = await show({ ...headers, 'x-context-source': 'DAST' }, ann.publicId)
    expect((await dast.json<Doc>()).data.attributes.role_name).toBe('GUEST')
  })

  it('refuses a one-scope ADMIN raising someone to ADMIN in a scope they do not administer', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const lead = await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'ADMIN' } })
    const ann = await seedUser(workspace.id, 'GUEST', { scopeRoles: { API: 'GUEST' } })
    const headers = await signIn(lead, workspace.id)
    for (const attributes of [{ role_scope: { API: 'GUEST', DAST: 'ADMIN' } }, { role_scope: { AGENTIC: 'GUEST' } }])
      await expectErrors(await patch(headers, ann.publicId, attributes), 403)
    // Nor themselves.
    await expectErrors(await patch(headers, lead.publicId, { role_scope: { API: 'ADMIN', DAST: 'ADMIN' } }), 403)
    expect((await membershipOf(ann.id))[0]?.scopeRoles).toEqual({ API: 'GUEST' })
    expect((await membershipOf(lead.id))[0]?.scopeRoles).toEqual({ API: 'ADMIN' })
  })

  it('disables an account: its sessions end at once and it cannot sign in', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const ann = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const annHeaders = await loginHeaders(ann.email, STRONG_PASSWORD)
    expect((await api('/me', { headers: annHeaders })).status).toBe(200)
    const res = await patch(headers, ann.publicId, { enabled: false })
    expect(res.status, await res.clone().text()).toBe(200)
    expect((await res.json<Doc>()).data.attributes.enabled).toBe(false)
    expect((await api('/me', { headers: annHeaders })).status).toBe(401)
    expect((await post('/api/getTeamData', {}, annHeaders)).status).toBe(401)
    expect(await db.select().from(logins).where(eq(logins.userId, ann.id))).toEqual([])
    expect((await login(ann.email, STRONG_PASSWORD)).status).toBe(401)
    // Enabled again, it signs in.
    expect((await patch(headers, ann.publicId, { enabled: true })).status).toBe(200)
    await loginHeaders(ann.email, STRONG_PASSWORD)
  })

  it('refuses an API token changing its owner’s own account, as REST PATCH /me does', async () => {
    const { workspace, user } = await seedSignedIn('MEMBER')
    const { headers: key } = await seedApiToken(workspace.id, { userId: user.id })
    const rest = await api('/me', {
      method: 'PATCH',
      headers: { ...key, 'Content-Type': 'application/json' },
      body: JSON.stringify({ displayName: 'By key' }),
    })
    expect(rest.status).toBe(403)
    const res = await patch(key, user.publicId, { name: 'By key', picture_url: 'https://evil.example.com/x.png' })
    expect((await userByEmail(user.email))?.displayName).not.toBe('By key')
    await expectErrors(res, 403, 'FORBIDDEN')
  })

  it('refuses an ADMIN disabling, renaming or deleting a member who is an ADMIN of another organization too', async () => {
    const here = await seedSignedIn('ADMIN')
    const there = await seedSignedIn('ADMIN')
    const shared = await seedUser(here.workspace.id, 'MEMBER', { password: STRONG_PASSWORD, name: 'Shared' })
    // The other organization invites the same person as ADMIN, and they accept with their password.
    const invite = await post(
      '/api/inviteUsers',
      { inviteeEmail: shared.email, inviteeRole: 'ADMIN' },
      { ...there.headers, 'CF-Connecting-IP': nextIp() },
    )
    expect(invite.status, await invite.clone().text()).toBe(200)
    const { finalInviteCode } = await invite.json<{ finalInviteCode: string }>()
    const accepted = await post(
      '/auth/signup',
      { invitationCode: finalInviteCode, password: STRONG_PASSWORD },
      { 'CF-Connecting-IP': nextIp() },
    )
    expect(accepted.status, await accepted.clone().text()).toBe(201)
    expect(await membershipOf(shared.id)).toHaveLength(2)

    for (const attributes of [{ enabled: false }, { name: 'Renamed by A' }, { picture_url: 'https://x.example/p.png' }])
      await expectErrors(await patch(here.headers, shared.publicId, attributes), 403, 'FORBIDDEN')
    await expectErrors(await send('DELETE', `/accounts/${shared.publicId}`, here.headers), 403, 'FORBIDDEN')
    const after = await userByEmail(shared.email)
    expect(after).toMatchObject({ enabled: true, displayName: 'Shared', pictureUrl: null })
    await loginHeaders(shared.email, STRONG_PASSWORD)
    // Their role in this workspace is this workspace's business.
    expect((await patch(here.headers, shared.publicId, { role_name: 'GUEST' })).status).toBe(200)
  })

  it('answers 404 for an account of another organization, and changes nothing', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const other = await seedSignedIn('ADMIN')
    const victim = await seedUser(other.workspace.id, 'GUEST')
    for (const attributes of [{ name: 'Pwned' }, { enabled: false }, { role_name: 'ADMIN' }])
      await expectErrors(await patch(headers, victim.publicId, attributes), 404, 'NOT_FOUND')
    expect((await userByEmail(victim.email))?.enabled).toBe(true)
    expect((await membershipOf(victim.id))[0]?.scopeRoles).toEqual(ALL('GUEST'))
  })
})

describe('DELETE /accounts/{id}', () => {
  it('deletes a pending account: it is gone, and so is its invitation', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const email = freshEmail()
    const account = await created(headers, { email, role_name: 'GUEST' })
    const token = tokenIn((await mailsTo(email))[0]!)
    const res = await send('DELETE', `/accounts/${account.id}`, headers)
    expect(res.status).toBe(204)
    await expectErrors(await show(headers, account.id), 404, 'NOT_FOUND')
    expect(await userByEmail(email)).toBeUndefined()
    expect(await db.select().from(invitations).where(eq(invitations.email, email))).toEqual([])
    await expectErrors(await join(token, { password: STRONG_PASSWORD }), 404)
  })

  it('disables a joined account instead: enabled false, its sessions end, it cannot sign in', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const ann = await seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })
    const annHeaders = await loginHeaders(ann.email, STRONG_PASSWORD)
    const fixtureHeaders = await signIn(ann, workspace.id)
    expect((await send('DELETE', `/accounts/${ann.publicId}`, headers)).status).toBe(204)
    const { data } = await (await show(headers, ann.publicId)).json<Doc>()
    expect(data.attributes.enabled).toBe(false)
    for (const h of [annHeaders, fixtureHeaders]) {
      expect((await api('/me', { headers: h })).status).toBe(401)
      expect((await api('/accounts', { headers: h })).status).toBe(401)
    }
    expect((await login(ann.email, STRONG_PASSWORD)).status).toBe(401)
  })

  it('refuses a MEMBER with 403 and an admin of another organization with 404', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const ann = await seedUser(workspace.id, 'GUEST')
    const member = await seedUser(workspace.id, 'MEMBER')
    await expectErrors(await send('DELETE', `/accounts/${ann.publicId}`, await signIn(member, workspace.id)), 403)
    await expectErrors(await send('DELETE', `/accounts/${ann.publicId}`, (await seedSignedIn('ADMIN')).headers), 404)
    expect((await userByEmail(ann.email))?.enabled).toBe(true)
    expect(await membershipOf(ann.id)).toHaveLength(1)
  })
})
