import { and, isNull, lt } from 'drizzle-orm'
import { sendEmail } from '../clients/email'
import { invitations, logins, passwordResets, trustedDevices, userEmails } from '../db/schema'
import type { Deps } from '../domain/context'
import type { Job } from '../domain/jobs'
import { type Affected, syncAllCopies } from '../domain/principals'
import type { JobMessage, JobType } from './messages'

type Handler = (deps: Deps, job: Job, message: JobMessage) => Promise<Record<string, unknown>>

/** Deletes rows whose time is over. Deleting twice changes nothing, so redelivery is safe. */
const purgeExpired: Handler = async (deps) => {
  const now = deps.now()
  const [l, i, r, t, e] = await deps.db.batch([
    deps.db.delete(logins).where(lt(logins.expiresAt, now)),
    deps.db.delete(invitations).where(lt(invitations.expiresAt, now)),
    deps.db.delete(passwordResets).where(lt(passwordResets.expiresAt, now)),
    deps.db.delete(trustedDevices).where(lt(trustedDevices.expiresAt, now)),
    deps.db.delete(userEmails).where(and(isNull(userEmails.verifiedAt), lt(userEmails.verificationExpiresAt, now))),
  ])
  return {
    logins: l.meta.changes,
    invitations: i.meta.changes,
    passwordResets: r.meta.changes,
    trustedDevices: t.meta.changes,
    unverifiedAddresses: e.meta.changes,
  }
}

const email: Handler = async (deps, job, message) => {
  if (!message.email) throw new Error('sendEmail message without an email')
  return sendEmail(deps, message.email, job.id)
}

/** Rewrites the principal copies of a change that affected too many to rewrite in its request. */
const syncPrincipals: Handler = async (deps, job) => ({
  copies: await syncAllCopies(deps, (job.payload as { affects: Affected }).affects),
})

/** Recorded only: these computations are not implemented yet, so the job ends `received`. */
const receiveOnly: Handler = async () => ({})

export const RECEIVE_ONLY: ReadonlySet<JobType> = new Set([
  'applyAccessType',
  'resetCollectionAccessTypes',
  'refreshUsage',
])

/** What each job type does; the result is kept on the job row. */
export const HANDLERS: Record<JobType, Handler> = {
  purgeExpired,
  sendEmail: email,
  applyAccessType: receiveOnly,
  resetCollectionAccessTypes: receiveOnly,
  refreshUsage: receiveOnly,
  syncPrincipals,
}
