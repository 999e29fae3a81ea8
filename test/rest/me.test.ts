import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src'
import { newApiKey } from '../../src/auth/crypto'
import { memberships, serviceAccounts } from '../../src/db/schema'
import { api, db, seedApiToken, seedOrganization, seedSignedIn } from '../support'

describe('GET /me', () => {
  it('describes the signed-in user, and nothing else', async () => {
    const { user, headers } = await seedSignedIn('GUEST', { name: 'Gus Guest' })
    const res = await api('/me', { headers })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    const body = await res.json<Record<string, Record<string, string>>>()
    expect(Object.keys(body)).toEqual(['user'])
    expect(body.user).toMatchObject({ id: user.publicId, email: user.email, displayName: 'Gus Guest' })
    expect(body.user?.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    expect(body.user).not.toHaveProperty('passwordHash')
    expect(body.user).not.toHaveProperty('givenName')
  })

  it('describes a service account calling with its API key', async () => {
    const { org, workspace } = await seedOrganization()
    const [bot] = await db
      .insert(serviceAccounts)
      .values({ publicId: 'BOT0000001', organizationId: org.id, username: 'ci-deploy-bot', description: 'CI' })
      .returning()
    await db.insert(memberships).values({ workspaceId: workspace.id, serviceAccountId: bot!.id, role: 'DEVELOPER' })
    const { headers } = await seedApiToken(workspace.id, { serviceAccountId: bot!.id }, 'CICD')
    const res = await api('/me', { headers })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      serviceAccount: expect.objectContaining({ id: 'BOT0000001', username: 'ci-deploy-bot', description: 'CI' }),
    })
  })

  it('answers root with an empty root object', async () => {
    const res = await api('/me', { headers: { Authorization: `Bearer ${env.ROOT_TOKEN}` } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ root: {} })
  })

  it('answers 401 in problem+json without valid credentials', async () => {
    const variants: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer not-a-token' },
      { 'X-API-KEY': newApiKey() },
    ]
    for (const headers of variants) {
      const res = await api('/me', { headers })
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toContain('application/problem+json')
      const problem = await res.json<{ status: number; code: string; message: string; instance: string }>()
      expect(problem).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', instance: '/me' })
      expect(problem.message.length).toBeGreaterThan(0)
    }
  })

  it('ignores a request body and unknown parameters rather than failing', async () => {
    const { headers } = await seedSignedIn('GUEST')
    const res = await api('/me?unexpected=1', { headers })
    expect(res.status).toBe(200)
  })
})

describe('the root token', () => {
  it('is ignored when shorter than 32 characters', async () => {
    const res = await worker.fetch(
      new Request('https://iam.test/me', { headers: { Authorization: 'Bearer short-root' } }),
      { ...env, ROOT_TOKEN: 'short-root' },
      createExecutionContext(),
    )
    expect(res.status).toBe(401)
  })
})
