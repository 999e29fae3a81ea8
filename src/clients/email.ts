import { emailOutbox } from '../db/schema'
import type { Deps } from '../domain/context'
import { htmlOf } from '../domain/emails'
import type { EmailMessage } from '../jobs/messages'

/**
 * Sends one email. With EMAIL_API_KEY it goes to the provider (a Resend-compatible HTTP API, the
 * job id as idempotency key) and only its envelope is logged. Without one, only where
 * EMAIL_OUTBOX is `true` (local development) it is kept whole in `email_outbox`, links and all;
 * elsewhere the send fails, so the job shows it. Either way a job id is recorded once.
 */
export const sendEmail = async (deps: Deps, email: EmailMessage, jobId: string) => {
  const key = deps.env.EMAIL_API_KEY
  if (!key && deps.env.EMAIL_OUTBOX !== 'true') throw new Error('Email is not configured: set EMAIL_API_KEY')
  if (key) {
    const res = await fetch(deps.config.emailApiUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'Idempotency-Key': jobId },
      body: JSON.stringify({
        from: deps.config.emailFrom,
        to: [email.to],
        subject: email.subject,
        text: email.text,
        html: htmlOf(email.text),
      }),
    })
    if (!res.ok) throw new Error(`The email provider answered ${res.status}`)
  }
  await deps.db
    .insert(emailOutbox)
    .values({
      jobId,
      to: email.to,
      subject: email.subject,
      text: key ? '' : email.text,
      html: key ? null : htmlOf(email.text),
      provider: key ? 'http' : 'outbox',
      createdAt: deps.now(),
    })
    .onConflictDoNothing()
  return { to: email.to, provider: key ? 'http' : 'outbox' }
}
