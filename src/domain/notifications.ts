import { pushSubscriptions } from '../db/schema'
import { authorize } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { invalid } from './errors'
import type { Principal } from './principal'
import { userIdOf } from './principal'

export type PushSubscription = { endpoint: string; keys: { p256dh: string; auth: string } }

/** Stores the browser's Push API subscription of the caller, replacing an earlier one. */
export const savePushSubscription = async (deps: Deps, p: Principal, subscription: PushSubscription) => {
  await authorize(deps, p, 'savePushSubscription')
  const userId = userIdOf(p)
  let endpoint: URL
  try {
    endpoint = new URL(subscription.endpoint)
  } catch {
    throw invalid('subscription.endpoint must be an https URL')
  }
  if (endpoint.protocol !== 'https:') throw invalid('subscription.endpoint must be an https URL')
  const values = { endpoint: endpoint.toString(), p256dh: subscription.keys.p256dh, auth: subscription.keys.auth }
  await commit(deps, p, {
    event: { action: 'savePushSubscription', targetType: 'pushSubscription', targetId: p.publicId },
    writes: [
      deps.db
        .insert(pushSubscriptions)
        .values({ userId, ...values })
        .onConflictDoUpdate({ target: pushSubscriptions.userId, set: { ...values, updatedAt: deps.now() } }),
    ],
    credentialOnly: true,
  })
}
