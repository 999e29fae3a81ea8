import { env } from 'cloudflare:workers'
import { and, eq } from 'drizzle-orm'
import { describe, expect, it, vi } from 'vitest'
import { sha256 } from '../../src/auth/crypto'
import { apiTokens, auditEvents, memberships, serviceAccounts } from '../../src/db/schema'
import type { PrincipalCopy } from '../../src/domain/principals'
import { allScopes } from '../../src/domain/roles'
import { api, db, type Headers, post, seedCustomRole, seedUser, signIn } from '../support'
import { expectPaging, expectProblem, seedAdminAndMember, send } from '../support/rest'

type Account = {
  id: string
  username: string
  description?: string
  createdAt: string
  createdBy?: string
  updatedAt: string
  updatedBy?: string
}
type Key = { id: string; expiresAt?: string; createdAt: string; updatedAt: string }

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

let serial = 0
const createAccount = async (headers: Headers, body: Record<string, unknown> = {}) => {
  const res = await send('POST', '/org/service-accounts', headers, {
    username: `bot-${++serial}`,
    description: 'A robot',
    ...body,
  })
  expect(res.status).toBe(201)
  return res.json<Account>()
}

const createKey = async (headers: Headers, account: string, body: Record<string, unknown> = {}) => {
  const res = await send('POST', `/org/service-accounts/${account}/keys`, headers, body)
  expect(res.status).toBe(201)
  return res.json<Key & { key: string }>()
}

const accountRow = async (publicId: string) =>
  (await db.select().from(serviceAccounts).where(eq(serviceAccounts.publicId, publicId)))[0]

const copyOf = async (key: string) => env.SESSIONS.get<PrincipalCopy>(`principal:key:${await sha256(key)}`, 'json')

const asBearer = (key: string) => ({ Authorization: `Bearer ${key}` })
const asApiKey = (key: string) => ({ 'X-API-KEY': key })

