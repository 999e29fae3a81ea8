import { z } from '@hono/zod-openapi'
import { provisionSubscription } from '../../domain/billing'
import { saveSubscription } from '../../domain/notifications'
import { principalOf } from '../../http/authenticate'
import { createRouter } from '../../http/router'
import { rpcAction } from './action'

const Url = z.string().max(2048).openapi({ format: 'uri' })

export const subscriptions = createRouter()
  .openapi(
    rpcAction({
      name: 'saveSubscription',
      tag: 'Notifications',
      summary: "Save the browser's Web Push subscription for the caller",
      body: z.object({
        subscription: z.object({
          endpoint: Url,
          keys: z.object({ p256dh: z.string().min(1).max(256), auth: z.string().min(1).max(256) }),
        }),
      }),
      response: z.object({ subscription: z.object({ complete: z.boolean() }) }).openapi('SubscriptionSaved'),
      description: 'Subscription saved successfully.',
    }),
    async (c) => {
      await saveSubscription(c.var.deps, principalOf(c), c.req.valid('json').subscription)
      return c.json({ subscription: { complete: true } }, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'provisionSubscription',
      tag: 'Billing',
      summary: 'Start a Stigg checkout for a plan (503 when billing is not configured)',
      body: z.object({
        customerId: z.string().max(200).openapi({ description: "The organisation's billing customer id" }),
        planId: z.string().max(200),
        billingPeriod: z.string().max(20).openapi({ description: 'monthly or annual' }),
        successUrl: Url,
        cancelUrl: Url,
      }),
      response: z
        .object({ checkoutResult: z.object({ checkoutUrl: z.string().nullable(), status: z.string() }) })
        .openapi('Checkout'),
      description: 'Checkout session created.',
    }),
    async (c) =>
      c.json({ checkoutResult: await provisionSubscription(c.var.deps, principalOf(c), c.req.valid('json')) }, 200),
  )
