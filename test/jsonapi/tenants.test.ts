import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { newPublicId } from '../../src/auth/crypto'
import { logins, memberships, users } from '../../src/db/schema'
import { api, db, expectRpcError, type Headers, nextIp, post, ROOT, STRONG_PASSWORD } from '../support'
import { send } from '../support/jsonapi'
import { mailsTo, tokenIn } from '../support/outbox'

/**
 * Two customers side by side, onboarded by an operator without touching the database: root
 * creates each organization, invites its first ADMIN, who joins by the emailed link and sets a
 * password, then invites a member. Neither organization sees the other on any surface, and their
 * ids are 404s to each other.
 */

type Resource = { type: string; id: string; attributes: Record<string, unknown> }
type Doc = { data: Resource; meta?: Record<string, unknown> }
type Collection = { data: Resource[]; included?: Resource[]; meta: { count?: number } }

const ok = async <T>(res: Response, status = 200): Promise<T> => {
  const text = await res.clone().text()
  expect(res.status, text).toBe(status)
  return (text ? res.json() : undefined) as Promise<T>
}
const signInAs = async (email: string, password = STRONG_PASSWORD): Promise<Headers> => {
  const body = await ok<{ token: string }>(
    await post('/auth/login', { email, password }, { 'CF-Connecting-IP': nextIp(), 'User-Agent': `ua-${email}` }),
  )
  return { Authorization: `Bearer ${body.token}` }
}
const account = (email: string, name: string, role_name: string) => ({
  data: { type: 'iam:accounts', attributes: { email, name, role_name } },
})

/** The operator's onboarding of one customer, then its ADMIN's first invitation and a team. */
const onboard = async (label: string, adminJoinsWithPassword: boolean) => {
  const domain = `${label.toLowerCase().replaceAll(' ', '-')}-${newPublicId().toLowerCase()}.test`
  const created = await ok<Doc>(
    await send('POST', '/organizations', ROOT, { data: { type: 'iam:organizations', attributes: { name: label } } }),
    201,
  )
  const workspaceId = created.meta?.first_workspace_id as number
  expect(workspaceId).toEqual(expect.any(Number))

  // Root invites the first ADMIN into that workspace; they join by the emailed link.
  const adminEmail = `admin@${domain}`
  const invited = await ok<Doc>(
    await send('POST', '/accounts', { ...ROOT, account: String(workspaceId) }, account(adminEmail, 'Admin', 'ADMIN')),
    201,
  )
  const adminToken = tokenIn((await mailsTo(adminEmail))[0]!)
  if (adminJoinsWithPassword) {
    await ok(await send('PATCH', `/accounts/${adminToken}/join`, {}, { password: STRONG_PASSWORD }))
  } else {
    const joined = await ok<Doc>(await send('PATCH', `/accounts/${adminToken}/join`, {}, {}))
    const reset = await post('/account/passwords/reset', {
      token: joined.meta?.password_reset_token,
      password: STRONG_PASSWORD,
    })
    expect(reset.status).toBe(204)
  }
  const admin = await signInAs(adminEmail)

  // The new ADMIN invites a member, who joins with a password.
  const memberEmail = `member@${domain}`
  const member = await ok<Doc>(await send('POST', '/accounts', admin, account(memberEmail, 'Member', 'MEMBER')), 201)
  await ok(
    await send(
      'PATCH',
      `/accounts/${tokenIn((await mailsTo(memberEmail))[0]!)}/join`,
      {},
      { password: STRONG_PASSWORD },
    ),
  )
  const memberHeaders = await signInAs(memberEmail)

  const team = await ok<{ id: string }>(await post('/org/teams', { name: `${label} team` }, admin), 201)
  const sessions = await db
    .select({ id: logins.id })
    .from(logins)
    .innerJoin(users, eq(users.id, logins.userId))
    .where(eq(logins.workspaceId, workspaceId))
  return {
    label,
    domain,
    org: created.data,
    workspaceId,
    admin: { headers: admin, id: invited.data.id, email: adminEmail },
    member: { headers: memberHeaders, id: member.data.id, email: memberEmail },
    team,
    sessionIds: sessions.map((s) => s.id),
  }
}

