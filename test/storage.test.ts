import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../src'
import { BASE, seedApiToken, seedSignedIn, seedUser } from './support'
import { countingEnv } from './support/storage-ops'

/** One request through the Worker, counting its D1 and KV round trips (deferred work included). */
const counted = async (path: string, init: RequestInit = {}) => {
  const { env: countingBindings, ops } = countingEnv(env)
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), countingBindings, ctx)
  await waitOnExecutionContext(ctx)
  return { res, ops }
}

const json = { 'Content-Type': 'application/json' }
const { workspace, user, headers } = await seedSignedIn('ADMIN')
for (let i = 0; i < 5; i++) await seedUser(workspace.id, 'DEVELOPER')
const target = await seedUser(workspace.id, 'GUEST')

describe('storage round trips per request', () => {
  it('GET /me reads the cached principal from KV and nothing from D1', async () => {
    const { res, ops } = await counted('/me', { headers })
    expect(res.status).toBe(200)
    expect(ops.kv).toEqual([expect.stringMatching(/^get principal:login:/)])
    expect(ops.d1).toEqual([])
  })

  it('getTeamData costs one KV read and one D1 round trip', async () => {
    const { res, ops } = await counted('/api/getTeamData', { method: 'POST', headers })
    expect(res.status).toBe(200)
    expect(ops.kv).toHaveLength(1)
    expect(ops.d1).toEqual(['batch of 2'])
  })

  it('getTeamData with an API key costs one KV read and one D1 round trip', async () => {
    const token = await seedApiToken(workspace.id, { userId: user.id })
    const { res, ops } = await counted('/api/getTeamData', { method: 'POST', headers: token.headers })
    expect(res.status).toBe(200)
    expect(ops.kv).toEqual([expect.stringMatching(/^get principal:key:/)])
    expect(ops.d1).toEqual(['batch of 2'])
  })

  it.each([
    '/accounts?page[size]=100&sort=-created_at&filter[email__match]=example',
    '/org/users?limit=100',
    '/account_sessions',
  ])('GET %s costs one KV read and one D1 round trip', async (path) => {
    const { res, ops } = await counted(path, { headers })
    expect(res.status).toBe(200)
    expect(ops.kv).toHaveLength(1)
    expect(ops.d1).toHaveLength(1)
  })

  it('a write re-checks the caller in the same D1 round trip as the change itself', async () => {
    const { res, ops } = await counted('/api/makeAdmin', {
      method: 'POST',
      headers: { ...headers, ...json },
      body: JSON.stringify({ email: target.email, userRole: 'DEVELOPER' }),
    })
    expect(res.status).toBe(200)
    // One round trip finds the member (and the invitations they issued); one batch re-checks the
    // caller, writes, records the audit event and reads back the target's principal copies.
    expect(ops.d1).toEqual(['batch of 2', expect.stringMatching(/^batch of \d+$/)])
    // One KV read for the caller; the target has no session, so no copy to rewrite.
    expect(ops.kv).toEqual([expect.stringMatching(/^get principal:login:/)])
  })
})