describe('POST /org/service-accounts', () => {
  it('creates an account of the organization, MEMBER of the workspace in every scope by default', async () => {
    const { workspace, admin, headers } = await seedAdminAndMember()
    const res = await send('POST', '/org/service-accounts', headers, {
      username: 'ci-deploy-bot',
      description: ' Deploys from CI ',
    })
    expect(res.status).toBe(201)
    const account = await res.json<Account>()
    expect(account).toEqual({
      id: expect.stringMatching(/^[A-Z0-9]{10}$/),
      username: 'ci-deploy-bot',
      description: 'Deploys from CI',
      createdAt: expect.stringMatching(ISO),
      createdBy: admin.publicId,
      updatedAt: account.createdAt,
      updatedBy: admin.publicId,
    })
    const row = await accountRow(account.id)
    const [membership] = await db.select().from(memberships).where(eq(memberships.serviceAccountId, row!.id))
    expect(membership).toMatchObject({ workspaceId: workspace.id, role: 'MEMBER', scopeRoles: allScopes('MEMBER') })
    const [event] = await db.select().from(auditEvents).where(eq(auditEvents.targetId, account.id))
    expect(event).toMatchObject({ action: 'createServiceAccount', actorId: admin.publicId, outcome: 'success' })
    expect(event?.detail).toEqual({ username: 'ci-deploy-bot', role: 'MEMBER' })
  })

  it('grants a built-in role in any case, or a custom role of the workspace', async () => {
    const { workspace, headers } = await seedAdminAndMember()
    await seedCustomRole(workspace.id, 'DEPLOYER', 'DEVELOPER')
    for (const [given, stored] of [
      ['admin', 'ADMIN'],
      ['deployer', 'DEPLOYER'],
      ['VIEWER', 'GUEST'],
    ]) {
      const account = await createAccount(headers, { role: given })
      const [m] = await db
        .select({ role: memberships.role, scopeRoles: memberships.scopeRoles })
        .from(memberships)
        .innerJoin(serviceAccounts, eq(serviceAccounts.id, memberships.serviceAccountId))
        .where(eq(serviceAccounts.publicId, account.id))
      expect(m).toEqual({ role: stored, scopeRoles: allScopes(stored ?? '') })
    }
  })

  it('refuses invalid input with a problem naming the field, and creates nothing', async () => {
    const { org, headers } = await seedAdminAndMember()
    const ok = { username: 'fine', description: 'Fine' }
    const cases: [unknown, RegExp][] = [
      [{ description: 'x' }, /^username is required/],
      [{ ...ok, username: '' }, /^username must be 1 to 64/],
      [{ ...ok, username: 'CI-Bot' }, /^username must be/],
      [{ ...ok, username: '-bot' }, /^username must be/],
      [{ ...ok, username: 'bot bot' }, /^username must be/],
      [{ ...ok, username: 'b'.repeat(65) }, /^username must be/],
      [{ username: 'fine' }, /^description is required/],
      [{ ...ok, description: '' }, /^description cannot be empty/],
      [{ ...ok, description: 'two\nlines' }, /^description must be one line/],
      [{ ...ok, description: 'd'.repeat(257) }, /^description can't be longer than 256/],
      [{ ...ok, role: 'OWNER' }, /^Invalid role: OWNER\. Valid roles: ADMIN, MEMBER/],
      [{ ...ok, role: 'NO_ACCESS' }, /^Invalid role/],
      [{ ...ok, role: 7 }, /^role must be a string/],
      [{ ...ok, keys: [] }, /unknown field: keys/],
    ]
    for (const [body, message] of cases)
      await expectProblem(await send('POST', '/org/service-accounts', headers, body), 400, message)
    const username = await expectProblem(
      await send('POST', '/org/service-accounts', headers, { ...ok, username: 'Nope' }),
      400,
    )
    expect(username.errors?.[0]?.pointer).toBe('#/username')
    expect(await db.select().from(serviceAccounts).where(eq(serviceAccounts.organizationId, org.id))).toEqual([])
  })

  it('accepts 64-character usernames of a-z, 0-9, dots, dashes and underscores', async () => {
    const { headers } = await seedAdminAndMember()
    for (const username of ['a', `9${'x'.repeat(63)}`, 'ci.deploy_bot-2'])
      expect((await createAccount(headers, { username })).username).toBe(username)
  })

  it('answers 409 for a username the organization already uses, and allows it in another one', async () => {
    const { headers } = await seedAdminAndMember()
    const { headers: other } = await seedAdminAndMember()
    await createAccount(headers, { username: 'twin' })
    await expectProblem(
      await send('POST', '/org/service-accounts', headers, { username: 'twin', description: 'again' }),
      409,
      /twin/,
    )
    await createAccount(other, { username: 'twin' })
  })

  it('grants only roles the caller may assign in every scope', async () => {
    const { workspace } = await seedAdminAndMember()
    const lesser = await seedUser(workspace.id, 'ADMIN', {
      scopeRoles: { API: 'ADMIN', AGENTIC: 'MEMBER', ENDPOINT: 'ADMIN', DAST: 'ADMIN' },
    })
    const headers = await signIn(lesser, workspace.id)
    for (const role of ['ADMIN', 'THREAT_VIEWER'])
      await expectProblem(
        await send('POST', '/org/service-accounts', headers, {
          username: `too-high-${role.toLowerCase()}`,
          description: 'x',
          role,
        }),
        403,
        /AGENTIC scope/,
      )
    await createAccount(headers, { role: 'DEVELOPER' })
  })
})

describe('GET /org/service-accounts/{sa}', () => {
  it('describes an account of the organization', async () => {
    const { headers } = await seedAdminAndMember()
    const account = await createAccount(headers)
    const res = await send('GET', `/org/service-accounts/${account.id}`, headers)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(account)
  })

  it('refuses malformed ids with 400 and unknown ones with 404', async () => {
    const { headers } = await seedAdminAndMember()
    for (const bad of ['bot', 'abcdefghij', 'ABCDEFGHIJK'])
      expect(
        (await expectProblem(await send('GET', `/org/service-accounts/${bad}`, headers), 400, /sa/)).errors?.[0]
          ?.parameter,
      ).toBe('sa')
    await expectProblem(
      await send('GET', '/org/service-accounts/ZZZZZZZZZZ', headers),
      404,
      /Service account not found/,
    )
  })
})

describe('GET /org/service-accounts', () => {
  it("lists the organization's accounts by creation, paging with limit and a signed marker", async () => {
    const { headers } = await seedAdminAndMember()
    const { headers: other } = await seedAdminAndMember()
    const theirs = await createAccount(other)
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await createAccount(headers)).id)
    const first = ids[0] ?? ''
    for (let i = 0; i < 2; i++) await createKey(headers, first)
    const keysMarker = (
      await (await send('GET', `/org/service-accounts/${first}/keys?limit=1`, headers)).json<{ marker: string }>()
    ).marker
    await expectPaging('/org/service-accounts', headers, ids, keysMarker)
    expect(await (await send('GET', '/org/service-accounts', other)).json()).toEqual({ items: [theirs] })
  })

  it('answers an organization without accounts with no items and no marker', async () => {
    const { headers } = await seedAdminAndMember()
    for (const q of ['', '?limit=0', '?limit=3'])
      expect(await (await send('GET', `/org/service-accounts${q}`, headers)).json()).toEqual({ items: [] })
  })
})

