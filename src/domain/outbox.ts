import { and, desc, eq } from 'drizzle-orm'
import { emailOutbox } from '../db/schema'
import { authorize } from './authorize'
import type { Deps } from './context'
import type { Principal } from './principal'
import { normalizeEmail } from './rules'

/** The development outbox: emails kept instead of sent (EMAIL_OUTBOX), newest first, for root only. */
export const readOutbox = async (deps: Deps, p: Principal, to?: string) => {
  await authorize(deps, p, 'readOutbox')
  return deps.db
    .select()
    .from(emailOutbox)
    .where(
      and(eq(emailOutbox.provider, 'outbox'), to === undefined ? undefined : eq(emailOutbox.to, normalizeEmail(to))),
    )
    .orderBy(desc(emailOutbox.id))
    .limit(100)
}
