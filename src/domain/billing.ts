import { eq } from 'drizzle-orm'
import { provisionCheckout, StiggError } from '../clients/stigg'
import { organizations } from '../db/schema'
import { audit } from './audit'
import { authorizeIn } from './authorize'
import { commit } from './commit'
import { allowedUrl } from './config'
import type { Deps } from './context'
import { invalid, notFound, unavailable } from './errors'
import type { Principal } from './principal'

export type CheckoutRequest = {
  customerId: string
  planId: string
  billingPeriod: string
  successUrl: string
  cancelUrl: string
}

const PERIODS: Record<string, 'MONTHLY' | 'ANNUALLY'> = {
  monthly: 'MONTHLY',
  annual: 'ANNUALLY',
  annually: 'ANNUALLY',
}

/** Checkout pages may only send the browser back to the dashboard or an allowed origin. */
const returnUrl = (deps: Deps, field: string, value: string) => {
  const url = allowedUrl(deps.config, value)
  if (!url) throw invalid(`${field} must be an address on ${deps.config.appOrigin} or an allowed origin`)
  return url
}

/**
 * A Stigg checkout for the caller's organization. The customer id must be the organization's own
 * (its billing customer id, or its public id when it has none yet).
 */
export const startCheckout = async (deps: Deps, p: Principal, input: CheckoutRequest) => {
  const ws = await authorizeIn(deps, p, 'startCheckout')
  const apiKey = deps.env.STIGG_API_KEY
  if (!apiKey) throw unavailable('billing is not configured')
  const period = input.billingPeriod.trim().toLowerCase()
  const billingPeriod = Object.hasOwn(PERIODS, period) ? PERIODS[period] : undefined
  if (!billingPeriod) throw invalid('billingPeriod must be monthly or annual')
  const successUrl = returnUrl(deps, 'successUrl', input.successUrl)
  const cancelUrl = returnUrl(deps, 'cancelUrl', input.cancelUrl)
  const [org] = await deps.db
    .select({ publicId: organizations.publicId, customerId: organizations.billingCustomerId })
    .from(organizations)
    .where(eq(organizations.id, ws.organizationId))
  if (!org || input.customerId !== (org.customerId ?? org.publicId)) throw notFound('Customer not found')

  // Recorded (and the caller re-checked) before the outside call, which cannot be undone.
  await commit(deps, p, {
    event: { action: 'startCheckout', targetType: 'plan', targetId: input.planId, detail: { billingPeriod } },
    writes: [],
  })
  try {
    return await provisionCheckout(deps.config.stiggApiUrl, apiKey, {
      customerId: input.customerId,
      planId: input.planId,
      billingPeriod,
      successUrl,
      cancelUrl,
    })
  } catch (err) {
    if (!(err instanceof StiggError)) throw err
    await audit(deps, p, { action: 'startCheckout', outcome: 'failed', targetType: 'plan', targetId: input.planId })
    throw unavailable(err.message)
  }
}
