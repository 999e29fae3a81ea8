import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { PrincipalCopy } from '../src/domain/principals'
import { api, expectRpcError, nextIp, post, seedCustomRole, seedSignedIn, seedUser, signIn } from './support'

const loginIdOf = (headers: { Authorization: string }): string =>
  JSON.parse(atob(headers.Authorization.split('.')[1]!.replaceAll('-', '+').replaceAll('_', '/'))).sid

const copyOf = (headers: { Authorization: string }) =>
  env.SESSIONS.get<PrincipalCopy>(`principal:login:${loginIdOf(headers)}`, 'json')

const invite = (headers: Record<string, string>) =>
  post(
    '/api/inviteUsers',
    { inviteeEmail: `x-${crypto.randomUUID()}@example.com`, inviteeRole: 'GUEST' },
    {
      ...headers,
      'CF-Connecting-IP': nextIp(),
    },
  )

describe('the principal copy of a session', () => {
  it('follows a role change at once, in every session of the member', async () => {
    const { workspace, headers: admin } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const [first, second] = [await signIn(member, workspace.id), await signIn(member, workspace.id)]
    expect((await invite(first)).status).toBe(200)
    expect((await post('/api/makeAdmin', { email: member.email, userRole: 'GUEST' }, admin)).status).toBe(200)
    for (const session of [first, second]) {
      await expectRpcError(await invite(session), 403, "The role 'GUEST' does not have access.")
      expect((await copyOf(session))?.workspace?.membership.scopeRoles?.API).toBe('GUEST')
    }
  })

  it('follows a custom role whose base role changes', async () => {
    const { workspace, headers: admin } = await seedSignedIn('ADMIN')
    await seedCustomRole(workspace.id, 'LEAD', 'MEMBER')
    const lead = await seedUser(workspace.id, 'LEAD')
    const session = await signIn(lead, workspace.id)
    expect((await invite(session)).status).toBe(200)
    expect((await post('/api/updateCustomRole', { roleName: 'LEAD', baseRole: 'GUEST' }, admin)).status).toBe(200)
    await expectRpcError(await invite(session), 403, "The role 'GUEST' does not have access.")
  })

  it('is deleted when the member is removed, so even reads stop at once', async () => {
    const { workspace, headers: admin } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const session = await signIn(member, workspace.id)
    expect((await api('/me', { headers: session })).status).toBe(200)
    expect((await post('/api/removeUser', { email: member.email }, admin)).status).toBe(200)
    expect(await copyOf(session)).toBeNull()
    expect((await api('/me', { headers: session })).status).toBe(401)
  })

  it('refuses a write made with an out-of-date copy, and brings the copy up to date for the retry', async () => {
    const { workspace, headers: admin } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const session = await signIn(member, workspace.id)
    const before = await copyOf(session)
    expect((await post('/api/makeAdmin', { email: member.email, userRole: 'GUEST' }, admin)).status).toBe(200)
    // As in a location the rewrite has not reached yet: the old copy, which still says MEMBER.
    await env.SESSIONS.put(`principal:login:${loginIdOf(session)}`, JSON.stringify(before))
    await expectRpcError(
      await invite(session),
      400,
      'Your access changed while this request was on its way; send it again',
    )
    await expectRpcError(await invite(session), 403, "The role 'GUEST' does not have access.")
  })

  it('answers 401 to a write whose session ended elsewhere, even while this copy lives on', async () => {
    const { workspace } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    const session = await signIn(member, workspace.id)
    const copy = await copyOf(session)
    expect((await post('/api/logout', {}, session)).status).toBe(200)
    await env.SESSIONS.put(`principal:login:${loginIdOf(session)}`, JSON.stringify(copy))
    expect((await invite(session)).status).toBe(401)
    expect(await copyOf(session)).toBeNull()
  })
})

describe('credentials', () => {
  it('accept an API key as Authorization: Bearer, as REST clients send it', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const created = await post('/api/addApiToken', { tokenUtility: 'EXTERNAL_API' }, headers)
    const { apiTokenList } = await created.json<{ apiTokenList: { key: string }[] }>()
    const res = await post('/api/getTeamData', {}, { Authorization: `Bearer ${apiTokenList[0]?.key}` })
    expect(res.status).toBe(200)
    const wrong = await post('/api/getTeamData', {}, { Authorization: `Bearer ${'x'.repeat(40)}` })
    expect(wrong.status).toBe(401)
  })
})
