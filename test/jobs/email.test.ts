import { env } from 'cloudflare:workers'
import { eq } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { newPublicId } from '../../src/auth/crypto'
import { emailOutbox, jobs } from '../../src/db/schema'
import { emailJob } from '../../src/domain/emails'
import type { EmailMessage } from '../../src/domain/jobs'
import { MAX_DELIVERIES } from '../../src/jobs/consumer'
import { HANDLERS } from '../../src/jobs/handlers'
import { api, db, deps, nextIp, post, ROOT, seedSignedIn, seedUser } from '../support'
import { mailsTo } from '../support/outbox'
import { finishedJob, jobRow, runBatch } from '../support/queue'

/**
 * sendEmail jobs: the message (links included) travels in the queue only; the consumer hands it
 * to the provider (EMAIL_API_KEY) or keeps it in the development outbox (EMAIL_OUTBOX=true).
 */

afterEach(() => {
  vi.restoreAllMocks()
})

const PROVIDER_URL = 'https://api.resend.com/emails'
const FROM = 'edge-iam <no-reply@localhost>'
const EMAIL_KEY = 'email-test-key'
const withProvider = { ...env, EMAIL_API_KEY: EMAIL_KEY } as Env
const unconfigured = { ...env, EMAIL_API_KEY: undefined, EMAIL_OUTBOX: undefined } as Env

const outboxOf = (jobId: string) => db.select().from(emailOutbox).where(eq(emailOutbox.jobId, jobId))

const emailJobsTo = async (to: string) =>
  (await db.select().from(jobs).where(eq(jobs.type, 'sendEmail'))).filter(
    (j) => (j.payload as { to?: string }).to === to,
  )

const address = () => `someone-${newPublicId().toLowerCase()}@example.com`

/** A text with a link and characters HTML must escape, and the HTML body made of it. */
const TEXT = 'Hi <Bob> & "co",\n\nJoin within a week:\nhttps://app.example.test/join?code=s3cret&x=1\n'
const HTML =
  '<p>Hi &lt;Bob&gt; &amp; &quot;co&quot;,</p>\n' +
  '<p>Join within a week:<br><a href="https://app.example.test/join?code=s3cret&amp;x=1">https://app.example.test/join?code=s3cret&amp;x=1</a></p>'

/** A sendEmail job row, stored as the domain stores it, and the message the queue would carry. */
const queuedEmail = async (to = address()) => {
  const email: EmailMessage = { to, subject: 'Join us', text: TEXT }
  const job = emailJob(deps(), null, 'invitation', email)
  await job.insert
  return { jobId: job.id, email, body: { jobId: job.id, type: 'sendEmail', email } }
}

type FetchSpy = ReturnType<typeof provider>
const provider = (answer: () => Response) => vi.spyOn(globalThis, 'fetch').mockImplementation(async () => answer())
const accepted = () => Response.json({ id: 're_123' }, { status: 200 })

/** The request the provider got, its body parsed. */
const requestOf = (spy: FetchSpy, index = 0) => {
  const [url, init] = spy.mock.calls[index]!
  return { url: String(url), method: init?.method, headers: init?.headers, body: JSON.parse(String(init?.body)) }
}

