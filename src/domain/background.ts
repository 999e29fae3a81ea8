import type { JobType } from '../jobs/messages'
import { auditInsert } from './audit'
import { type Action, authorize } from './authorize'
import type { Deps } from './context'
import { prepareJob } from './jobs'
import type { Principal } from './principal'
import { workspaceOf } from './principal'

/** Starts a background job for the caller's workspace and answers at once with its id. */
const startJob = async (deps: Deps, p: Principal, action: Action, type: JobType) => {
  await authorize(deps, p, action)
  const ws = workspaceOf(p)
  const job = prepareJob(deps, p, type, { workspaceId: ws.id, organizationId: ws.organizationId })
  await deps.db.batch([job.insert, auditInsert(deps, p, { action, targetType: 'job', targetId: job.id })])
  await job.send()
  return job.id
}

/** Recomputes the access types of the workspace's API components from its CIDR and partner lists. */
export const applyAccessType = (deps: Deps, p: Principal) => startJob(deps, p, 'applyAccessType', 'applyAccessType')

/** Recomputes each collection's access type from its components. */
export const resetCollectionAccessTypes = (deps: Deps, p: Principal) =>
  startJob(deps, p, 'resetCollectionAccessTypes', 'resetCollectionAccessTypes')

/** Recomputes the usage metrics of every workspace of the organization. */
export const refreshUsageDataForOrg = (deps: Deps, p: Principal) =>
  startJob(deps, p, 'refreshUsageDataForOrg', 'refreshUsage')
