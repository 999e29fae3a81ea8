import type { EmailMessage } from '../jobs/messages'
import type { Deps } from './context'
import { prepareJob } from './jobs'
import type { Principal } from './principal'

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c)

/** The HTML body of a plain-text email: escaped paragraphs, its links clickable. */
export const htmlOf = (text: string) =>
  text
    .trim()
    .split(/\n{2,}/)
    .map(
      (paragraph) =>
        `<p>${escapeHtml(paragraph)
          .replace(/(https?:\/\/[^\s<]+)/g, '<a href="$1">$1</a>')
          .replaceAll('\n', '<br>')}</p>`,
    )
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