const a = await onboard('Tenant A', false)
const b = await onboard('Tenant B', true)
type Tenant = typeof a
const PAIRS: [Tenant, Tenant][] = [
  [a, b],
  [b, a],
]

const idsOf = (doc: Collection) => doc.data.map((r) => r.id)

describe('onboarding by an operator', () => {
  it('gave each organization a working ADMIN and member, with their own sessions', async () => {
    for (const t of [a, b]) {
      const me = await ok<{ user: { id: string } }>(await api('/me', { headers: t.admin.headers }))
      expect(me.user.id).toBe(t.admin.id)
      const doc = await ok<Collection>(await api('/accounts?sort=email', { headers: t.admin.headers }))
      expect(idsOf(doc)).toEqual([t.admin.id, t.member.id])
      expect(doc.data.map((r) => [r.attributes.role_name, r.attributes.joined_at === null])).toEqual([
        ['ADMIN', false],
        ['MEMBER', false],
      ])
      expect(t.sessionIds).toHaveLength(2)
    }
    const orgs = await ok<Collection>(await api('/organizations', { headers: ROOT }))
    expect(idsOf(orgs)).toEqual(expect.arrayContaining([a.org.id, b.org.id]))
  })
})

describe('JSON:API', () => {
  it('lists only one’s own organization’s accounts, whatever the filter', async () => {
    for (const [me, other] of PAIRS) {
      for (const h of [me.admin.headers, me.member.headers]) {
        for (const query of [
          `?filter[id]=${other.admin.id}`,
          `?filter[id__in]=${other.admin.id},${other.member.id}`,
          `?filter[email]=${other.member.email}`,
          `?filter[email__match]=${other.domain}`,
          `?filter[name__match]=Admin&filter[email__match]=${other.domain}`,
        ])
          expect(idsOf(await ok<Collection>(await api(`/accounts${query}`, { headers: h })))).toEqual([])
      }
      const all = await ok<Collection>(await api('/accounts?count=true', { headers: me.admin.headers }))
      expect(all.meta.count).toBe(2)
      expect(idsOf(all)).not.toContain(other.admin.id)
    }
  })

  it('answers 404 for the other’s accounts: show, update, delete and resend', async () => {
    for (const [me, other] of PAIRS) {
      for (const id of [other.admin.id, other.member.id]) {
        for (const h of [me.admin.headers, me.member.headers])
          expect((await api(`/accounts/${id}`, { headers: h })).status).toBe(404)
        const h = me.admin.headers
        const patch = { data: { type: 'iam:accounts', attributes: { name: 'Taken' } } }
        expect((await send('PATCH', `/accounts/${id}`, h, patch)).status).toBe(404)
        expect(
          (
            await send('PATCH', `/accounts/${id}`, h, {
              data: { type: 'iam:accounts', attributes: { enabled: false } },
            })
          ).status,
        ).toBe(404)
        expect((await send('DELETE', `/accounts/${id}`, h)).status).toBe(404)
        expect((await send('POST', `/accounts/${id}/resend_invitation`, h)).status).toBe(404)
      }
    }
    for (const t of [a, b]) {
      const { data } = await ok<Doc>(await api(`/accounts/${t.member.id}`, { headers: t.admin.headers }))
      expect(data.attributes).toMatchObject({ name: 'Member', enabled: true })
    }
  })

  it('shows each only its own organization; the other’s is a 404 to read, rename or delete', async () => {
    for (const [me, other] of PAIRS) {
      for (const h of [me.admin.headers, me.member.headers]) {
        expect(idsOf(await ok<Collection>(await api('/organizations', { headers: h })))).toEqual([me.org.id])
        expect((await api(`/organizations/${other.org.id}`, { headers: h })).status).toBe(404)
        expect(
          idsOf(await ok<Collection>(await api(`/organizations?filter[id]=${other.org.id}`, { headers: h }))),
        ).toEqual([])
      }
      const rename = { data: { type: 'iam:organizations', attributes: { name: 'Taken' } } }
      expect((await send('PATCH', `/organizations/${other.org.id}`, me.admin.headers, rename)).status).toBe(404)
      expect((await send('DELETE', `/organizations/${other.org.id}`, me.admin.headers)).status).toBe(404)
    }
    for (const t of [a, b]) {
      const { data } = await ok<Doc>(await api(`/organizations/${t.org.id}`, { headers: ROOT }))
      expect(data.attributes.name).toBe(t.label)
    }
  })

  it('lists only one’s own sessions and accounts in /account_sessions; the other’s are a 404 to end', async () => {
    for (const [me, other] of PAIRS) {
      const doc = await ok<Collection>(await api('/account_sessions?included[]=account', { headers: me.admin.headers }))
      expect(idsOf(doc).sort()).toEqual([...me.sessionIds].sort())
      expect(doc.included?.map((r) => r.id).sort()).toEqual([me.admin.id, me.member.id].sort())
      expect(
        idsOf(
          await ok<Collection>(
            await api(`/account_sessions?filter[account_id]=${other.member.id}`, { headers: me.admin.headers }),
          ),
        ),
      ).toEqual([])
      for (const id of other.sessionIds)
        expect((await send('DELETE', `/account_sessions/${id}`, me.admin.headers)).status).toBe(404)
    }
    for (const t of [a, b]) {
      expect((await api('/me', { headers: t.admin.headers })).status).toBe(200)
      expect((await api('/me', { headers: t.member.headers })).status).toBe(200)
    }
  })
})

