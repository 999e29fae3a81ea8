import { pushSubscriptions } from '../db/schema'
import { auditInsert } from './audit'
import { authorize } from './authorize'
import type { Deps } from './context'
import { invalid } from './errors'
import type { Principal } from './principal'
import { userIdOf } from './principal'

export type PushSubscription = { endpoint: string; keys: { p256dh: string; auth: string } }

/** Stores the browser's Push API subscription of the caller, replacing an earlier one. */
export const saveSubscription = async (deps: Deps, p: Principal, subscription: PushSubscription) => {
  await authorize(deps, p, 'saveSubscription')
  const userId = userIdOf(p)
  let endpoint: URL
  try {
    endpoint = new URL(subscription.endpoint)
  } catch {
    throw invalid('subscription.endpoint must be an https URL')
  }
  if (endpoint.protocol !== 'https:') throw invalid('subscription.endpoint must be an https URL')
  const values = { endpoint: endpoint.toString(), p256dh: subscription.keys.p256dh, auth: subscription.keys.auth }
  await deps.db.batch([
    deps.db
      .insert(pushSubscriptions)
      .values({ userId, ...values })
      .onConflictDoUpdate({ target: pushSubscriptions.userId, set: { ...values, updatedAt: deps.now() } }),
    auditInsert(deps, p, { action: 'saveSubscription', targetType: 'pushSubscription', targetId: p.publicId }),
  ])
}