describe('an invitation email, delivered by the real queue', () => {
  it('is queued as a sendEmail job holding only the address and template, and lands in the outbox once', async () => {
    const { org, workspace, headers } = await seedSignedIn('ADMIN')
    const to = address()
    const res = await post(
      '/api/inviteUsers',
      { inviteeEmail: to, inviteeRole: 'MEMBER', inviteeName: 'Ivy' },
      { ...headers, 'CF-Connecting-IP': nextIp() },
    )
    expect(res.status, await res.clone().text()).toBe(200)
    const link = (await res.json<{ finalInviteCode: string }>()).finalInviteCode
    const code = new URL(link).searchParams.get('signupInvitationCode')!
    expect(code.length).toBeGreaterThan(20)

    const emailJobs = await emailJobsTo(to)
    expect(emailJobs).toHaveLength(1)
    const jobId = emailJobs[0]!.id
    // The row never holds the link.
    expect(emailJobs[0]).toMatchObject({ workspaceId: workspace.id, organizationId: org.id })
    expect(emailJobs[0]!.payload).toEqual({ to, template: 'invitation' })

    const job = await finishedJob(jobId)
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1, error: null })
    expect(job.result).toEqual({ to, provider: 'outbox', pages: 1, slowestPageMs: expect.any(Number) })
    expect(JSON.stringify(job)).not.toContain(code)

    const text = `Hello Ivy,\n\nYou have been invited to join ${org.name}. Accept the invitation within a week:\n\n${link}\n`
    const escapedLink = link.replaceAll('&', '&amp;')
    const html = `<p>Hello Ivy,</p>\n<p>You have been invited to join ${org.name}. Accept the invitation within a week:</p>\n<p><a href="${escapedLink}">${escapedLink}</a></p>`
    const rows = await outboxOf(jobId)
    expect(rows).toEqual([
      {
        id: expect.any(Number),
        jobId,
        to,
        subject: `You are invited to ${org.name}`,
        text,
        html,
        provider: 'outbox',
        createdAt: expect.any(Date),
      },
    ])
    expect(await mailsTo(to)).toEqual([
      { to, subject: `You are invited to ${org.name}`, text, html, createdAt: rows[0]!.createdAt.toISOString() },
    ])

    // A second delivery of the same message keeps it at one.
    const again = await runBatch([
      { id: 'dup', body: { jobId, type: 'sendEmail', email: { to, subject: 'x', text: 'x' } }, attempts: 2 },
    ])
    expect(again.explicitAcks).toEqual(['dup'])
    expect(await outboxOf(jobId)).toHaveLength(1)
    expect((await jobRow(jobId))?.attempts).toBe(1)
  })

  it("keeps a password reset's link out of its job row too", async () => {
    const user = await seedUser(null, 'MEMBER')
    const res = await post('/account/passwords/request_reset', { email: user.email }, { 'CF-Connecting-IP': nextIp() })
    expect(res.status).toBe(204)
    await vi.waitUntil(async () => (await emailJobsTo(user.email)).length === 1, { timeout: 5000, interval: 50 })
    const [row] = await emailJobsTo(user.email)
    expect(row!.payload).toEqual({ to: user.email, template: 'passwordReset' })
    const job = await finishedJob(row!.id)
    expect(job.status).toBe('succeeded')
    const [sent] = await outboxOf(row!.id)
    const token = /reset-password\?token=(\S+)/.exec(sent!.text)?.[1]
    expect(token?.length).toBeGreaterThan(20)
    expect(JSON.stringify(job)).not.toContain(token)
  })
})

