import { eq } from 'drizzle-orm'
import { EmailApiError, sendThroughApi } from '../clients/email'
import { emailOutbox } from '../db/schema'
import type { Deps } from './context'
import { type EmailMessage, JobCannotSucceed, type JobRun, prepareJob } from './jobs'
import type { Principal } from './principal'

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c)

const LINK = /https?:\/\/[^\s<>"']+/g

/** One paragraph as HTML: its links found in the plain text (before escaping), then each part escaped. */
const paragraphHtml = (text: string) => {
  let html = ''
  let last = 0
  for (const link of text.matchAll(LINK)) {
    const url = escapeHtml(link[0])
    html += `${escapeHtml(text.slice(last, link.index))}<a href="${url}">${url}</a>`
    last = link.index + link[0].length
  }
  return (html + escapeHtml(text.slice(last))).replaceAll('\n', '<br>')
}

/** The HTML body of a plain-text email: escaped paragraphs, its links clickable. */
export const htmlOf = (text: string) =>
  text
    .trim()
    .split(/\n{2,}/)
    .map((paragraph) => `<p>${paragraphHtml(paragraph)}</p>`)
    .join('\n')

/**
 * An email, sent by a job: insert `job.insert` in the batch of the change it belongs to, then
 * `job.send()`. The message (links included) travels in the queue only; the job row keeps who it
 * is for and which template, never the links.
 */
export const emailJob = (
  deps: Deps,
  p: Principal | null,
  template: string,
  email: EmailMessage,
  scope: { workspaceId?: number | null; organizationId?: number | null } = {},
) => prepareJob(deps, p, 'sendEmail', { payload: { to: email.to, template }, email, ...scope })

/** A 4xx other than a timeout or a throttle: sending the same request again cannot help. */
const refusedForGood = (err: unknown) =>
  err instanceof EmailApiError &&
  err.status !== undefined &&
  err.status >= 400 &&
  err.status < 500 &&
  ![408, 429].includes(err.status)

/**
 * Delivers the email a `sendEmail` job carries. With EMAIL_API_KEY it goes to the provider (the
 * job id as idempotency key) and only its envelope is kept; without one, only where EMAIL_OUTBOX
 * is `true` (local development), it is kept whole in the outbox, links and all; elsewhere the job
 * fails, so that it shows. The outbox row, one per job, is the proof of sending: a job that has
 * one is not sent again.
 */
export const deliverEmailStep: JobRun = async (deps, job, message) => {
  const email = message.email
  if (!email) throw new JobCannotSucceed('A sendEmail message without its email: nothing to send')
  const key = deps.env.EMAIL_API_KEY
  if (!key && deps.env.EMAIL_OUTBOX !== 'true') throw new Error('Email is not configured: set EMAIL_API_KEY')
  const provider = key ? 'http' : 'outbox'
  const [sent] = await deps.db.select({ id: emailOutbox.id }).from(emailOutbox).where(eq(emailOutbox.jobId, job.id))
  if (sent) return { result: { to: email.to, provider, alreadySent: true } }
  const html = htmlOf(email.text)
  if (key)
    await sendThroughApi(
      { url: deps.config.emailApiUrl, key, from: deps.config.emailFrom },
      { ...email, html },
      job.id,
    ).catch((err) => {
      throw refusedForGood(err) ? new JobCannotSucceed(`${err.message}: the message itself was refused`) : err
    })
  return {
    writes: [
      deps.db
        .insert(emailOutbox)
        .values({
          jobId: job.id,
          to: email.to,
          subject: email.subject,
          text: key ? '' : email.text,
          html: key ? null : html,
          provider,
          createdAt: deps.now(),
        })
        .onConflictDoNothing(),
    ],
    result: { to: email.to, provider },
  }
}
