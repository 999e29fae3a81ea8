import { env } from 'cloudflare:workers'
import { eq, sql } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { newPublicId, sha256 } from '../../src/auth/crypto'
import { jobs, logins, passwordResets } from '../../src/db/schema'
import {
  api,
  db,
  type Headers,
  nextIp,
  post,
  ROOT,
  type SeededUser,
  STRONG_PASSWORD,
  seedSignedIn,
  seedUser,
} from '../support'
import { expectErrors, JSON_API } from '../support/jsonapi'
import { mailsTo, tokenIn } from '../support/outbox'

/** /account/passwords: reset by emailed token (1 hour, single use), and change with the current password. */

const HOUR = 60 * 60 * 1000
const NEW_PASSWORD = 'Brand-New-Pass-7'

afterEach(() => {
  vi.useRealTimers()
})

const requestReset = (email: string, ip = nextIp(), type = 'application/json') =>
  api('/account/passwords/request_reset', {
    method: 'POST',
    headers: { 'Content-Type': type, 'CF-Connecting-IP': ip },
    body: JSON.stringify({ email }),
  })
const reset = (token: string, password: string) => post('/account/passwords/reset', { token, password })
const tokenValid = async (token: string) => {
  const res = await api(`/account/passwords/token_valid?token=${encodeURIComponent(token)}`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe(JSON_API)
  const body = await res.json<{ data: { valid: boolean } }>()
  expect(Object.keys(body)).toEqual(['data'])
  return body.data.valid
}
const change = (headers: Headers, body: Record<string, unknown>) => post('/account/passwords/change', body, headers)

const login = (email: string, password: string) =>
  post('/auth/login', { email, password }, { 'CF-Connecting-IP': nextIp() })
const session = async (user: SeededUser, password = STRONG_PASSWORD): Promise<Headers> => {
  const res = await login(user.email, password)
  expect(res.status, await res.clone().text()).toBe(200)
  return { Authorization: `Bearer ${(await res.json<{ token: string }>()).token}` }
}
const acts = async (headers: Headers) => (await api('/me', { headers })).status

/** Asks for a reset link for the user and answers the token it carries. */
const resetToken = async (user: SeededUser, mailsBefore = 0) => {
  expect((await requestReset(user.email)).status).toBe(204)
  return tokenIn((await mailsTo(user.email, mailsBefore + 1))[0]!)
}
/** Email jobs recorded for an address (every email has one, whatever the queue did with it). */
const emailJobsTo = (email: string) =>
  db.select().from(jobs).where(sql`${jobs.type} = 'sendEmail' AND json_extract(${jobs.payload}, '$.to') = ${email}`)

const { workspace, headers: adminHeaders } = await seedSignedIn('ADMIN')
const person = async () => seedUser(workspace.id, 'MEMBER', { password: STRONG_PASSWORD })

describe('POST /account/passwords/request_reset', () => {
  it('answers 204 with no body and emails a link with token= to a real account', async () => {
    const ann = await person()
    const res = await requestReset(ann.email, nextIp(), JSON_API)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    const [mail] = await mailsTo(ann.email)
    expect(mail!.text).toMatch(/\/reset-password\?token=[\w-]{20,}/)
  })

  it('answers the same 204 for an unknown address and a disabled account, and emails neither', async () => {
    const dee = await person()
    const disabled = await api(`/accounts/${dee.publicId}`, {
      method: 'PATCH',
      headers: { ...adminHeaders, 'Content-Type': JSON_API },
      body: JSON.stringify({ data: { type: 'iam:accounts', attributes: { enabled: false } } }),
    })
    expect(disabled.status).toBe(200)
    const unknown = `nobody-${newPublicId().toLowerCase()}@example.com`
    for (const email of [unknown, dee.email]) {
      const res = await requestReset(email)
      expect(res.status).toBe(204)
      expect(await res.text()).toBe('')
    }
    // A real one, to know the queue ran.
    const ann = await person()
    await resetToken(ann)
    expect(await emailJobsTo(ann.email)).toHaveLength(1)
    expect(await emailJobsTo(unknown)).toEqual([])
    expect(await emailJobsTo(dee.email)).toEqual([])
    expect(await db.select().from(passwordResets).where(eq(passwordResets.userId, dee.id))).toEqual([])
  })

  it('takes the address in any case and with spaces, and mails the account’s own address', async () => {
    const ann = await person()
    expect((await requestReset(` ${ann.email.toUpperCase()} `)).status).toBe(204)
    const [mail] = await mailsTo(ann.email)
    expect(mail!.to).toBe(ann.email)
    expect(await tokenValid(tokenIn(mail!))).toBe(true)
  })

  it('replaces an earlier link with a new one', async () => {
    const ann = await person()
    const first = await resetToken(ann)
    const second = await resetToken(ann, 1)
    expect(await tokenValid(first)).toBe(false)
    expect(await tokenValid(second)).toBe(true)
    await expectErrors(await reset(first, NEW_PASSWORD), 404)
  })

  it('throttles one address: the sixth request within the hour is a 429 with Retry-After, from any IP', async () => {
    const ann = await person()
    for (let i = 0; i < 5; i++) expect((await requestReset(ann.email)).status).toBe(204)
    const res = await requestReset(ann.email.toUpperCase())
    await expectErrors(res, 429, 'RATE_LIMITED')
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    await mailsTo(ann.email, 5)
  })

  it('throttles one IP: the eleventh request in a minute is a 429, whatever the address', async () => {
    const ip = nextIp()
    for (let i = 0; i < 10; i++)
      expect((await requestReset(`ip-${i}-${newPublicId().toLowerCase()}@example.com`, ip)).status).toBe(204)
    await expectErrors(await requestReset(`ip-x-${newPublicId().toLowerCase()}@example.com`, ip), 429, 'RATE_LIMITED')
    expect((await requestReset(`ip-y-${newPublicId().toLowerCase()}@example.com`, nextIp())).status).toBe(204)
  })

  it('refuses a body without an email, or with more, with 422 on the field', async () => {
    for (const [body, pointer] of [
      [{}, '/email'],
      [{ email: 5 }, '/email'],
    ] as const) {
      const errors = await expectErrors(await post('/account/passwords/request_reset', body), 422, 'VALIDATION_FAILED')
      expect(errors[0]?.source).toEqual({ pointer })
    }
    await expectErrors(await post('/account/passwords/request_reset', { email: 'a@b.co', admin: true }), 422)
  })
})

describe('GET /account/passwords/token_valid', () => {
  it('answers {"data": {"valid": …}}: true for a live token, false for anything else', async () => {
    const ann = await person()
    const token = await resetToken(ann)
    expect(await tokenValid(token)).toBe(true)
    expect(await tokenValid(`${token}x`)).toBe(false)
    expect(await tokenValid('not-a-token')).toBe(false)
    const errors = await expectErrors(await api('/account/passwords/token_valid'), 400)
    expect(errors[0]?.source).toEqual({ parameter: 'token' })
  })
})

describe('POST /account/passwords/reset', () => {
  it('sets the password (204), once: every session ends, the old password is dead', async () => {
    const ann = await person()
    const phone = await session(ann)
    const laptop = await session(ann)
    const token = await resetToken(ann)
    const res = await reset(token, NEW_PASSWORD)
    expect(res.status, await res.clone().text()).toBe(204)
    expect(await res.text()).toBe('')
    expect([await acts(phone), await acts(laptop)]).toEqual([401, 401])
    expect(await db.select().from(logins).where(eq(logins.userId, ann.id))).toEqual([])
    expect((await login(ann.email, STRONG_PASSWORD)).status).toBe(401)
    await session(ann, NEW_PASSWORD)
    // Single use.
    expect(await tokenValid(token)).toBe(false)
    await expectErrors(await reset(token, 'Another-Pass-8'), 404, 'NOT_FOUND')
    await session(ann, NEW_PASSWORD)
  })

  it('reports the first password rule broken, on /password, with 422; the token stays usable', async () => {
    const ann = await person()
    const token = await resetToken(ann)
    for (const [password, detail] of [
      ['Sh0rt!', /at least 8 characters/],
      ['sh0rt', /at least 8 characters/],
      ['no-upper-case-1', /uppercase/],
      ['NO-LOWER-CASE-1', /lowercase/],
      ['No-Digits-Here', /digit/],
      ['NoSpecial123', /special/],
    ] as const) {
      const errors = await expectErrors(await reset(token, password), 422, 'VALIDATION_FAILED')
      expect(errors).toHaveLength(1)
      expect(errors[0]?.source).toEqual({ pointer: '/password' })
      expect(errors[0]?.detail, password).toMatch(detail)
    }
    expect(await tokenValid(token)).toBe(true)
    expect((await reset(token, NEW_PASSWORD)).status).toBe(204)
  })

  it('lets a token live one hour (a clock we control): then token_valid is false and reset a 422', async () => {
    const ann = await person()
    const token = await resetToken(ann)
    const [row] = await db.select().from(passwordResets).where(eq(passwordResets.userId, ann.id))
    const expires = row!.expiresAt.getTime()
    expect(expires - row!.createdAt.getTime()).toBe(HOUR)
    vi.useFakeTimers({ now: expires - 1000, toFake: ['Date'] })
    expect(await tokenValid(token)).toBe(true)
    vi.setSystemTime(expires)
    expect(await tokenValid(token)).toBe(false)
    const errors = await expectErrors(await reset(token, NEW_PASSWORD), 422, 'VALIDATION_FAILED')
    expect(errors[0]?.source).toEqual({ pointer: '/token' })
    vi.useRealTimers()
    expect((await login(ann.email, STRONG_PASSWORD)).status).toBe(200)
  })

  it('answers 404 for an unknown token', async () => {
    await expectErrors(await reset('x'.repeat(43), NEW_PASSWORD), 404, 'NOT_FOUND')
  })

  it('keeps the reset token out of D1: only its hash is stored, never in jobs or audit events', async () => {
    const ann = await person()
    const token = await resetToken(ann)
    const [row] = await db.select().from(passwordResets).where(eq(passwordResets.userId, ann.id))
    expect(row!.tokenHash).toBe(await sha256(token))
    const { results } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
    ).all<{ name: string }>()
    for (const { name } of results) {
      if (name === 'email_outbox') continue
      const rows = await env.DB.prepare(`SELECT * FROM "${name}"`).all()
      expect(JSON.stringify(rows.results), name).not.toContain(token)
    }
  })
})

