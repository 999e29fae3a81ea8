/** Stigg's GraphQL API, for the one call this service makes: a checkout for a plan. */
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