describe('an email sent through the provider (EMAIL_API_KEY)', () => {
  it('posts the exact Resend request, with the job id as idempotency key, and keeps only the envelope', async () => {
    const { jobId, email, body } = await queuedEmail()
    const spy = provider(accepted)
    const result = await runBatch([{ id: 'p1', body }], withProvider)
    expect(result.explicitAcks).toEqual(['p1'])
    expect(result.retryMessages).toEqual([])

    expect(spy).toHaveBeenCalledTimes(1)
    expect(requestOf(spy)).toEqual({
      url: PROVIDER_URL,
      method: 'POST',
      headers: { Authorization: `Bearer ${EMAIL_KEY}`, 'Content-Type': 'application/json', 'Idempotency-Key': jobId },
      body: { from: FROM, to: [email.to], subject: 'Join us', text: TEXT, html: HTML },
    })

    expect(await outboxOf(jobId)).toEqual([
      {
        id: expect.any(Number),
        jobId,
        to: email.to,
        subject: 'Join us',
        text: '',
        html: null,
        provider: 'http',
        createdAt: expect.any(Date),
      },
    ])
    expect(await jobRow(jobId)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      error: null,
      payload: { to: email.to, template: 'invitation' },
      result: { to: email.to, provider: 'http', pages: 1 },
    })
    expect(JSON.stringify(await jobRow(jobId))).not.toContain('s3cret')
    // The development outbox shows only what it kept itself.
    const outbox = await api(`/dev/outbox?to=${encodeURIComponent(email.to)}`, { headers: ROOT })
    expect(await outbox.json()).toEqual({ items: [] })

    // The same message delivered again after the success: acknowledged, nothing sent.
    const again = await runBatch([{ id: 'p1', body, attempts: 2 }], withProvider)
    expect(again.explicitAcks).toEqual(['p1'])
    expect(spy).toHaveBeenCalledTimes(1)
    expect(await outboxOf(jobId)).toHaveLength(1)
  })

  it.each([
    {
      name: 'answers 500',
      answer: () => new Response('busy', { status: 500 }),
      error: 'The email provider answered 500',
    },
    {
      name: 'answers 429',
      answer: () => Response.json({ message: 'slow down' }, { status: 429 }),
      error: 'The email provider answered 429',
    },
    {
      name: 'cannot be reached',
      answer: () => {
        throw new TypeError('fetch failed')
      },
      error: 'The email provider could not be reached',
    },
  ])('retries with a delay when the provider $name, keeping nothing in the outbox', async ({ answer, error }) => {
    const { jobId, body } = await queuedEmail()
    const spy = provider(answer)
    const result = await runBatch([{ id: 'f1', body }], withProvider)
    expect(result.explicitAcks).toEqual([])
    expect(result.retryMessages).toEqual([{ msgId: 'f1' }])
    expect(result.delays.f1).toBe(10)
    expect(spy).toHaveBeenCalledTimes(1)
    expect(await outboxOf(jobId)).toEqual([])
    expect(await jobRow(jobId)).toMatchObject({ status: 'queued', attempts: 1, error, leaseId: null, result: null })

    // The next try, once the provider accepts, sends it with the same key and records it.
    spy.mockImplementation(async () => accepted())
    const retried = await runBatch([{ id: 'f1', body, attempts: 2 }], withProvider)
    expect(retried.explicitAcks).toEqual(['f1'])
    expect(spy).toHaveBeenCalledTimes(2)
    expect(requestOf(spy, 1).headers).toMatchObject({ 'Idempotency-Key': jobId })
    expect(await outboxOf(jobId)).toHaveLength(1)
    expect(await jobRow(jobId)).toMatchObject({ status: 'succeeded', attempts: 2, error: null })
  })

  it('fails at once when the provider refuses the message itself (a 4xx other than 408 or 429)', async () => {
    const { jobId, body } = await queuedEmail()
    const spy = provider(() => Response.json({ message: 'invalid `to` field' }, { status: 422 }))
    const result = await runBatch([{ id: 'bad', body }], withProvider)
    expect(result.explicitAcks).toEqual(['bad'])
    expect(result.retryMessages).toEqual([])
    expect(spy).toHaveBeenCalledTimes(1)
    expect(await outboxOf(jobId)).toEqual([])
    expect(await jobRow(jobId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'The email provider answered 422: the message itself was refused',
    })
  })

  it('sends again with the same Idempotency-Key when a delivery died between sending and recording', async () => {
    const { jobId, body } = await queuedEmail()
    const spy = provider(accepted)
    // The first delivery sends, then dies before its page (the outbox row) is stored.
    const deliver = HANDLERS.sendEmail
    const crash = vi.spyOn(HANDLERS, 'sendEmail').mockImplementationOnce(async (d, job, message) => {
      await deliver(d, job, message)
      throw new Error('isolate evicted')
    })
    const first = await runBatch([{ id: 'c1', body }], withProvider)
    expect(first.retryMessages).toEqual([{ msgId: 'c1' }])
    expect(spy).toHaveBeenCalledTimes(1)
    expect(await outboxOf(jobId)).toEqual([])
    expect(await jobRow(jobId)).toMatchObject({ status: 'queued', error: 'isolate evicted' })

    // The retry cannot know it was sent: it sends again, and the provider's dedupe makes it once.
    crash.mockRestore()
    const second = await runBatch([{ id: 'c1', body, attempts: 2 }], withProvider)
    expect(second.explicitAcks).toEqual(['c1'])
    expect(spy).toHaveBeenCalledTimes(2)
    expect(requestOf(spy, 1)).toEqual(requestOf(spy, 0))
    expect(requestOf(spy, 1).headers).toMatchObject({ 'Idempotency-Key': jobId })
    expect(await outboxOf(jobId)).toHaveLength(1)
    expect(await jobRow(jobId)).toMatchObject({ status: 'succeeded', attempts: 2 })
  })

  it('does not send a job again that has its outbox row, even when the row was put back to queued', async () => {
    const { jobId, email, body } = await queuedEmail()
    const spy = provider(accepted)
    await runBatch([{ id: 'o1', body }], withProvider)
    expect(spy).toHaveBeenCalledTimes(1)
    await db.update(jobs).set({ status: 'queued', result: null, finishedAt: null }).where(eq(jobs.id, jobId))

    const again = await runBatch([{ id: 'o1', body, attempts: 2 }], withProvider)
    expect(again.explicitAcks).toEqual(['o1'])
    expect(spy).toHaveBeenCalledTimes(1)
    expect(await outboxOf(jobId)).toHaveLength(1)
    expect(await jobRow(jobId)).toMatchObject({
      status: 'succeeded',
      result: { to: email.to, provider: 'http', alreadySent: true },
    })
  })
})

