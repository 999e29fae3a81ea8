/** Stigg's GraphQL API, for the two calls this service makes: a checkout for a plan, and usage reports. */
export type CheckoutInput = {
  customerId: string
  planId: string
  billingPeriod: 'MONTHLY' | 'ANNUALLY'
  successUrl: string
  cancelUrl: string
}

export type CheckoutResult = { status: string; checkoutUrl: string | null }

const PROVISION = `mutation ProvisionSubscription($input: ProvisionSubscriptionInput!) {
  provisionSubscription(input: $input) { status checkoutUrl }
}`

export class StiggError extends Error {}

export const provisionCheckout = async (
  apiUrl: string,
  apiKey: string,
  input: CheckoutInput,
): Promise<CheckoutResult> => {
  let res: Response
  try {
    res = await fetch(apiUrl, {
      method: 'POST',
      headers: { 'X-API-KEY': apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        query: PROVISION,
        variables: {
          input: {
            ...input,
            checkoutOptions: {
              successUrl: input.successUrl,
              cancelUrl: input.cancelUrl,
              allowPromoCodes: true,
              collectBillingAddress: true,
            },
          },
        },
      }),
    })
  } catch (cause) {
    throw new StiggError('The billing service could not be reached', { cause })
  }
  const body = (await res.json().catch(() => null)) as {
    data?: { provisionSubscription?: { status?: string; checkoutUrl?: string | null } }
    errors?: { message?: string }[]
  } | null
  const result = body?.data?.provisionSubscription
  if (!res.ok || !result?.status) {
    const reason = body?.errors?.[0]?.message ?? `HTTP ${res.status}`
    throw new StiggError(`The billing service refused the checkout: ${reason}`)
  }
  return { status: result.status, checkoutUrl: result.checkoutUrl ?? null }
}

export type UsageReport = { customerId: string; featureId: string; value: number }

const REPORT_USAGE = `mutation ReportUsageBulk($input: ReportUsageBulkInput!) {
  reportUsageBulk(input: $input) { measurementId }
}`

/** Stigg takes at most this many usage records per call. */
const USAGE_RECORDS_PER_CALL = 100

/**
 * Reports current usage values. They replace what Stigg holds (`SET`), so reporting the same
 * values twice changes nothing.
 */
export const reportUsage = async (apiUrl: string, apiKey: string, usages: UsageReport[]) => {
  for (let i = 0; i < usages.length; i += USAGE_RECORDS_PER_CALL) {
    const chunk = usages.slice(i, i + USAGE_RECORDS_PER_CALL).map((u) => ({ ...u, updateBehavior: 'SET' }))
    let res: Response
    try {
      res = await fetch(apiUrl, {
        method: 'POST',
        headers: { 'X-API-KEY': apiKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ query: REPORT_USAGE, variables: { input: { usages: chunk } } }),
      })
    } catch (cause) {
      throw new StiggError('The billing service could not be reached', { cause })
    }
    const body = (await res.json().catch(() => null)) as { errors?: { message?: string }[] } | null
    if (!res.ok || !body || body.errors?.length) {
      const reason = body?.errors?.[0]?.message ?? `HTTP ${res.status}`
      throw new StiggError(`The billing service refused the usage report: ${reason}`)
    }
  }
}