describe('POST /account/passwords/change', () => {
  it('changes the password (204): the other sessions end, the current one stays', async () => {
    const ann = await person()
    const current = await session(ann)
    const other = await session(ann)
    const res = await change(current, { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD })
    expect(res.status, await res.clone().text()).toBe(204)
    expect(await acts(current)).toBe(200)
    expect(await acts(other)).toBe(401)
    expect((await login(ann.email, STRONG_PASSWORD)).status).toBe(401)
    await session(ann, NEW_PASSWORD)
  })

  it('answers a wrong current password with 422 on /current_password, not 401, and keeps the session', async () => {
    const ann = await person()
    const current = await session(ann)
    const errors = await expectErrors(
      await change(current, { current_password: 'Wrong-Pass-1', new_password: NEW_PASSWORD }),
      422,
      'VALIDATION_FAILED',
    )
    expect(errors[0]?.source).toEqual({ pointer: '/current_password' })
    expect(await acts(current)).toBe(200)
    await session(ann)
  })

  it('refuses a weak new password with 422 on /new_password, and the old one stays', async () => {
    const ann = await person()
    const current = await session(ann)
    const errors = await expectErrors(
      await change(current, { current_password: STRONG_PASSWORD, new_password: 'weakling' }),
      422,
    )
    expect(errors[0]?.source).toEqual({ pointer: '/new_password' })
    await session(ann)
  })

  it('refuses missing fields and other names for them with 422', async () => {
    const ann = await person()
    const current = await session(ann)
    for (const body of [
      { current_password: STRONG_PASSWORD },
      { currentPassword: STRONG_PASSWORD, newPassword: NEW_PASSWORD },
      { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD, email: 'x@example.com' },
    ])
      await expectErrors(await change(current, body), 422, 'VALIDATION_FAILED')
    await session(ann)
  })

  it('answers 401 without credentials and 403 to root, which has no password', async () => {
    const body = { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD }
    await expectErrors(await change({}, body), 401, 'UNAUTHENTICATED')
    await expectErrors(await change({ ...ROOT, account: String(workspace.id) }, body), 403, 'FORBIDDEN')
  })
})
