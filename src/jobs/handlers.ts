import { lt } from 'drizzle-orm'
import { invitations, logins, passwordResets, trustedDevices } from '../db/schema'
import type { Deps } from '../domain/context'
import type { Job } from '../domain/jobs'
import type { JobType } from './messages'

/** Deletes rows whose time is over. Deleting twice changes nothing, so redelivery is safe. */
const purgeExpired = async (deps: Deps) => {
  const now = deps.now()
  const [l, i, r, t] = await deps.db.batch([
    deps.db.delete(logins).where(lt(logins.expiresAt, now)),
    deps.db.delete(invitations).where(lt(invitations.expiresAt, now)),
    deps.db.delete(passwordResets).where(lt(passwordResets.expiresAt, now)),
    deps.db.delete(trustedDevices).where(lt(trustedDevices.expiresAt, now)),
  ])
  return {
    logins: l.meta.changes,
    invitations: i.meta.changes,
    passwordResets: r.meta.changes,
    trustedDevices: t.meta.changes,
  }
}

/** What each job type does; the result is kept on the job row. */
export const HANDLERS: Record<JobType, (deps: Deps, job: Job) => Promise<Record<string, unknown>>> = {
  purgeExpired,
}
