import { expect, vi } from 'vitest'
import { api, ROOT } from '.'

/** An email as the development outbox (GET /dev/outbox, EMAIL_OUTBOX=true) shows it. */
export type Mail = { to: string; subject: string; text: string; html: string; createdAt: string }

/** The outbox's emails to an address (newest first), once the queue has delivered exactly `count`. */
export const mailsTo = (address: string, count = 1) =>
  vi.waitFor(
    async () => {
      const res = await api(`/dev/outbox?to=${encodeURIComponent(address)}`, { headers: ROOT })
      expect(res.status).toBe(200)
      const { items } = await res.json<{ items: Mail[] }>()
      expect(items).toHaveLength(count)
      return items
    },
    { timeout: 5000, interval: 50 },
  )

/** The `token=` of the link an email carries; fails the test when it has none. */
export const tokenIn = (mail: Pick<Mail, 'text'>) => {
  const token = /[?&]token=([\w-]+)/.exec(mail.text)?.[1]
  expect(token, mail.text).toBeTruthy()
  return token as string
}
