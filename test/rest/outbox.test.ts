import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import worker from '../../src'
import { newPublicId } from '../../src/auth/crypto'
import { auditEvents, memberships, serviceAccounts } from '../../src/db/schema'
import { api, BASE, db, type Headers, post, ROOT, seedApiToken, seedOrganization, seedSignedIn } from '../support'
import { type Mail, mailsTo } from '../support/outbox'
import { problemOf } from '../support/rest'

/** GET /dev/outbox: the development outbox, for the root token only, and only where EMAIL_OUTBOX is on. */

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

const outbox = (query = '', headers: Headers = ROOT) => api(`/dev/outbox${query}`, { headers })
const to = (address: string) => `?to=${encodeURIComponent(address)}`

/** The worker with a different environment, as a deployment without the outbox would run it. */
const withEnv = async (path: string, overrides: Partial<Env>, headers: Headers = {}) => {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(`${BASE}${path}`, { headers }), { ...env, ...overrides } as Env, ctx)
  await waitOnExecutionContext(ctx)
  return res
}

/** A fresh invitee address in the seeded admin's domain. */
const invitee = () => `invitee-${newPublicId().toLowerCase()}@example.com`
const invite = async (headers: Headers, email: string, name?: string) => {
  const res = await post('/api/inviteUsers', { inviteeEmail: email, inviteeRole: 'MEMBER', inviteeName: name }, headers)
  expect(res.status, await res.clone().text()).toBe(200)
}

describe('GET /dev/outbox', () => {
  it('answers root the emails to an address as {items: [{to, subject, text, html, createdAt}]}', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const email = invitee()
    await invite(headers, email, 'Ivy')
    const [mail] = await mailsTo(email)
    expect(Object.keys(mail!).sort()).toEqual(['createdAt', 'html', 'subject', 'text', 'to'])
    expect(mail).toMatchObject({ to: email, subject: expect.stringContaining('invited') })
    expect(mail!.createdAt).toMatch(ISO)
    expect(mail!.text).toContain('Hello Ivy,')
    const link = /https?:\/\/\S+signupInvitationCode=\S+/.exec(mail!.text)![0]
    expect(mail!.html).toContain(`<a href="${link.replaceAll('&', '&amp;')}">`)
  })

  it('lists the newest email first', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const email = invitee()
    await invite(headers, email, 'First')
    await mailsTo(email, 1)
    await invite(headers, email, 'Second')
    const items = await mailsTo(email, 2)
    expect(items.map((m) => /Hello (\w+),/.exec(m.text)?.[1])).toEqual(['Second', 'First'])
    expect(new Date(items[0]!.createdAt).getTime()).toBeGreaterThanOrEqual(new Date(items[1]!.createdAt).getTime())
  })

  it('matches the address whatever its case, lists nothing for an unknown one, and everything recent without `to`', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const email = invitee()
    await invite(headers, email)
    await mailsTo(email)
    const upper = await (await outbox(to(` ${email.toUpperCase()} `))).json<{ items: Mail[] }>()
    expect(upper.items.map((m) => m.to)).toEqual([email])
    expect(await (await outbox(to(invitee()))).json()).toEqual({ items: [] })
    const all = await (await outbox()).json<{ items: Mail[] }>()
    expect(all.items.map((m) => m.to)).toContain(email)
    expect(all.items.length).toBeLessThanOrEqual(100)
    const times = all.items.map((m) => new Date(m.createdAt).getTime())
    expect([...times].sort((a, b) => b - a)).toEqual(times)
  })

  it('escapes what the sender wrote in the HTML body', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const email = invitee()
    await invite(headers, email, '<img src=x onerror=alert(1)>')
    const [mail] = await mailsTo(email)
    expect(mail!.html).not.toContain('<img')
    expect(mail!.html).toContain('&lt;img src=x onerror=alert(1)&gt;')
  })

  it('refuses a `to` longer than an address can be with 400 on the parameter', async () => {
    const problem = await problemOf(await outbox(to(`${'a'.repeat(320)}@example.com`)), 400, 'VALIDATION_FAILED')
    expect(problem.errors).toContainEqual(expect.objectContaining({ parameter: 'to' }))
  })

  it('answers 401 without credentials and 403 to every identity but root, and audits the refusal', async () => {
    await problemOf(await outbox('', {}), 401, 'UNAUTHENTICATED')
    await problemOf(
      await outbox('', { Authorization: 'Bearer not-the-root-token-but-long-enough-1234' }),
      401,
      'UNAUTHENTICATED',
    )
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    await problemOf(await outbox(to(user.email), headers), 403, 'FORBIDDEN')
    const { headers: key } = await seedApiToken(workspace.id, { userId: user.id })
    await problemOf(await outbox('', key), 403, 'FORBIDDEN')
    const { org, workspace: ws } = await seedOrganization()
    const [bot] = await db
      .insert(serviceAccounts)
      .values({ publicId: newPublicId(), organizationId: org.id, username: 'outbox-bot' })
      .returning()
    await db.insert(memberships).values({ workspaceId: ws.id, serviceAccountId: bot!.id, role: 'ADMIN' })
    const { headers: botKey } = await seedApiToken(ws.id, { serviceAccountId: bot!.id })
    await problemOf(await outbox('', botKey), 403, 'FORBIDDEN')
    const denied = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'readOutbox'), eq(auditEvents.actorId, user.publicId)))
    expect(denied.map((e) => e.outcome)).toEqual(['denied', 'denied'])
  })

  it('does not exist without EMAIL_OUTBOX: 404 for root, a user and nobody, before any credential is asked for', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    for (const value of ['false', '', 'TRUE', '1', undefined]) {
      for (const h of [ROOT, headers, {}]) {
        const res = await withEnv('/dev/outbox', { EMAIL_OUTBOX: value as string }, h)
        const problem = await problemOf(res, 404, 'NOT_FOUND')
        expect(problem.message).toBe('No route for GET /dev/outbox')
        expect(JSON.stringify(problem)).not.toContain('@')
      }
    }
    // The same worker with the outbox on answers root.
    expect((await withEnv('/dev/outbox', { EMAIL_OUTBOX: 'true' }, ROOT)).status).toBe(200)
  })
})
