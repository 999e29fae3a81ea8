import { env } from 'cloudflare:workers'
import { and, count, eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { newPublicId } from '../../src/auth/crypto'
import { auditEvents, logins, memberships, organizations, users, workspaces } from '../../src/db/schema'
import type { PrincipalCopy } from '../../src/domain/principals'
import { db, expectRpcError, post, seedApiToken, seedSignedIn, seedUser, signIn } from '../support'

type Entry = { id: number; login: string; role: string }
type Failure = { error: string; actionErrors: string[] }

/** Another workspace in an existing organization (ids count up, like the real ones). */
const addWorkspace = async (organizationId: number, name = `WS ${newPublicId()}`) => {
  const [ws] = await db
    .insert(workspaces)
    .values({ id: sql`(SELECT coalesce(max(id), 999999) + 1 FROM workspaces)`, organizationId, name })
    .returning()
  return ws!
}

const teamOf = async (headers: Record<string, string>, scope?: string) => {
  const res = await post('/api/getTeamData', {}, scope ? { ...headers, 'x-context-source': scope } : headers)
  expect(res.status).toBe(200)
  return res.json<Entry[]>()
}

const loginOf = async (userId: number) => {
  const rows = await db.select().from(logins).where(eq(logins.userId, userId))
  expect(rows).toHaveLength(1)
  return rows[0]!
}

const workspaceCount = async (organizationId: number) => {
  const [row] = await db.select({ n: count() }).from(workspaces).where(eq(workspaces.organizationId, organizationId))
  return row?.n ?? 0
}

describe('POST /api/createNewAccount', () => {
  it('creates a workspace with the real new id and the caller as ADMIN on every scope', async () => {
    const { org, workspace, user, headers } = await seedSignedIn('ADMIN')
    const res = await post('/api/createNewAccount', { newAccountName: 'Staging' }, headers)
    expect(res.status).toBe(200)
    const body = await res.json<{ newAccountId: number; newAccountName: string }>()
    expect(body).toEqual({ newAccountId: expect.any(Number), newAccountName: 'Staging' })
    expect(body.newAccountId).toBeGreaterThan(workspace.id)

    const [created] = await db.select().from(workspaces).where(eq(workspaces.id, body.newAccountId))
    expect(created).toMatchObject({ organizationId: org.id, name: 'Staging' })
    const rows = await db.select().from(memberships).where(eq(memberships.workspaceId, body.newAccountId))
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({
      userId: user.id,
      role: 'ADMIN',
      scopeRoles: { API: 'ADMIN', AGENTIC: 'ADMIN', ENDPOINT: 'ADMIN', DAST: 'ADMIN' },
    })
  })

  it('switches the session to the new workspace, where the caller is alone', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    await seedUser(workspace.id, 'MEMBER')
    expect(await teamOf(headers)).toHaveLength(2)

    const res = await post('/api/createNewAccount', { newAccountName: 'Sandbox' }, headers)
    const { newAccountId } = await res.json<{ newAccountId: number }>()
    expect((await loginOf(user.id)).workspaceId).toBe(newAccountId)
    for (const scope of ['API', 'AGENTIC', 'ENDPOINT', 'DAST']) {
      const team = await teamOf(headers, scope)
      expect(team).toEqual([expect.objectContaining({ id: user.id, login: user.email, role: 'ADMIN' })])
    }
  })

  it('trims the name it stores', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const res = await post('/api/createNewAccount', { newAccountName: '  Prod  ' }, headers)
    expect(res.status).toBe(200)
    const body = await res.json<{ newAccountId: number; newAccountName: string }>()
    expect(body.newAccountName).toBe('Prod')
    const [created] = await db.select().from(workspaces).where(eq(workspaces.id, body.newAccountId))
    expect(created?.name).toBe('Prod')
  })

  it("rejects an empty name with 400 `Account name can't be empty` and creates nothing", async () => {
    const { org, headers } = await seedSignedIn('ADMIN')
    for (const newAccountName of ['', '   ']) {
      await expectRpcError(
        await post('/api/createNewAccount', { newAccountName }, headers),
        400,
        "Account name can't be empty",
      )
    }
    await expectRpcError(await post('/api/createNewAccount', {}, headers), 400, /newAccountName/)
    expect(await workspaceCount(org.id)).toBe(1)
  })

  it('refuses a user who already belongs to MAX_WORKSPACES_PER_USER workspaces, creating nothing', async () => {
    expect(env.MAX_WORKSPACES_PER_USER).toBe('11')
    const { org, user, headers } = await seedSignedIn('ADMIN')
    for (let i = 0; i < 10; i++) {
      const ws = await addWorkspace(org.id)
      await db.insert(memberships).values({ workspaceId: ws.id, userId: user.id, role: 'GUEST' })
    }
    const before = await workspaceCount(org.id)
    expect(before).toBe(11)
    const res = await post('/api/createNewAccount', { newAccountName: 'Twelfth' }, headers)
    expect(res.status).toBe(400)
    const body = await res.json<Failure>()
    expect(body.error).toMatch(/11/)
    expect(body.actionErrors).toEqual([body.error])
    expect(await workspaceCount(org.id)).toBe(before)
    const [held] = await db.select({ n: count() }).from(memberships).where(eq(memberships.userId, user.id))
    expect(held?.n).toBe(11)
  })

  it('lets a user with ten workspaces create the eleventh', async () => {
    const { org, user, headers } = await seedSignedIn('ADMIN')
    for (let i = 0; i < 9; i++) {
      const ws = await addWorkspace(org.id)
      await db.insert(memberships).values({ workspaceId: ws.id, userId: user.id, role: 'GUEST' })
    }
    const res = await post('/api/createNewAccount', { newAccountName: 'Eleventh' }, headers)
    expect(res.status).toBe(200)
    expect(await workspaceCount(org.id)).toBe(11)
  })

  it('refuses a MEMBER with 403 and creates nothing', async () => {
    const { org, headers } = await seedSignedIn('MEMBER')
    await expectRpcError(
      await post('/api/createNewAccount', { newAccountName: 'Nope' }, headers),
      403,
      "The role 'SECURITY ENGINEER' does not have access.",
    )
    expect(await workspaceCount(org.id)).toBe(1)
  })

  it('records an audit event for the creation', async () => {
    const { org, user, headers } = await seedSignedIn('ADMIN')
    const res = await post('/api/createNewAccount', { newAccountName: 'Audited' }, headers)
    expect(res.status).toBe(200)
    const events = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'createWorkspace'), eq(auditEvents.actorId, user.publicId)))
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      actorType: 'user',
      outcome: 'success',
      targetType: 'workspace',
      organizationId: org.id,
    })
  })
})

