import { env } from 'cloudflare:workers'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { auditEvents, memberships, organizations, users } from '../../src/db/schema'
import { createDeps } from '../../src/domain/context'
import { bootstrap } from '../../src/domain/sign-in'
import { db, post, STRONG_PASSWORD } from '../support'

const input = {
  email: 'Founder@Example.com',
  password: STRONG_PASSWORD,
  organization: 'Acme Corp',
  name: 'Fay Founder',
}

describe('POST /auth/bootstrap', () => {
  it('rejects bad input in problem+json and creates nothing', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...input, email: 'not-an-email' }, /Invalid email/],
      [{ ...input, password: 'short' }, /at least 8 characters/],
      [{ ...input, password: 'alllowercase1!' }, /uppercase/],
      [{ ...input, organization: 'A'.repeat(25) }, /longer than 24/],
      [{ ...input, organization: 42 }, /organization must be a string/],
      [{ email: input.email, password: input.password }, /organization is required/],
      ['{"email": ', /Malformed JSON/],
    ]
    for (const [body, message] of cases) {
      const res = await post('/auth/bootstrap', body)
      expect(res.status).toBe(400)
      expect(res.headers.get('content-type')).toContain('application/problem+json')
      const problem = await res.json<{ status: number; message: string; detail: string }>()
      expect(problem.status).toBe(400)
      expect(problem.message).toMatch(message)
    }
    expect(await db.select().from(users)).toHaveLength(0)
    expect(await db.select().from(organizations)).toHaveLength(0)
  })

  it('requires BOOTSTRAP_TOKEN as a bearer token when it is configured', async () => {
    const guarded = createDeps({ ...env, BOOTSTRAP_TOKEN: 'let-me-in-please' })
    await expect(bootstrap(guarded, input, null)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' })
    await expect(bootstrap(guarded, input, 'wrong')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' })
    expect(await db.select().from(users)).toHaveLength(0)
  })

  it('creates the first organization, workspace and an ADMIN on every scope', async () => {
    const res = await post('/auth/bootstrap', input)
    expect(res.status).toBe(201)
    const body = await res.json<{
      user: { id: string; email: string }
      organization: { id: string; name: string }
      workspace: { id: number; name: string }
    }>()
    expect(body.user.email).toBe('founder@example.com')
    expect(body.user.id).toMatch(/^[A-Z0-9]{10}$/)
    expect(body.organization).toEqual({ id: expect.stringMatching(/^[A-Z0-9]{10}$/), name: 'Acme Corp' })
    expect(body.workspace).toEqual({ id: 1000000, name: 'Acme Corp' })

    const [user] = await db.select().from(users).where(eq(users.publicId, body.user.id))
    expect(user?.passwordHash).toMatch(/^pbkdf2-sha256\$100000\$/)
    expect(user?.displayName).toBe('Fay Founder')
    const [membership] = await db.select().from(memberships).where(eq(memberships.userId, user!.id))
    expect(membership).toMatchObject({
      workspaceId: 1000000,
      role: 'ADMIN',
      scopeRoles: { API: 'ADMIN', AGENTIC: 'ADMIN', ENDPOINT: 'ADMIN', DAST: 'ADMIN' },
    })
    const events = await db.select().from(auditEvents).where(eq(auditEvents.action, 'bootstrap'))
    expect(events).toHaveLength(1)
  })

  it('answers 409 once any user exists, and signs the admin in afterwards', async () => {
    const again = await post('/auth/bootstrap', { ...input, email: 'second@example.com' })
    expect(again.status).toBe(409)
    expect((await again.json<{ message: string }>()).message).toMatch(/Already bootstrapped/)
    const login = await post('/auth/login', { email: input.email, password: input.password })
    expect(login.status).toBe(200)
  })
})