describe('POST /org/service-accounts/{sa}/keys', () => {
  it('shows a 40-character key once, stores only its hash, and writes its principal copy at once', async () => {
    const { workspace, headers } = await seedAdminAndMember()
    const account = await createAccount(headers, { role: 'DEVELOPER' })
    const created = await createKey(headers, account.id)
    expect(created).toEqual({
      id: expect.stringMatching(/^[A-Z0-9]{10}$/),
      key: expect.stringMatching(/^[A-Za-z0-9]{40}$/),
      createdAt: expect.stringMatching(ISO),
      updatedAt: created.createdAt,
    })
    const [row] = await db.select().from(apiTokens).where(eq(apiTokens.publicId, created.id))
    expect(row).toMatchObject({
      workspaceId: workspace.id,
      userId: null,
      utility: 'EXTERNAL_API',
      keyHash: await sha256(created.key),
      keyPrefix: created.key.slice(0, 4),
      expiresAt: null,
    })
    expect(JSON.stringify(row)).not.toContain(created.key)
    const copy = await copyOf(created.key)
    expect(copy?.identity).toMatchObject({ kind: 'serviceAccount', serviceAccount: { publicId: account.id } })
    expect(copy?.workspace?.membership.role).toBe('DEVELOPER')
  })

  it('authenticates as the account with Authorization: Bearer and X-API-KEY, and GET /me says so', async () => {
    const { headers } = await seedAdminAndMember()
    const account = await createAccount(headers, { username: 'ci-deploy-bot', description: 'CI' })
    const { key } = await createKey(headers, account.id)
    for (const credential of [asBearer(key), asApiKey(key)]) {
      const res = await send('GET', '/me', credential)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ serviceAccount: account })
    }
  })

  it('takes an RFC 3339 expiry in the future, or none (no body: never expires), and refuses others naming expiresAt', async () => {
    const { headers } = await seedAdminAndMember()
    const account = await createAccount(headers)
    const later = new Date(Date.now() + 86_400_000)
    const withOffset = `${later.toISOString().slice(0, 19)}+00:00`
    const created = await createKey(headers, account.id, { expiresAt: withOffset })
    expect(created.expiresAt).toBe(`${later.toISOString().slice(0, 19)}.000Z`)
    expect((await copyOf(created.key))?.expiresAt).toBe(Date.parse(withOffset))
    for (const [body, message] of [
      [{ expiresAt: new Date(Date.now() - 1000).toISOString() }, /^expiresAt must be in the future/],
      [{ expiresAt: 'tomorrow' }, /^expiresAt must be a valid datetime/],
      [{ expiresAt: '2099-01-01' }, /^expiresAt must be a valid datetime/],
      [{ expiresAt: 1893456000000 }, /^expiresAt must be a string/],
      [{ ttl: 60 }, /unknown field: ttl/],
    ] as const) {
      const problem = await expectProblem(
        await send('POST', `/org/service-accounts/${account.id}/keys`, headers, body),
        400,
        message,
      )
      if (!('ttl' in body)) expect(problem.errors?.[0]?.pointer).toBe('#/expiresAt')
    }
    await expectProblem(
      await api(`/org/service-accounts/${account.id}/keys`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'text/plain' },
        body: JSON.stringify({ expiresAt: '2000-01-01T00:00:00Z' }),
      }),
      415,
    )
    const keys = await (await send('GET', `/org/service-accounts/${account.id}/keys`, headers)).json<{ items: Key[] }>()
    expect(keys.items.map((k) => k.id)).toEqual([created.id])
    const bare = await send('POST', `/org/service-accounts/${account.id}/keys`, headers)
    expect(bare.status).toBe(201)
    expect(await bare.json()).not.toHaveProperty('expiresAt')
  })

  it('stops an expired key: 401 on the next request after its expiry', async () => {
    const { headers } = await seedAdminAndMember()
    const account = await createAccount(headers)
    const { key, expiresAt } = await createKey(headers, account.id, {
      expiresAt: new Date(Date.now() + 2000).toISOString(),
    })
    // KV refuses TTLs under a minute: no copy is kept, D1 answers for the key.
    expect(await copyOf(key)).toBeNull()
    expect((await send('GET', '/me', asApiKey(key))).status).toBe(200)
    await vi.waitFor(
      async () => {
        expect(Date.now()).toBeGreaterThan(Date.parse(expiresAt ?? ''))
        await expectProblem(await send('GET', '/me', asApiKey(key)), 401, /Invalid API key/)
      },
      { timeout: 6000, interval: 250 },
    )
    await expectProblem(await send('GET', '/me', asBearer(key)), 401)
  })

  it('keys of an ADMIN account may call ADMIN-only dashboard actions; keys of a GUEST may not', async () => {
    const { headers } = await seedAdminAndMember()
    const admin = await createKey(headers, (await createAccount(headers, { role: 'ADMIN' })).id)
    const guest = await createKey(headers, (await createAccount(headers, { role: 'GUEST' })).id)
    const role = (name: string) => ({ roleName: name, baseRole: 'GUEST' })
    expect((await post('/api/createCustomRole', role('BOT_MADE'), asApiKey(admin.key))).status).toBe(200)
    expect((await post('/api/createCustomRole', role('BOT_MADE_2'), asBearer(admin.key))).status).toBe(200)
    const refused = await post('/api/createCustomRole', role('GUEST_MADE'), asApiKey(guest.key))
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ error: "The role 'GUEST' does not have access." })
    // A key may not mint keys, not even through a service account.
    for (const key of [admin.key, guest.key])
      await expectProblem(await send('GET', '/org/service-accounts', asApiKey(key)), 403, /API tokens cannot/)
    await expectProblem(
      await send('POST', '/org/service-accounts', asBearer(admin.key), { username: 'minted', description: 'x' }),
      403,
    )
  })

  it('refuses a key for an account whose role is above the caller in some scope', async () => {
    const { workspace, headers } = await seedAdminAndMember()
    const account = await createAccount(headers, { role: 'ADMIN' })
    const lesser = await signIn(
      await seedUser(workspace.id, 'ADMIN', { scopeRoles: { API: 'ADMIN', AGENTIC: 'MEMBER', DAST: 'ADMIN' } }),
      workspace.id,
    )
    await expectProblem(await send('POST', `/org/service-accounts/${account.id}/keys`, lesser, {}), 403)
    await expectProblem(await send('DELETE', `/org/service-accounts/${account.id}`, lesser), 403)
    expect(await (await send('GET', `/org/service-accounts/${account.id}/keys`, lesser)).json()).toEqual({ items: [] })
  })
})