describe('POST /api/goToAccount', () => {
  /** A signed-in ADMIN of workspace A who is also a MEMBER of workspace B, with a teammate there. */
  const twoWorkspaces = async () => {
    const seeded = await seedSignedIn('ADMIN')
    const other = await addWorkspace(seeded.org.id, 'Other')
    await db.insert(memberships).values({ workspaceId: other.id, userId: seeded.user.id, role: 'MEMBER' })
    const teammate = await seedUser(other.id, 'DEVELOPER')
    return { ...seeded, other, teammate }
  }

  it("switches to a workspace the caller belongs to: the next getTeamData shows that workspace's team", async () => {
    const { user, headers, other, teammate } = await twoWorkspaces()
    expect((await teamOf(headers)).map((e) => e.login)).toEqual([user.email])

    const res = await post('/api/goToAccount', { newAccountId: other.id }, headers)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({})

    const team = await teamOf(headers)
    expect(team.map((e) => e.login).sort()).toEqual([user.email, teammate.email].sort())
    expect(team.find((e) => e.id === user.id)?.role).toBe('MEMBER')
  })

  it('persists the switch in D1 logins.workspace_id and in the principal copy in KV', async () => {
    const { user, headers, other } = await twoWorkspaces()
    await post('/api/goToAccount', { newAccountId: other.id }, headers)
    const login = await loginOf(user.id)
    expect(login.workspaceId).toBe(other.id)
    const copy = await env.SESSIONS.get<PrincipalCopy>(`principal:login:${login.id}`, 'json')
    expect(copy?.identity).toMatchObject({ kind: 'user', user: { id: user.id } })
    expect(copy?.workspace).toMatchObject({ id: other.id })
  })

  it('records an audit event for the switch', async () => {
    const { user, headers, other } = await twoWorkspaces()
    await post('/api/goToAccount', { newAccountId: other.id }, headers)
    const events = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'switchWorkspace'), eq(auditEvents.actorId, user.publicId)))
    expect(events).toEqual([expect.objectContaining({ outcome: 'success', targetId: String(other.id) })])
  })

  it('answers 404 for a workspace of another organization and does not switch', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    const foreign = await seedSignedIn('ADMIN')
    await expectRpcError(
      await post('/api/goToAccount', { newAccountId: foreign.workspace.id }, headers),
      404,
      'Account not found',
    )
    expect((await loginOf(user.id)).workspaceId).toBe(workspace.id)
    expect((await teamOf(headers)).map((e) => e.login)).toEqual([user.email])
  })

  it('answers 404 for a workspace of its own organization that the caller does not belong to', async () => {
    const { org, workspace, user, headers } = await seedSignedIn('ADMIN')
    const notMine = await addWorkspace(org.id)
    await expectRpcError(
      await post('/api/goToAccount', { newAccountId: notMine.id }, headers),
      404,
      'Account not found',
    )
    expect((await loginOf(user.id)).workspaceId).toBe(workspace.id)
  })

  it('answers 404 for a workspace id that does not exist and does not switch', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    await expectRpcError(
      await post('/api/goToAccount', { newAccountId: 987_654_321 }, headers),
      404,
      'Account not found',
    )
    expect((await loginOf(user.id)).workspaceId).toBe(workspace.id)
  })

  it('rejects a non-integer id with 400', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    for (const newAccountId of ['abc', 1.5, String(workspace.id), null]) {
      await expectRpcError(await post('/api/goToAccount', { newAccountId }, headers), 400, /newAccountId/)
    }
    await expectRpcError(await post('/api/goToAccount', {}, headers), 400, /newAccountId/)
    expect((await loginOf(user.id)).workspaceId).toBe(workspace.id)
  })

  it('refuses an API token caller with 400: a token is bound to its workspace', async () => {
    const { workspace, user, other } = await twoWorkspaces()
    const { headers } = await seedApiToken(workspace.id, { userId: user.id })
    const res = await post('/api/goToAccount', { newAccountId: other.id }, headers)
    expect(res.status).toBe(400)
    const body = await res.json<Failure>()
    expect(body.error).toMatch(/API token/)
    expect(body.actionErrors).toEqual([body.error])
  })
})

