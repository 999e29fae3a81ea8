import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { newPublicId } from '../../src/auth/crypto'
import { logins } from '../../src/db/schema'
import {
  api,
  db,
  type Headers,
  nextIp,
  post,
  STRONG_PASSWORD,
  seedApiToken,
  seedSignedIn,
  seedUser,
  signIn,
} from '../support'
import { expectErrors, JSON_API } from '../support/jsonapi'

/** /account_sessions: one's own sessions, and an ADMIN's workspace, listed and ended. */

type Resource = {
  type: string
  id: string
  attributes: Record<string, unknown>
  relationships?: Record<string, { data: { type: string; id: string } }>
}
type Collection = {
  data: Resource[]
  included?: Resource[]
  meta: Record<string, unknown>
  links: Record<string, string>
}

/** A real sign-in from an address and a browser: the session's headers and its id. */
const signInFrom = async (email: string, ip: string, userAgent: string) => {
  const res = await post(
    '/auth/login',
    { email, password: STRONG_PASSWORD },
    { 'CF-Connecting-IP': ip, 'User-Agent': userAgent },
  )
  expect(res.status, await res.clone().text()).toBe(200)
  const headers = { Authorization: `Bearer ${(await res.json<{ token: string }>()).token}` }
  const [login] = await db.select().from(logins).where(eq(logins.remoteIp, ip))
  return { headers, id: login!.id }
}

const sessions = async (headers: Headers, query = '') => {
  const res = await api(`/account_sessions${query}`, { headers })
  expect(res.status, `${query}: ${await res.clone().text()}`).toBe(200)
  expect(res.headers.get('content-type')).toBe(JSON_API)
  return res.json<Collection>()
}
const end = (headers: Headers, id: string) => api(`/account_sessions/${id}`, { method: 'DELETE', headers })

/** Whether a session still acts, on each surface: 200, or 401 once it ended. */
const statuses = async (headers: Headers) => [
  (await api('/me', { headers })).status,
  (await post('/api/getTeamData', {}, headers)).status,
  (await api('/accounts', { headers })).status,
]

/** A workspace: an ADMIN and two members with passwords, each member signed in twice. */
const seedWorkspace = async () => {
  const admin = await seedSignedIn('ADMIN', { password: STRONG_PASSWORD })
  const ann = await seedUser(admin.workspace.id, 'MEMBER', { password: STRONG_PASSWORD, name: 'Ann' })
  const bob = await seedUser(admin.workspace.id, 'MEMBER', { password: STRONG_PASSWORD, name: 'Bob' })
  const annPhone = await signInFrom(ann.email, nextIp(), 'AnnPhone/1.0')
  const annLaptop = await signInFrom(ann.email, nextIp(), 'AnnLaptop/2.0 (Firefox)')
  const bobLaptop = await signInFrom(bob.email, nextIp(), 'BobLaptop/3.0')
  return { ...admin, ann, bob, annPhone, annLaptop, bobLaptop }
}