describe('GET /org/service-accounts/{sa}/keys', () => {
  it("lists the account's keys by creation, never their secrets, paging with a marker", async () => {
    const { headers } = await seedAdminAndMember()
    const account = await createAccount(headers)
    const other = await createAccount(headers)
    await createKey(headers, other.id)
    const created = []
    for (let i = 0; i < 4; i++) created.push(await createKey(headers, account.id))
    const res = await send('GET', `/org/service-accounts/${account.id}/keys`, headers)
    const { items } = await res.json<{ items: Key[] }>()
    expect(items).toEqual(created.map(({ key: _secret, ...rest }) => rest))
    expect(JSON.stringify(items)).not.toMatch(/"key"/)
    const foreign = (
      await (await send('GET', `/org/service-accounts/${other.id}/keys?limit=0`, headers)).json<{ marker: string }>()
    ).marker
    await expectPaging(
      `/org/service-accounts/${account.id}/keys`,
      headers,
      created.map((k) => k.id),
      foreign,
    )
  })
})

describe('DELETE /org/service-accounts/{sa}/keys/{key}', () => {
  it('deletes the key, which answers 401 at once; the account’s other keys still work', async () => {
    const { headers } = await seedAdminAndMember()
    const account = await createAccount(headers)
    const doomed = await createKey(headers, account.id)
    const kept = await createKey(headers, account.id)
    expect((await send('GET', '/me', asBearer(doomed.key))).status).toBe(200)
    const res = await send('DELETE', `/org/service-accounts/${account.id}/keys/${doomed.id}`, headers)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(await copyOf(doomed.key)).toBeNull()
    await expectProblem(await send('GET', '/me', asBearer(doomed.key)), 401)
    await expectProblem(await send('GET', '/me', asApiKey(doomed.key)), 401)
    expect((await send('GET', '/me', asApiKey(kept.key))).status).toBe(200)
    await expectProblem(await send('DELETE', `/org/service-accounts/${account.id}/keys/${doomed.id}`, headers), 404)
    const events = await db.select().from(auditEvents).where(eq(auditEvents.targetId, doomed.id))
    expect(events.map((e) => [e.action, e.outcome])).toEqual([
      ['createServiceAccountKey', 'success'],
      ['deleteServiceAccountKey', 'success'],
    ])
  })

  it("answers 404 for another account's key, which keeps working", async () => {
    const { headers } = await seedAdminAndMember()
    const [one, two] = [await createAccount(headers), await createAccount(headers)]
    const key = await createKey(headers, two.id)
    await expectProblem(await send('DELETE', `/org/service-accounts/${one.id}/keys/${key.id}`, headers), 404, /Key/)
    await expectProblem(await send('DELETE', `/org/service-accounts/${one.id}/keys/bad-id`, headers), 400, /key/)
    expect((await send('GET', '/me', asApiKey(key.key))).status).toBe(200)
  })
})