describe('POST /api/updateUsernameAndOrganization', () => {
  const nameOf = async (userId: number) =>
    (await db.select({ n: users.displayName }).from(users).where(eq(users.id, userId)))[0]?.n
  const orgNameOf = async (orgId: number) =>
    (await db.select({ n: organizations.name }).from(organizations).where(eq(organizations.id, orgId)))[0]?.n

  it('lets a GUEST rename themselves and ignores the organization they send', async () => {
    const { org, user, headers } = await seedSignedIn('GUEST')
    const res = await post(
      '/api/updateUsernameAndOrganization',
      { username: 'Gus Renamed', organization: 'Hijacked Org' },
      headers,
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({})
    expect(await nameOf(user.id)).toBe('Gus Renamed')
    expect(await orgNameOf(org.id)).toBe(org.name)
  })

  it('ignores even an invalid organization from a non-admin', async () => {
    const { org, user, headers } = await seedSignedIn('MEMBER')
    const res = await post('/api/updateUsernameAndOrganization', { username: 'Mia', organization: 'bad!org' }, headers)
    expect(res.status).toBe(200)
    expect(await nameOf(user.id)).toBe('Mia')
    expect(await orgNameOf(org.id)).toBe(org.name)
  })

  it('lets an ADMIN rename both, trimmed', async () => {
    const { org, user, headers } = await seedSignedIn('ADMIN')
    const res = await post(
      '/api/updateUsernameAndOrganization',
      { username: '  Ada_Admin-2  ', organization: ' Acme & Co. ' },
      headers,
    )
    expect(res.status).toBe(200)
    expect(await nameOf(user.id)).toBe('Ada_Admin-2')
    expect(await orgNameOf(org.id)).toBe('Acme & Co.')
  })

  it('rejects bad usernames with the dashboard messages and saves nothing', async () => {
    const { org, user, headers } = await seedSignedIn('GUEST', { name: 'Original' })
    const cases: [string, string][] = [
      ['', 'Username cannot be empty'],
      ['   ', 'Username cannot be empty'],
      ['bad!name', 'Username is not valid'],
      ['a.b', 'Username is not valid'],
      ['a'.repeat(25), "Username can't be longer than 24 characters"],
    ]
    for (const [username, message] of cases) {
      await expectRpcError(await post('/api/updateUsernameAndOrganization', { username }, headers), 400, message)
    }
    expect(await nameOf(user.id)).toBe('Original')
    expect(await orgNameOf(org.id)).toBe(org.name)
  })

  it('accepts a username of exactly 24 characters', async () => {
    const { user, headers } = await seedSignedIn('GUEST')
    const res = await post('/api/updateUsernameAndOrganization', { username: 'a'.repeat(24) }, headers)
    expect(res.status).toBe(200)
    expect(await nameOf(user.id)).toBe('a'.repeat(24))
  })

  it('rejects bad organizations from an ADMIN with the dashboard messages', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const cases: [string | undefined, string][] = [
      [undefined, 'Organization cannot be empty'],
      ['', 'Organization cannot be empty'],
      ['  ', 'Organization cannot be empty'],
      ['bad!org', 'Organization is not valid'],
      ['o'.repeat(25), "Organization name can't be longer than 24 characters"],
    ]
    for (const [organization, message] of cases) {
      await expectRpcError(
        await post('/api/updateUsernameAndOrganization', { username: 'Ada', organization }, headers),
        400,
        message,
      )
    }
  })

  it('does not save the username when the organization is invalid', async () => {
    const { org, user, headers } = await seedSignedIn('ADMIN', { name: 'Before' })
    for (const organization of ['bad!org', '', 'o'.repeat(25)]) {
      const res = await post('/api/updateUsernameAndOrganization', { username: 'After', organization }, headers)
      expect(res.status).toBe(400)
    }
    expect(await nameOf(user.id)).toBe('Before')
    expect(await orgNameOf(org.id)).toBe(org.name)
  })

  it('refuses NO_ACCESS with 403 and saves nothing', async () => {
    const { user, headers } = await seedSignedIn('MEMBER', { scopeRoles: { AGENTIC: 'ADMIN' }, name: 'Blocked' })
    await expectRpcError(
      await post('/api/updateUsernameAndOrganization', { username: 'Sneaky' }, headers),
      403,
      /You do not have access to this product/,
    )
    expect(await nameOf(user.id)).toBe('Blocked')
  })

  it('uses the role of the request scope: an ADMIN only in AGENTIC renames the organization there', async () => {
    const { org, workspace } = await seedSignedIn('ADMIN')
    const scoped = await seedUser(workspace.id, 'MEMBER', { scopeRoles: { API: 'GUEST', AGENTIC: 'ADMIN' } })
    const headers = await signIn(scoped, workspace.id)
    await post('/api/updateUsernameAndOrganization', { username: 'Scoped', organization: 'Not Renamed' }, headers)
    expect(await orgNameOf(org.id)).toBe(org.name)
    const res = await post(
      '/api/updateUsernameAndOrganization',
      { username: 'Scoped', organization: 'Renamed' },
      { ...headers, 'x-context-source': 'AGENTIC' },
    )
    expect(res.status).toBe(200)
    expect(await orgNameOf(org.id)).toBe('Renamed')
  })
})
