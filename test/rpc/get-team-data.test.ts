import { describe, expect, it } from 'vitest'
import { auditEvents, invitations } from '../../src/db/schema'
import { allScopes } from '../../src/domain/roles'
import { api, db, post, seedApiToken, seedCustomRole, seedSignedIn, seedUser, signIn } from '../support'

type Entry = {
  id: number
  login: string
  name: string
  role: string
  scopeRoleMapping?: object
  isInvitation?: boolean
}

const { workspace, user: admin, headers } = await seedSignedIn('ADMIN', { name: 'Ada Admin' })
const dev = await seedUser(workspace.id, 'DEVELOPER', { name: 'Dev' })
const scoped = await seedUser(workspace.id, 'MEMBER', { scopeRoles: { API: 'GUEST', AGENTIC: 'ADMIN' } })
await db.insert(invitations).values([
  {
    workspaceId: workspace.id,
    email: 'new@example.com',
    scopeRoles: { API: 'DEVELOPER', AGENTIC: 'GUEST' },
    issuerUserId: admin.id,
    codeHash: 'hash-1',
    expiresAt: new Date(Date.now() + 86_400_000),
  },
  {
    workspaceId: workspace.id,
    email: dev.email,
    scopeRoles: { API: 'GUEST' },
    issuerUserId: admin.id,
    codeHash: 'hash-2',
    expiresAt: new Date(Date.now() + 86_400_000),
  },
])

describe('POST /api/getTeamData', () => {
  it('lists members with their role in the current scope, then pending invitations', async () => {
    const res = await post('/api/getTeamData', {}, headers)
    expect(res.status).toBe(200)
    const team = await res.json<Entry[]>()
    expect(team).toEqual([
      { id: admin.id, login: admin.email, name: 'Ada Admin', role: 'ADMIN', scopeRoleMapping: allScopes('ADMIN') },
      { id: dev.id, login: dev.email, name: 'Dev', role: 'DEVELOPER', scopeRoleMapping: allScopes('DEVELOPER') },
      {
        id: scoped.id,
        login: scoped.email,
        name: expect.any(String),
        role: 'GUEST',
        scopeRoleMapping: { API: 'GUEST', AGENTIC: 'ADMIN' },
      },
      {
        id: admin.id,
        login: 'new@example.com',
        name: '-',
        role: 'Invitation sent for DEVELOPER on API Security, GUEST on Akto ARGUS',
        isInvitation: true,
      },
    ])
  })

  it('resolves roles for the product scope in x-context-source', async () => {
    const res = await post('/api/getTeamData', {}, { ...headers, 'x-context-source': 'agentic' })
    const team = await res.json<Entry[]>()
    expect(team.find((e) => e.id === scoped.id)?.role).toBe('ADMIN')
  })

  it('accepts a call without a body, as the dashboard sometimes sends it', async () => {
    const res = await api('/api/getTeamData', { method: 'POST', headers })
    expect(res.status).toBe(200)
  })

  it('rejects a malformed body with 400 in the dashboard dialect', async () => {
    const res = await post('/api/getTeamData', '{"oops"', headers)
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      error: 'Malformed JSON in request body',
      actionErrors: ['Malformed JSON in request body'],
    })
    const wrongType = await api('/api/getTeamData', {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'text/plain' },
      body: 'hi',
    })
    expect(wrongType.status).toBe(415)
    expect((await wrongType.json<{ error: string }>()).error).toMatch(/application\/json/)
  })

  it('answers 401 without credentials', async () => {
    const res = await post('/api/getTeamData', {})
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: 'Authentication required', actionErrors: ['Authentication required'] })
  })

  it('shows another organization only its own team', async () => {
    const other = await seedSignedIn('ADMIN')
    const team = await (await post('/api/getTeamData', {}, other.headers)).json<Entry[]>()
    expect(team.map((e) => e.login)).toEqual([other.user.email])
  })

  it('refuses NO_ACCESS with 403 and records the denial', async () => {
    const blocked = await seedUser(workspace.id, 'MEMBER', { scopeRoles: { AGENTIC: 'ADMIN' } })
    const res = await post('/api/getTeamData', {}, await signIn(blocked, workspace.id))
    expect(res.status).toBe(403)
    expect((await res.json<{ error: string }>()).error).toMatch(/You do not have access to this product/)
    const denied = await db.select().from(auditEvents)
    expect(
      denied.some((e) => e.action === 'listTeam' && e.outcome === 'denied' && e.actorId === blocked.publicId),
    ).toBe(true)
  })

  it('resolves a custom role to its base role', async () => {
    await seedCustomRole(workspace.id, 'AUDITOR', 'GUEST')
    const auditor = await seedUser(workspace.id, 'AUDITOR')
    const res = await post('/api/getTeamData', {}, await signIn(auditor, workspace.id))
    expect(res.status).toBe(200)
  })

  it('lets EXTERNAL_API tokens read it and refuses BURP tokens', async () => {
    const tokenFor = async (utility: 'BURP' | 'EXTERNAL_API') =>
      (await seedApiToken(workspace.id, { userId: admin.id }, utility)).headers
    expect((await post('/api/getTeamData', {}, await tokenFor('EXTERNAL_API'))).status).toBe(200)
    const burp = await post('/api/getTeamData', {}, await tokenFor('BURP'))
    expect(burp.status).toBe(403)
    expect((await burp.json<{ error: string }>()).error).toBe('BURP tokens cannot list team')
  })

  it('answers unknown actions with 404 in the same dialect', async () => {
    const res = await post('/api/noSuchAction', {}, headers)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({
      error: 'Unknown action: noSuchAction',
      actionErrors: ['Unknown action: noSuchAction'],
    })
  })
})