describe('DELETE /org/service-accounts/{sa}', () => {
  it('deletes the account, its memberships and keys; the keys answer 401 at once', async () => {
    const { headers } = await seedAdminAndMember()
    const account = await createAccount(headers)
    const keys = [await createKey(headers, account.id), await createKey(headers, account.id)]
    const { id } = (await accountRow(account.id))!
    const res = await send('DELETE', `/org/service-accounts/${account.id}`, headers)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    for (const { key } of keys) {
      expect(await copyOf(key)).toBeNull()
      await expectProblem(await send('GET', '/me', asApiKey(key)), 401)
    }
    expect(await db.select().from(memberships).where(eq(memberships.serviceAccountId, id))).toEqual([])
    expect(await db.select().from(apiTokens).where(eq(apiTokens.serviceAccountId, id))).toEqual([])
    await expectProblem(await send('GET', `/org/service-accounts/${account.id}`, headers), 404)
    await expectProblem(await send('DELETE', `/org/service-accounts/${account.id}`, headers), 404)
  })
})

describe('who may call the service-account routes', () => {
  const routes = (sa: string, key: string): [string, string, unknown?][] => [
    ['GET', '/org/service-accounts'],
    ['POST', '/org/service-accounts', { username: 'intruder', description: 'x' }],
    ['GET', `/org/service-accounts/${sa}`],
    ['DELETE', `/org/service-accounts/${sa}`],
    ['GET', `/org/service-accounts/${sa}/keys`],
    ['POST', `/org/service-accounts/${sa}/keys`, {}],
    ['DELETE', `/org/service-accounts/${sa}/keys/${key}`],
  ]

  it('answers 401 without valid credentials on every route', async () => {
    for (const [method, path, body] of routes('A1B2C3D4E5', 'A1B2C3D4E5'))
      for (const headers of [{}, asBearer('x'.repeat(40)), asApiKey('y'.repeat(40))] as Headers[])
        expect((await expectProblem(await send(method, path, headers, body), 401)).code, `${method} ${path}`).toBe(
          'UNAUTHENTICATED',
        )
  })

  it('answers 403 to a MEMBER and a GUEST on every route, and changes nothing', async () => {
    const { workspace, headers, memberHeaders } = await seedAdminAndMember()
    const guest = await signIn(await seedUser(workspace.id, 'GUEST'), workspace.id)
    const account = await createAccount(headers)
    const key = await createKey(headers, account.id)
    for (const caller of [memberHeaders, guest])
      for (const [method, path, body] of routes(account.id, key.id))
        expect((await expectProblem(await send(method, path, caller, body), 403)).code, `${method} ${path}`).toBe(
          'FORBIDDEN',
        )
    expect(await (await send('GET', `/org/service-accounts/${account.id}`, headers)).json()).toEqual(account)
    const keys = await (await send('GET', `/org/service-accounts/${account.id}/keys`, headers)).json<{ items: Key[] }>()
    expect(keys.items.map((k) => k.id)).toEqual([key.id])
    expect((await send('GET', '/me', asApiKey(key.key))).status).toBe(200)
    const denied = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'manageServiceAccounts'), eq(auditEvents.outcome, 'denied')))
    expect(denied.length).toBeGreaterThanOrEqual(14)
  })

  it("answers 404 to another organization's ADMIN on every route naming an account or key, and changes nothing", async () => {
    const { headers } = await seedAdminAndMember()
    const { headers: stranger } = await seedAdminAndMember()
    const account = await createAccount(headers)
    const key = await createKey(headers, account.id)
    const theirs = await createAccount(stranger)
    for (const [method, path, body] of routes(account.id, key.id).filter(([, p]) => p !== '/org/service-accounts'))
      await expectProblem(await send(method, path, stranger, body), 404)
    // Their own account, but our key: still 404.
    await expectProblem(await send('DELETE', `/org/service-accounts/${theirs.id}/keys/${key.id}`, stranger), 404)

    expect(await (await send('GET', `/org/service-accounts/${account.id}`, headers)).json()).toEqual(account)
    const keys = await (await send('GET', `/org/service-accounts/${account.id}/keys`, headers)).json<{ items: Key[] }>()
    expect(keys.items.map((k) => k.id)).toEqual([key.id])
    expect((await send('GET', '/me', asBearer(key.key))).status).toBe(200)
    const listed = await (await send('GET', '/org/service-accounts', stranger)).json<{ items: Account[] }>()
    expect(listed.items.map((a) => a.id)).toEqual([theirs.id])
  })
})