describe('GET /account_sessions', () => {
  it('lists a user their own live sessions, with their account as a relationship', async () => {
    const { ann, annPhone, annLaptop } = await seedWorkspace()
    const doc = await sessions(annPhone.headers)
    expect(doc.data.map((s) => s.id).sort()).toEqual([annPhone.id, annLaptop.id].sort())
    const phone = doc.data.find((s) => s.id === annPhone.id)
    expect(phone).toEqual({
      type: 'iam:account_sessions',
      id: annPhone.id,
      attributes: {
        account_id: ann.publicId,
        user_agent: 'AnnPhone/1.0',
        ip: expect.stringMatching(/^2001:db8:/),
        created_at: expect.stringMatching(/Z$/),
        last_used_at: expect.stringMatching(/Z$/),
        expires_at: expect.stringMatching(/Z$/),
      },
      relationships: { account: { data: { type: 'iam:accounts', id: ann.publicId } } },
    })
    expect(doc.meta).toEqual({})
    expect(doc.included).toBeUndefined()
  })

  it('lists an ADMIN every session of the workspace, and none of another organization', async () => {
    const { user, headers, ann, annPhone, annLaptop, bobLaptop } = await seedWorkspace()
    const other = await seedWorkspace()
    const doc = await sessions(headers, '?count=true')
    const ids = doc.data.map((s) => s.id)
    expect(ids).toEqual(expect.arrayContaining([annPhone.id, annLaptop.id, bobLaptop.id]))
    expect(ids).toHaveLength(4) // and the admin's own
    expect(doc.data.map((s) => s.attributes.account_id)).toContain(user.publicId)
    expect(doc.meta).toEqual({ count: 4, more: false })
    for (const id of [other.annPhone.id, other.bobLaptop.id]) expect(ids).not.toContain(id)
    expect((await sessions(headers, `?filter[account_id]=${ann.publicId}`)).data.map((s) => s.id).sort()).toEqual(
      [annPhone.id, annLaptop.id].sort(),
    )
    expect((await sessions(headers, `?filter[account_id]=${other.ann.publicId}`)).data).toEqual([])
  })

  it('includes the accounts with included[]=account, trimmed by their sparse fieldset', async () => {
    const { headers, user, ann, bob } = await seedWorkspace()
    const doc = await sessions(headers, '?included[]=account&fields[iam:accounts][]=email&fields[iam:accounts][]=name')
    expect(doc.included?.map((a) => a.id).sort()).toEqual([user.publicId, ann.publicId, bob.publicId].sort())
    for (const account of doc.included ?? []) {
      expect(account.type).toBe('iam:accounts')
      expect(Object.keys(account.attributes).sort()).toEqual(['email', 'name'])
    }
    for (const s of doc.data) expect(doc.included?.map((a) => a.id)).toContain(s.relationships?.account?.data.id)
    const comma = await sessions(
      headers,
      '?included=account&fields[iam:accounts]=email&fields[iam:account_sessions]=ip',
    )
    expect(comma.included?.find((a) => a.id === ann.publicId)?.attributes).toEqual({ email: ann.email })
    for (const s of comma.data) expect(Object.keys(s.attributes)).toEqual(['ip'])
  })

  it('filters by id, user_agent and ip, sorts, and pages with links', async () => {
    const { annPhone, annLaptop } = await seedWorkspace()
    const h = annPhone.headers
    expect((await sessions(h, `?filter[id]=${annLaptop.id}`)).data.map((s) => s.id)).toEqual([annLaptop.id])
    expect((await sessions(h, `?filter[id__in][]=${annLaptop.id}&filter[id__in][]=${annPhone.id}`)).data).toHaveLength(
      2,
    )
    expect((await sessions(h, '?filter[user_agent__match]=firefox')).data.map((s) => s.id)).toEqual([annLaptop.id])
    expect((await sessions(h, '?filter[user_agent]=AnnPhone/1.0')).data.map((s) => s.id)).toEqual([annPhone.id])
    const phoneIp = (await sessions(h, `?filter[id]=${annPhone.id}`)).data[0]?.attributes.ip as string
    expect((await sessions(h, `?filter[ip]=${encodeURIComponent(phoneIp)}`)).data.map((s) => s.id)).toEqual([
      annPhone.id,
    ])
    expect((await sessions(h, '?filter[ip__match]=2001:DB8')).data).toHaveLength(2)
    expect((await sessions(h, '?sort=-created_at')).data.map((s) => s.id)).toEqual([annLaptop.id, annPhone.id])
    const first = await sessions(h, '?page[size]=1&sort=created_at&count=true')
    expect(first.data.map((s) => s.id)).toEqual([annPhone.id])
    expect(first.meta).toEqual({ count: 2, more: true })
    const next = new URL(first.links.next!)
    const second = await sessions(h, next.search)
    expect(second.data.map((s) => s.id)).toEqual([annLaptop.id])
    expect(second.links.next).toBeUndefined()
  })

  it('refuses the hidden counters and anything unknown with 400 naming the parameter', async () => {
    const { annPhone } = await seedWorkspace()
    for (const [query, parameter] of [
      ['?filter[refresh_seq]=1', 'filter[refresh_seq]'],
      ['?filter[nonce]=1', 'filter[nonce]'],
      ['?filter[nonce__in]=1,2', 'filter[nonce__in]'],
      ['?filter[device_id]=x', 'filter[device_id]'],
      ['?sort=nonce', 'sort'],
      ['?sort=refresh_seq', 'sort'],
      ['?included[]=workspace', 'included'],
      ['?filter[created_at]=2026-01-01', 'filter[created_at]'],
      ['?page[size]=0', 'page[size]'],
    ] as const) {
      const errors = await expectErrors(await api(`/account_sessions${query}`, { headers: annPhone.headers }), 400)
      expect(errors[0]?.source).toEqual({ parameter })
    }
  })

  it('answers 401 without credentials', async () => {
    await expectErrors(await api('/account_sessions'), 401, 'UNAUTHENTICATED')
  })
})