it('makes a quoted link clickable without the closing quote in its href', async () => {
  const { jobId, body } = await queuedEmail()
  const quoted = { ...body, email: { ...body.email, text: 'Open "https://app.example.test/x" now' } }
  const spy = provider(accepted)
  await runBatch([{ id: 'q1', body: quoted }], withProvider)
  expect((await jobRow(jobId))?.status).toBe('succeeded')
  expect(requestOf(spy).body.html).toBe(
    '<p>Open &quot;<a href="https://app.example.test/x">https://app.example.test/x</a>&quot; now</p>',
  )
})

describe('an email with neither a provider nor the outbox', () => {
  it('is retried with the configuration error, nothing kept, and fails after the last try', async () => {
    const { jobId, body } = await queuedEmail()
    const spy = vi.spyOn(globalThis, 'fetch')
    const result = await runBatch([{ id: 'u1', body }], unconfigured)
    expect(result.explicitAcks).toEqual([])
    expect(result.retryMessages).toEqual([{ msgId: 'u1' }])
    expect(result.delays.u1).toBe(10)
    expect(await jobRow(jobId)).toMatchObject({
      status: 'queued',
      attempts: 1,
      error: 'Email is not configured: set EMAIL_API_KEY',
      result: null,
    })
    expect(await outboxOf(jobId)).toEqual([])

    const last = await runBatch([{ id: 'u1', body, attempts: MAX_DELIVERIES }], unconfigured)
    expect(last.retryMessages).toEqual([{ msgId: 'u1' }])
    expect(await jobRow(jobId)).toMatchObject({
      status: 'failed',
      attempts: 2,
      error: 'Email is not configured: set EMAIL_API_KEY',
      finishedAt: expect.any(Date),
    })
    expect(await outboxOf(jobId)).toEqual([])
    expect(spy).not.toHaveBeenCalled()
  })

  it('fails at once, without retries, when the message lost its email, which the job row cannot give back', async () => {
    const { jobId } = await queuedEmail()
    const result = await runBatch([{ id: 'm1', body: { jobId, type: 'sendEmail' } }])
    expect(result.retryMessages).toEqual([])
    expect(result.explicitAcks).toEqual(['m1'])
    expect(await jobRow(jobId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'A sendEmail message without its email: nothing to send',
    })
    expect(await outboxOf(jobId)).toEqual([])
  })
})
