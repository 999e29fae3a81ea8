import { and, inArray, isNull, lt, type SQL } from 'drizzle-orm'
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core'
import { invitations, logins, passwordResets, trustedDevices, userEmails } from '../db/schema'
import type { Deps } from './context'
import type { JobRun } from './jobs'

/** Rows deleted per table and page: a bounded statement whatever has piled up. */
export const PURGE_PAGE = 5000

type Counts = Record<string, number>

/** Deletes at most a page of the rows that match, by primary key. */
const deletePage = (deps: Deps, table: SQLiteTable, id: SQLiteColumn, expired: SQL) =>
  deps.db.delete(table).where(inArray(id, deps.db.select({ id }).from(table).where(expired).limit(PURGE_PAGE)))

/**
 * Deletes what has expired: sessions, invitations, reset tokens, trusted devices and addresses
 * never verified. Deleting twice changes nothing, so a repeated page is harmless; the job goes on
 * while a table still had a full page.
 */
export const purgeExpiredStep: JobRun = async (deps, job) => {
  const now = deps.now()
  const results = await deps.db.batch([
    deletePage(deps, logins, logins.id, lt(logins.expiresAt, now)),
    deletePage(deps, invitations, invitations.id, lt(invitations.expiresAt, now)),
    deletePage(deps, passwordResets, passwordResets.id, lt(passwordResets.expiresAt, now)),
    deletePage(deps, trustedDevices, trustedDevices.id, lt(trustedDevices.expiresAt, now)),
    deletePage(
      deps,
      userEmails,
      userEmails.id,
      and(isNull(userEmails.verifiedAt), lt(userEmails.verificationExpiresAt, now)) as SQL,
    ),
  ])
  const names = ['logins', 'invitations', 'passwordResets', 'trustedDevices', 'unverifiedAddresses']
  const before = (job.progress as Counts | null) ?? {}
  const counts: Counts = Object.fromEntries(
    names.map((n, i) => [n, (before[n] ?? 0) + (results[i]?.meta.changes ?? 0)]),
  )
  const more = results.some((r) => r.meta.changes === PURGE_PAGE)
  return more ? { progress: counts } : { result: counts }
}