describe('REST', () => {
  it('lists only one’s own people and teams, and answers 404 for the other’s', async () => {
    for (const [me, other] of PAIRS) {
      const people = await ok<{ items: { id: string }[] }>(await api('/org/users', { headers: me.admin.headers }))
      expect(people.items.map((u) => u.id).sort()).toEqual([me.admin.id, me.member.id].sort())
      for (const id of [other.admin.id, other.member.id])
        expect((await api(`/org/users/${id}`, { headers: me.admin.headers })).status).toBe(404)
      const teams = await ok<{ items: { id: string }[] }>(await api('/org/teams', { headers: me.admin.headers }))
      expect(teams.items.map((t) => t.id)).toEqual([me.team.id])
      expect((await api(`/org/teams/${other.team.id}`, { headers: me.admin.headers })).status).toBe(404)
    }
  })
})

describe('RPC', () => {
  it('shows only one’s own team in getTeamData', async () => {
    for (const [me, other] of PAIRS) {
      const team = await ok<{ login: string }[]>(await post('/api/getTeamData', {}, me.admin.headers))
      expect(team.map((e) => e.login).sort()).toEqual([me.admin.email, me.member.email].sort())
      expect(JSON.stringify(team)).not.toContain(other.domain)
    }
  })

  it('answers makeAdmin on the other’s user with 404 and removeUser with 400, changing nothing', async () => {
    for (const [me, other] of PAIRS) {
      await expectRpcError(
        await post('/api/makeAdmin', { email: other.member.email, userRole: 'ADMIN' }, me.admin.headers),
        404,
        /not found/i,
      )
      await expectRpcError(
        await post('/api/removeUser', { email: other.member.email }, me.admin.headers),
        400,
        /not found/i,
      )
      await expectRpcError(
        await post('/api/removeUser', { email: other.admin.email }, me.admin.headers),
        400,
        /not found/i,
      )
    }
    for (const t of [a, b]) {
      const [row] = await db
        .select({ role: memberships.role, scopeRoles: memberships.scopeRoles })
        .from(memberships)
        .innerJoin(users, eq(users.id, memberships.userId))
        .where(and(eq(users.email, t.member.email), eq(memberships.workspaceId, t.workspaceId)))
      expect(row?.scopeRoles).toMatchObject({ API: 'MEMBER' })
      expect((await post('/api/getTeamData', {}, t.member.headers)).status).toBe(200)
    }
  })
})
