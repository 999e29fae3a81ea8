/** An HTTP email API that takes Resend's request shape. */
export type EmailApi = { url: string; key: string; from: string }

export type OutgoingEmail = { to: string; subject: string; text: string; html: string }

export class EmailApiError extends Error {
  /** The provider's HTTP status; undefined when it could not be reached. */
  readonly status?: number
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.status = options.status
  }
}

/** Sends one email; the provider drops a second request with the same idempotency key. */
export const sendThroughApi = async (api: EmailApi, email: OutgoingEmail, idempotencyKey: string) => {
  let res: Response
  try {
    res = await fetch(api.url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${api.key}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': idempotencyKey,
      },
      body: JSON.stringify({
        from: api.from,
        to: [email.to],
        subject: email.subject,
        text: email.text,
        html: email.html,
      }),
    })
  } catch (cause) {
    throw new EmailApiError('The email provider could not be reached', { cause })
  }
  if (!res.ok) throw new EmailApiError(`The email provider answered ${res.status}`, { status: res.status })
}
