import { auditEvents } from '../db/schema'
import type { Deps } from './context'
import { actorIdOf, type Principal } from './principal'

export type AuditEntry = {
  action: string
  outcome?: 'success' | 'denied' | 'failed'
  targetType?: string
  targetId?: string | number | null
  workspaceId?: number | null
  organizationId?: number | null
  detail?: Record<string, unknown>
  /** Who acted, when it is not the request's principal: a user signing in or signing up, or a job. */
  actor?: { publicId: string } | 'system'
}

/** The insert for one audit event; `commit` puts it in the same batch as the change it records. */
export const auditInsert = (deps: Deps, p: Principal | null, e: AuditEntry) =>
  deps.db.insert(auditEvents).values({
    at: deps.now(),
    actorType: e.actor === 'system' ? 'system' : e.actor ? 'user' : (p?.kind ?? 'anonymous'),
    actorId: e.actor === 'system' ? null : (e.actor?.publicId ?? actorIdOf(p)),
    workspaceId: e.workspaceId === undefined ? (p?.workspace?.id ?? null) : e.workspaceId,
    organizationId: e.organizationId === undefined ? (p?.workspace?.organizationId ?? null) : e.organizationId,
    action: e.action,
    targetType: e.targetType ?? null,
    targetId: e.targetId == null ? null : String(e.targetId),
    outcome: e.outcome ?? 'success',
    ip: deps.meta.ip,
    userAgent: deps.meta.userAgent,
    requestId: deps.meta.requestId,
    detail: e.detail ?? null,
  })

/** Records an event with no change of its own (a refusal, a failure, an outside call). */
export const audit = async (deps: Deps, p: Principal | null, e: AuditEntry) => {
  await auditInsert(deps, p, e)
}
