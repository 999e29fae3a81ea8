import { type Action, authorizeIn } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import type { JobType } from './jobs'
import { prepareJob } from './jobs'
import type { Principal } from './principal'

/** Starts a background job for the caller's workspace and answers at once with its id. */
const startJob = async (deps: Deps, p: Principal, action: Action, type: JobType) => {
  const ws = await authorizeIn(deps, p, action)
  const job = prepareJob(deps, p, type, { workspaceId: ws.id, organizationId: ws.organizationId })
  await commit(deps, p, { event: { action, targetType: 'job', targetId: job.id }, writes: [job.insert] })
  await job.send()
  return job.id
}

/** Recomputes the access types of the workspace's API components from its CIDR and partner lists. */
export const applyAccessTypes = (deps: Deps, p: Principal) => startJob(deps, p, 'applyAccessTypes', 'applyAccessType')

/** Recomputes each collection's access type from its components. */
export const resetCollectionAccessTypes = (deps: Deps, p: Principal) =>
  startJob(deps, p, 'resetCollectionAccessTypes', 'resetCollectionAccessTypes')

/** Recomputes the usage metrics of every workspace of the organization. */
export const refreshUsage = (deps: Deps, p: Principal) => startJob(deps, p, 'refreshUsage', 'refreshUsage')