describe('DELETE /account_sessions/{id}', () => {
  it('ends one of one’s own sessions: its token is refused on its next request, on every surface', async () => {
    const { annPhone, annLaptop } = await seedWorkspace()
    expect(await statuses(annLaptop.headers)).toEqual([200, 200, 200])
    const res = await end(annPhone.headers, annLaptop.id)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(await statuses(annLaptop.headers)).toEqual([401, 401, 401])
    expect(await statuses(annPhone.headers)).toEqual([200, 200, 200])
    expect((await sessions(annPhone.headers)).data.map((s) => s.id)).toEqual([annPhone.id])
    // The current session may end itself too.
    expect((await end(annPhone.headers, annPhone.id)).status).toBe(204)
    expect((await api('/me', { headers: annPhone.headers })).status).toBe(401)
  })

  it('answers 404 for another user’s session to a non-admin, and that session goes on', async () => {
    const { annPhone, bobLaptop } = await seedWorkspace()
    const hidden = await expectErrors(await end(annPhone.headers, bobLaptop.id), 404, 'NOT_FOUND')
    const missing = await expectErrors(await end(annPhone.headers, newPublicId()), 404, 'NOT_FOUND')
    expect(hidden).toEqual(missing)
    expect(await statuses(bobLaptop.headers)).toEqual([200, 200, 200])
  })

  it('lets an ADMIN end a member’s session in the workspace, and no session of another organization', async () => {
    const { user, headers, bobLaptop } = await seedWorkspace()
    const other = await seedWorkspace()
    expect((await end(headers, bobLaptop.id)).status).toBe(204)
    expect(await statuses(bobLaptop.headers)).toEqual([401, 401, 401])
    await expectErrors(await end(headers, other.bobLaptop.id), 404, 'NOT_FOUND')
    const [adminLogin] = await db.select().from(logins).where(eq(logins.userId, user.id))
    await expectErrors(await end(other.headers, adminLogin!.id), 404, 'NOT_FOUND')
    expect(await statuses(other.bobLaptop.headers)).toEqual([200, 200, 200])
    expect(await statuses(headers)).toEqual([200, 200, 200])
  })

  it('refuses a malformed id with 400 on the parameter', async () => {
    const { annPhone } = await seedWorkspace()
    const errors = await expectErrors(await end(annPhone.headers, 'not-an-id'), 400)
    expect(errors[0]?.source).toEqual({ parameter: 'id' })
  })
})

describe('disabling an account', () => {
  it('ends its sessions at once (gone from the list) and blocks its sign-in', async () => {
    const { headers, ann, annPhone } = await seedWorkspace()
    const res = await api(`/accounts/${ann.publicId}`, {
      method: 'PATCH',
      headers: { ...headers, 'Content-Type': JSON_API },
      body: JSON.stringify({ data: { type: 'iam:accounts', attributes: { enabled: false } } }),
    })
    expect(res.status, await res.clone().text()).toBe(200)
    expect((await sessions(headers, `?filter[account_id]=${ann.publicId}`)).data).toEqual([])
    expect(await statuses(annPhone.headers)).toEqual([401, 401, 401])
    const again = await post(
      '/auth/login',
      { email: ann.email, password: STRONG_PASSWORD },
      { 'CF-Connecting-IP': nextIp() },
    )
    expect(again.status).toBe(401)
    expect(await db.select().from(logins).where(eq(logins.userId, ann.id))).toEqual([])
  })

  it('keeps a fixture session of the same user from acting too', async () => {
    const { workspace, headers, ann } = await seedWorkspace()
    const fixture = await signIn(ann, workspace.id)
    const res = await api(`/accounts/${ann.publicId}`, { method: 'DELETE', headers })
    expect(res.status).toBe(204)
    expect(await statuses(fixture)).toEqual([401, 401, 401])
  })
})

describe('API tokens', () => {
  it('refuses an API token listing or ending sessions, as REST /me/logins does', async () => {
    const { workspace, user, headers } = await seedWorkspace()
    const { headers: key } = await seedApiToken(workspace.id, { userId: user.id })
    expect((await api('/me/logins', { headers: key })).status).toBe(403)
    const [adminLogin] = await db.select().from(logins).where(eq(logins.userId, user.id))
    const ended = await end(key, adminLogin!.id)
    expect(await statuses(headers)).toEqual([200, 200, 200])
    await expectErrors(ended, 403, 'FORBIDDEN')
    await expectErrors(await api('/account_sessions', { headers: key }), 403, 'FORBIDDEN')
  })
})
