import { deliverEmailStep } from '../domain/emails'
import { applyAccessTypesStep, resetCollectionAccessTypesStep } from '../domain/inventory-jobs'
import type { JobRun, JobType } from '../domain/jobs'
import { purgeExpiredStep } from '../domain/maintenance'
import { type Affected, syncAllCopies } from '../domain/principals'
import { refreshUsageStep } from '../domain/usage'

/** What each job type does with one delivery. */
export const HANDLERS: Record<JobType, JobRun> = {
  purgeExpired: purgeExpiredStep,
  sendEmail: deliverEmailStep,
  applyAccessType: applyAccessTypesStep,
  resetCollectionAccessTypes: resetCollectionAccessTypesStep,
  refreshUsage: refreshUsageStep,
  syncPrincipals: async (deps, job) => ({
    result: { copies: await syncAllCopies(deps, (job.payload as { affects: Affected }).affects) },
  }),
}
