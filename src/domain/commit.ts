import { and, eq, lt, type SQL, sql } from 'drizzle-orm'
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch'
import { apiTokens, batchChecks, logins } from '../db/schema'
import { type AuditEntry, auditInsert } from './audit'
import { refuse } from './authorize'
import type { Deps } from './context'
import type { AppError } from './errors'
import { enqueueCopySync } from './jobs'
import type { Principal } from './principal'
import { type Affected, callerChanged, copyQueries, principalHolds, syncCopies, tooManyCopies } from './principals'

/** A condition the batch must find true, or it changes nothing and the caller gets `refusal`. */
export type Check = { holds: SQL; reason: string; refusal: AppError }

type Statement = BatchItem<'sqlite'>

const CHECK_FAILED = /edge-iam:([\w-]+)/

/** A statement that aborts its batch, with `reason` in the error, unless `holds` is true. */
export const checkStatement = (deps: Deps, holds: SQL, reason: string) =>
  deps.db.insert(batchChecks).values({ ok: sql`(${holds})`, reason })

/** The reason of the check that aborted a batch, if a check did. */
export const failedCheckOf = (err: unknown) => CHECK_FAILED.exec(String((err as Error)?.message ?? err))?.[1]
const LAST_USED_GRANULARITY_MS = 60 * 60 * 1000

/**
 * Every state change goes through here, as one D1 batch (one transaction, one round trip):
 * the re-check of the caller (its KV copy may be up to a minute old elsewhere), the change's own
 * checks, the writes, their audit event, and the reads that bring the affected principal copies
 * in KV up to date afterwards. Returns the results of `writes`.
 */
export const commit = async <T extends Statement[]>(
  deps: Deps,
  caller: Principal | null,
  change: {
    event: AuditEntry
    writes: [...T]
    checks?: Check[]
    affects?: Affected
    /** The change does not depend on the caller's role (ending a session): only the credential is re-checked. */
    credentialOnly?: boolean
  },
): Promise<BatchResponse<T>> => {
  const now = deps.now()
  const callerHolds = caller && principalHolds(caller, now, change.credentialOnly)
  const checks = [...(callerHolds ? [{ holds: callerHolds, reason: 'caller' }] : []), ...(change.checks ?? [])]
  const copies = change.affects && copyQueries(deps, change.affects)
  const statements: Statement[] = [
    ...checks.map((c) => checkStatement(deps, c.holds, c.reason)),
    ...(copies?.before ?? []),
    ...change.writes,
    auditInsert(deps, caller, change.event),
    ...(caller ? lastUsed(deps, caller, now) : []),
    ...(copies?.after ?? []),
  ]
  let results: unknown[]
  try {
    results = await deps.db.batch(statements as [Statement, ...Statement[]])
  } catch (err) {
    const reason = failedCheckOf(err)
    if (caller && reason === 'caller') throw await callerChanged(deps, caller)
    const failed = change.checks?.find((c) => c.reason === reason)
    if (failed) await refuse(deps, caller, change.event.action, failed.refusal)
    throw err
  }
  const writesAt = checks.length + (copies ? 2 : 0)
  if (change.affects && copies) {
    const found = {
      before: results.slice(checks.length, writesAt),
      after: results.slice(-2),
    } as Parameters<typeof syncCopies>[1]
    if (tooManyCopies(found)) await enqueueCopySync(deps, change.affects)
    else await syncCopies(deps, found)
  }
  return results.slice(writesAt, writesAt + change.writes.length) as BatchResponse<T>
}

/** When the caller's credential was last used, kept to the hour (a write, not a read, records it). */
const lastUsed = (deps: Deps, p: Principal, now: Date): Statement[] => {
  const before = new Date(now.getTime() - LAST_USED_GRANULARITY_MS)
  const { credential } = p
  if (credential.kind === 'session')
    return [
      deps.db
        .update(logins)
        .set({ lastUsedAt: now })
        .where(and(eq(logins.id, credential.loginId), lt(logins.lastUsedAt, before))),
    ]
  if (credential.kind === 'apiToken')
    return [
      deps.db
        .update(apiTokens)
        .set({ lastUsedAt: now })
        .where(and(eq(apiTokens.id, credential.id), sql`coalesce(${apiTokens.lastUsedAt}, 0) < ${before.getTime()}`)),
    ]
  return []
}
